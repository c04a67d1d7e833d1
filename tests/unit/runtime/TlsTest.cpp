//===- tests/unit/runtime/TlsTest.cpp - Identities and pinned TLS ---------===//
//
// Identities written and read back (key mode 0600, no overwrite, matching
// fingerprints); connections that succeed only with the pinned certificate,
// with errors that name the expected and the presented fingerprint on the
// refusing side and the refusal on the other; the authenticated role and the
// exporter binding both ends agree on; and the bytes on the wire: TLS
// records only, one handshake record then application data, with no
// plaintext of what was sent.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tls.h"
#include "../TwoParty.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <future>

using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Contains;

namespace {

std::string errText(llvm::Error e) {
  return e ? llvm::toString(std::move(e)) : std::string();
}

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    REQUIRE(!llvm::sys::fs::createUniqueDirectory("mpcc-tls", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
};

Identity fresh(const char *name) {
  auto id = Identity::generate(name);
  REQUIRE(bool(id));
  return std::move(*id);
}

std::shared_ptr<TlsContext> context(Identity id,
                                    std::map<int, Fingerprint> trusted) {
  auto c = TlsContext::create(std::move(id), std::move(trusted));
  if (!c)
    FAIL(llvm::toString(c.takeError()));
  return *c;
}

/// Server (accepting \p roles) and client (expecting \p role) handshakes at
/// once over a fresh TCP pair.
std::pair<llvm::Expected<std::unique_ptr<TlsChannel>>,
          llvm::Expected<std::unique_ptr<TlsChannel>>>
connectPair(const TlsContext &server, std::vector<int> roles,
            const TlsContext &client, int role) {
  auto [a, b] = tcpPair();
  a->setTimeout(std::chrono::seconds(5));
  b->setTimeout(std::chrono::seconds(5));
  auto s = std::async(std::launch::async, [&, &a = a] {
    return server.accept(std::move(a), roles);
  });
  auto c = client.connect(std::move(b), role);
  return {s.get(), std::move(c)};
}

} // namespace

TEST_CASE("keygen writes a private key and a certificate that load back",
          "[tls]") {
  TempDir dir;
  Identity id = fresh("party0");
  REQUIRE(id.fingerprint().size() == 64);
  REQUIRE(errText(id.write(dir.file("p0.key"), dir.file("p0.crt"))) == "");
  struct stat st {};
  REQUIRE(::stat(dir.file("p0.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto back = Identity::load(dir.file("p0.key"), dir.file("p0.crt"));
  REQUIRE(bool(back));
  CHECK(back->fingerprint() == id.fingerprint());
  auto f = certFileFingerprint(dir.file("p0.crt"));
  REQUIRE(bool(f));
  CHECK(*f == id.fingerprint());

  // Never replaces an identity.
  CHECK_THAT(errText(fresh("x").write(dir.file("p0.key"), dir.file("x.crt"))),
             Contains("remove it first"));
  // A key others can read, and a key of another certificate, are refused.
  Identity other = fresh("party1");
  REQUIRE(errText(other.write(dir.file("p1.key"), dir.file("p1.crt"))) == "");
  auto mixed = Identity::load(dir.file("p0.key"), dir.file("p1.crt"));
  REQUIRE_FALSE(bool(mixed));
  CHECK_THAT(llvm::toString(mixed.takeError()), Contains("does not belong"));
  ::chmod(dir.file("p1.key").c_str(), 0644);
  auto open = Identity::load(dir.file("p1.key"), dir.file("p1.crt"));
  REQUIRE_FALSE(bool(open));
  CHECK_THAT(llvm::toString(open.takeError()), Contains("chmod 600"));
  auto missing = certFileFingerprint(dir.file("none.crt"));
  REQUIRE_FALSE(bool(missing));
  CHECK_THAT(llvm::toString(missing.takeError()), Contains("none.crt"));
}

TEST_CASE("TLS connects pinned peers and binds roles", "[tls]") {
  Identity d = fresh("dealer"), p0 = fresh("party0"), p1 = fresh("party1");
  Fingerprint fd = d.fingerprint(), f0 = p0.fingerprint(),
              f1 = p1.fingerprint();
  auto dealer = context(std::move(d), {{0, f0}, {1, f1}});
  auto party1 = context(std::move(p1), {{0, f0}, {kDealerRole, fd}});
  auto [s, c] = connectPair(*dealer, {0, 1}, *party1, kDealerRole);
  REQUIRE(errText(s.takeError()) == "");
  REQUIRE(errText(c.takeError()) == "");
  // The dealer knows the connection is party 1's from its certificate.
  CHECK((*s)->authenticatedRole() == 1);
  CHECK((*c)->authenticatedRole() == kDealerRole);
  CHECK_THAT((*s)->peerName(), Contains("party 1 at 127.0.0.1:"));
  CHECK_THAT((*c)->peerName(), Contains("the dealer at 127.0.0.1:"));
  CHECK((*s)->peerCertificate() == f1);
  // Both ends derive the same exporter value, and a fresh one per
  // connection.
  CHECK((*s)->binding() == (*c)->binding());
  CHECK((*s)->binding() != std::array<uint8_t, 32>{});
  auto [s2, c2] = connectPair(*dealer, {0, 1}, *party1, kDealerRole);
  REQUIRE(errText(s2.takeError()) == "");
  REQUIRE(errText(c2.takeError()) == "");
  CHECK((*s2)->binding() != (*s)->binding());
}

TEST_CASE("TLS refuses a certificate that is not pinned", "[tls]") {
  Identity p0 = fresh("party0"), p1 = fresh("party1"),
           impostor = fresh("party0");
  Fingerprint f0 = p0.fingerprint(), f1 = p1.fingerprint(),
              fi = impostor.fingerprint();
  auto server = context(std::move(p0), {{1, f1}});
  auto client = context(std::move(p1), {{0, f0}});
  auto fake = context(std::move(impostor), {{1, f1}});

  SECTION("the client sees the wrong server certificate") {
    auto [s, c] = connectPair(*fake, {1}, *client, 0);
    REQUIRE_FALSE(bool(c));
    std::string msg = llvm::toString(c.takeError());
    CHECK_THAT(msg, Contains("party 0 at 127.0.0.1:"));
    CHECK_THAT(msg, Contains("presented a certificate with SHA-256 "
                             "fingerprint " +
                             fi));
    CHECK_THAT(msg, Contains("party0 (" + f0 + ") is trusted"));
    // The impostor learns that it was refused.
    REQUIRE_FALSE(bool(s));
    CHECK_THAT(llvm::toString(s.takeError()), Contains("refused"));
  }
  SECTION("the server sees the wrong client certificate") {
    auto wrongClient = context(fresh("party1"), {{0, f0}});
    auto [s, c] = connectPair(*server, {1}, *wrongClient, 0);
    REQUIRE_FALSE(bool(s));
    std::string msg = llvm::toString(s.takeError());
    CHECK_THAT(msg, Contains("presented a certificate with SHA-256 "
                             "fingerprint"));
    CHECK_THAT(msg, Contains("party1 (" + f1 + ") is trusted"));
    // In TLS 1.3 the client finishes first; its first exchange reads the
    // server's alert.
    std::vector<uint8_t> in(8);
    std::string clientErr =
        c ? errText((*c)->recv(in)) : llvm::toString(c.takeError());
    CHECK_THAT(clientErr, Contains("party 0 at 127.0.0.1:"));
    CHECK_THAT(clientErr, Contains("refused this role's certificate"));
  }
  SECTION("a role's own certificate or a shared one is refused up front") {
    Identity me = fresh("dealer");
    Fingerprint fm = me.fingerprint();
    auto self = TlsContext::create(std::move(me), {{0, fm}});
    REQUIRE_FALSE(bool(self));
    CHECK_THAT(llvm::toString(self.takeError()), Contains("own certificate"));
    auto shared = TlsContext::create(fresh("dealer"), {{0, f0}, {1, f0}});
    REQUIRE_FALSE(bool(shared));
    CHECK_THAT(llvm::toString(shared.takeError()),
               Contains("party0 and party1 are trusted with the same"));
  }
}

TEST_CASE("A server pins several clients, or accepts any", "[tls]") {
  Identity p0 = fresh("party0"), a = fresh("alice"), b = fresh("bob");
  Fingerprint f0 = p0.fingerprint(), fa = a.fingerprint(), fb = b.fingerprint();
  auto server = context(std::move(p0), {{1, fa}});
  auto alice = context(std::move(a), {{0, f0}});
  auto bob = context(std::move(b), {{0, f0}});
  auto carol = context(fresh("carol"), {{0, f0}});

  // Only alice is pinned: bob is refused, with both pins named.
  auto [s0, c0] = connectPair(*server, {1}, *bob, 0);
  REQUIRE_FALSE(bool(s0));
  CHECK_THAT(llvm::toString(s0.takeError()),
             Contains("fingerprint " + fb + ", but party1 (" + fa + ")"));
  llvm::consumeError(c0.takeError());

  server->alsoTrust(1, fb);
  CHECK(server->trusts(1, fa));
  CHECK(server->trusts(1, fb));
  CHECK_FALSE(server->trusts(0, fb)); // pins are per role
  for (TlsContext *client : {alice.get(), bob.get()}) {
    auto [s, c] = connectPair(*server, {1}, *client, 0);
    REQUIRE(errText(s.takeError()) == "");
    REQUIRE(errText(c.takeError()) == "");
    CHECK((*s)->authenticatedRole() == 1);
  }
  auto [s1, c1] = connectPair(*server, {1}, *carol, 0);
  REQUIRE_FALSE(bool(s1));
  CHECK_THAT(llvm::toString(s1.takeError()),
             Contains("party1 (" + fa + ", " + fb + ")"));
  llvm::consumeError(c1.takeError());

  // --any-client: any certificate is party 1's, and its fingerprint known.
  server->trustAnyCertificate(1);
  auto [s2, c2] = connectPair(*server, {1}, *carol, 0);
  REQUIRE(errText(s2.takeError()) == "");
  REQUIRE(errText(c2.takeError()) == "");
  CHECK((*s2)->authenticatedRole() == 1);
  CHECK((*s2)->peerCertificate().size() == 64);
}

TEST_CASE("The TLS byte stream is records only, with no plaintext", "[tls]") {
  // A recording relay between a TLS client and server.
  auto [t0, t1] = tlsContexts();
  auto [serverSide, relayIn] = tcpPair();
  auto [relayOut, clientSide] = tcpPair();
  std::vector<uint8_t> recorded;
  std::atomic<bool> stop{false};
  std::thread relay([&, &relayIn = relayIn, &relayOut = relayOut] {
    // client -> server: record; server -> client: forward.
    int a = relayOut->fd(), b = relayIn->fd();
    std::vector<uint8_t> buf(1 << 16);
    while (!stop) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0)
        continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP)))
          continue;
        ssize_t n = ::recv(p[i].fd, buf.data(), buf.size(), 0);
        if (n <= 0)
          return;
        if (i == 0)
          recorded.insert(recorded.end(), buf.begin(), buf.begin() + n);
        for (ssize_t off = 0; off < n;) {
          ssize_t w = ::send(i == 0 ? b : a, buf.data() + off, size_t(n - off),
                             MSG_NOSIGNAL);
          if (w > 0)
            off += w;
          else if (errno != EAGAIN)
            return;
        }
      }
    }
  });
  auto server = std::async(std::launch::async, [&, &serverSide = serverSide] {
    return t0->accept(std::move(serverSide), {1});
  });
  auto client = t1->connect(std::move(clientSide), 0);
  auto srv = server.get();
  REQUIRE(errText(client.takeError()) == "");
  REQUIRE(errText(srv.takeError()) == "");
  std::string secret(100000, 'x');
  for (size_t i = 0; i < secret.size(); ++i)
    secret[i] = "the client's token ids "[i % 23];
  std::vector<uint8_t> out(secret.begin(), secret.end()), in(out.size());
  auto rx = std::async(std::launch::async,
                       [&, &srv = *srv] { return errText(srv->recv(in)); });
  REQUIRE(errText((*client)->send(out)) == "");
  REQUIRE(rx.get() == "");
  CHECK(in == out);
  CHECK((*client)->bytesSent() == out.size()); // application bytes only
  stop = true;
  relay.join();

  // Record headers: type, legacy version 0x03 0x0X, 16-bit length.
  size_t pos = 0, records = 0, payload = 0;
  while (pos + 5 <= recorded.size()) {
    uint8_t type = recorded[pos];
    size_t len = size_t(recorded[pos + 3]) << 8 | recorded[pos + 4];
    INFO("record " << records << " at byte " << pos);
    CHECK(type == (records == 0 ? 0x16 : 0x17));
    CHECK(recorded[pos + 1] == 3);
    CHECK(len <= (1 << 14) + 256);
    pos += 5 + len;
    payload += len;
    ++records;
  }
  CHECK(pos == recorded.size());
  CHECK(payload > out.size());
  std::string wire(recorded.begin(), recorded.end());
  CHECK(wire.find("the client's token ids") == std::string::npos);
}
