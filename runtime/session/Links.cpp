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
    if (files.count(role))
      return mpc::error("--trust {}: {} is trusted twice", spec, key.str());
    files[role] = file.str();
  }
  for (int peer : peersOf(me))
    if (!files.count(peer))
      return mpc::error("{} talks to {}: pass its certificate with --trust "
                        "{}=CERT",
                        roleName(me), roleName(peer), roleKey(peer).str());
  std::map<int, Fingerprint> trusted;
  for (int peer : peersOf(me)) {
    auto f = certFileFingerprint(files[peer]);
    if (!f)
      return addContext(f.takeError(), "--trust " + roleKey(peer).str() + ": ");
    trusted[peer] = *f;
  }
  auto id = Identity::load(c.keyFile, c.certFile);
  if (!id)
    return id.takeError();
  auto tls = TlsContext::create(std::move(*id), std::move(trusted));
  if (!tls)
    return tls.takeError();
  links.tls = std::move(*tls);
  return links;
}

std::unique_ptr<Channel> Links::emulated(std::unique_ptr<Channel> ch) const {
  if (!emulate)
    return ch;
  return std::make_unique<EmulatedChannel>(std::move(ch), *emulate, timeout);
}

llvm::Expected<std::unique_ptr<Channel>>
Links::connect(const std::string &address, int role) const {
  auto tcp = TcpChannel::connect(address, timeout);
  if (!tcp)
    return tcp.takeError();
  (*tcp)->setTimeout(timeout);
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
  (*tcp)->setTimeout(timeout);
  if (!tls) {
    if (roles.size() == 1)
      (*tcp)->setPeerName(roleName(roles[0]) + " (" + (*tcp)->peerName() + ")");
    return emulated(std::move(*tcp));
  }
  auto ch = tls->accept(std::move(*tcp), roles);
  if (!ch)
    return ch.takeError();
  return emulated(std::move(*ch));
}
