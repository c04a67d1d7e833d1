//===- runtime/session/Links.cpp - Identities and connections -------------===//
//
// A role's links are TLS 1.3 (runtime/Tls.h) with its own identity and the
// certificates it pins for its peers, one per peer role: `--trust
// party0=p0.crt` makes a connection party 0's exactly when it presents
// p0.crt. Only --insecure gives plaintext TCP, never a fallback.
//
//===----------------------------------------------------------------------===//
#include "runtime/session/SessionImpl.h"

#include "support/Diag.h"

#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <openssl/rand.h>

#include <cstring>

using namespace mpc;
using namespace mpc::rt;

const char *const mpc::rt::kInsecureWarning =
    "mpc-run: warning: --insecure: plaintext TCP and unauthenticated peers. "
    "Anyone who can read or redirect this traffic learns the seeds, hence "
    "the weights and the client's input. Use it on loopback or a trusted "
    "network only.\n";

std::vector<int> mpc::rt::peersOf(int role) {
  std::vector<int> peers;
  for (int r = 0; r <= kDealerRole; ++r)
    if (r != role)
      peers.push_back(r);
  return peers;
}

llvm::Expected<std::string> mpc::rt::keygen(llvm::StringRef name,
                                            llvm::StringRef dir) {
  if (name.empty() || name.contains('/') || name.startswith("."))
    return mpc::error("keygen: '{}' is not a plain file name", name.str());
  auto id = Identity::generate(name);
  if (!id)
    return id.takeError();
  llvm::SmallString<128> key(dir), cert(dir);
  llvm::sys::path::append(key, name + ".key");
  llvm::sys::path::append(cert, name + ".crt");
  if (llvm::Error e = id->write(key, cert))
    return e;
  return id->fingerprint();
}

llvm::Expected<Links> mpc::rt::makeLinks(const RunConfig &c, int me) {
  Links links;
  links.timeout = std::chrono::milliseconds(int64_t(c.timeoutSeconds * 1000));
  if (!c.emulateNet.empty()) {
    auto net = parseNetworkModel(c.emulateNet, "--emulate-net");
    if (!net)
      return net.takeError();
    links.emulate = *net;
  }
  if (c.insecure) {
    llvm::errs() << kInsecureWarning;
    return links;
  }
  std::map<int, std::string> files;
  std::vector<std::string> moreClients; // serving: party 1's further pins
  bool serving = c.mode == RunConfig::Serve || c.serve;
  for (const std::string &spec : c.trust) {
    auto [key, file] = llvm::StringRef(spec).split('=');
    int role = roleFromKey(key);
    if (role < 0 || file.empty())
      return mpc::error("--trust {}: expected ROLE=CERT with ROLE party0, "
                        "party1 or dealer",
                        spec);
    if (role == me)
      return mpc::error("--trust {}: that is this role ({}); pass its "
                        "certificate with --cert",
                        spec, roleName(me));
    if (role == 1 && serving && c.anyClient)
      return mpc::error("--trust {}: --any-client accepts every client; "
                        "drop one of them",
                        spec);
    if (role == 1 && serving && files.count(role)) {
      moreClients.push_back(file.str());
      continue;
    }
    if (files.count(role))
      return mpc::error("--trust {}: {} is trusted twice", spec, key.str());
    files[role] = file.str();
  }
  for (int peer : peersOf(me))
    if (!files.count(peer) && !(peer == 1 && serving && c.anyClient))
      return mpc::error("{} talks to {}: pass its certificate with --trust "
                        "{}=CERT",
                        roleName(me), roleName(peer), roleKey(peer).str());
  std::map<int, Fingerprint> trusted;
  for (int peer : peersOf(me)) {
    if (!files.count(peer))
      continue; // --any-client
    auto f = certFileFingerprint(files[peer]);
    if (!f)
      return addContext(f.takeError(), "--trust " + roleKey(peer).str() + ": ");
    trusted[peer] = *f;
    links.certFiles[*f] = files[peer];
  }
  auto id = Identity::load(c.keyFile, c.certFile);
  if (!id)
    return id.takeError();
  auto tls = TlsContext::create(std::move(*id), std::move(trusted));
  if (!tls)
    return tls.takeError();
  for (const std::string &file : moreClients) {
    auto f = certFileFingerprint(file);
    if (!f)
      return addContext(f.takeError(), "--trust party1: ");
    (*tls)->alsoTrust(1, *f);
    links.certFiles[*f] = file;
  }
  if (serving && c.anyClient)
    (*tls)->trustAnyCertificate(1);
  links.tls = std::move(*tls);
  return links;
}

namespace {
constexpr char kPairMagic[8] = {'M', 'P', 'C', 'C', 'P', 'A', 'I', 'R'};
} // namespace

llvm::Expected<PairToken> mpc::rt::newPairToken() {
  PairToken t;
  if (RAND_bytes(t.data(), int(t.size())) != 1)
    return mpc::error("no randomness for a pairing token");
  return t;
}

std::array<uint8_t, kPairingBytes> mpc::rt::encodePairing(const PairToken &t) {
  std::array<uint8_t, kPairingBytes> b{};
  std::memcpy(b.data(), kPairMagic, 8);
  std::memcpy(b.data() + 8, t.data(), t.size());
  return b;
}

llvm::Expected<PairToken> mpc::rt::parsePairing(llvm::ArrayRef<uint8_t> b) {
  if (b.size() != kPairingBytes || std::memcmp(b.data(), kPairMagic, 8) != 0)
    return mpc::error("not an mpc-run party (no pairing preamble; is it an "
                      "older mpc-run?)");
  PairToken t;
  std::memcpy(t.data(), b.data() + 8, t.size());
  return t;
}

llvm::Expected<PairToken> mpc::rt::readPairing(TcpChannel &tcp) {
  std::array<uint8_t, kPairingBytes> b{};
  if (llvm::Error e = tcp.recv(b))
    return addContext(std::move(e), "pairing: ");
  auto t = parsePairing(b);
  if (!t)
    return addContext(t.takeError(), tcp.peerName() + ": ");
  return t;
}

llvm::Error mpc::rt::sendPairing(Channel &peer, const PairToken &token) {
  return addContext(peer.send(token), "pairing token: ");
}

llvm::Error mpc::rt::recvPairing(Channel &peer, PairToken &token) {
  return addContext(peer.recv(token), "pairing token from party 0: ");
}

std::string Links::clientLabel(const Channel &client) const {
  // Which client: the --trust file its certificate is pinned by.
  std::string f = client.peerCertificate();
  if (f.empty())
    return {};
  auto it = certFiles.find(f);
  if (it != certFiles.end())
    return fmt::format(" by the client pinned by {} (SHA-256 {})", it->second,
                       f);
  return fmt::format(" by a client not pinned (--any-client), certificate "
                     "SHA-256 {}",
                     f);
}

std::unique_ptr<Channel> Links::emulated(std::unique_ptr<Channel> ch) const {
  if (!emulate)
    return ch;
  return std::make_unique<EmulatedChannel>(std::move(ch), *emulate, timeout);
}

llvm::Expected<std::unique_ptr<Channel>>
Links::connect(const std::string &address, int role,
               const PairToken *pairing) const {
  auto tcp = TcpChannel::connect(address, timeout);
  if (!tcp)
    return tcp.takeError();
  (*tcp)->setTimeout(timeout);
  if (pairing)
    if (llvm::Error e = (*tcp)->send(encodePairing(*pairing)))
      return addContext(std::move(e), "pairing: ");
  if (!tls) {
    (*tcp)->setPeerName((role == kDealerRole ? "the dealer" : roleName(role)) +
                        " at " + address);
    return emulated(std::move(*tcp));
  }
  auto ch = tls->connect(std::move(*tcp), role);
  if (!ch)
    return ch.takeError();
  return emulated(std::move(*ch));
}

llvm::Expected<std::unique_ptr<Channel>>
Links::accept(TcpListener &l, llvm::ArrayRef<int> roles) const {
  auto tcp = l.accept(timeout);
  if (!tcp)
    return tcp.takeError();
  return secure(std::move(*tcp), roles);
}

llvm::Expected<std::unique_ptr<Channel>>
Links::secure(std::unique_ptr<TcpChannel> tcp,
              llvm::ArrayRef<int> roles) const {
  tcp->setTimeout(timeout);
  if (!tls) {
    if (roles.size() == 1)
      tcp->setPeerName(roleName(roles[0]) + " (" + tcp->peerName() + ")");
    return emulated(std::move(tcp));
  }
  auto ch = tls->accept(std::move(tcp), roles);
  if (!ch)
    return ch.takeError();
  return emulated(std::move(*ch));
}
