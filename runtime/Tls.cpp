//===- runtime/Tls.cpp - Identities and the TLS handshake -----------------===//
//
// Keys are Ed25519, certificates self-signed X.509 v3. The TLS context
// accepts any certificate chain in OpenSSL's own verification (there is no
// CA to chain to) and checks the one thing that matters itself: the SHA-256
// fingerprint of the leaf certificate against the pins, first in the
// verification callback (so a wrong certificate aborts the handshake and
// the peer gets a bad_certificate alert) and again on the finished
// connection. The handshake runs non-blocking with the TCP channel's
// timeout.
//
// SIGPIPE is ignored once a context exists: OpenSSL writes to the socket
// with write(2), and a vanished peer must be an error, never a signal.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tls.h"
#include "support/Diag.h"

#include "llvm/ADT/StringExtras.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

using namespace mpc;
using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

namespace {

/// Label of the exporter value the run handshake binds to (Channel::binding).
constexpr char kExporterLabel[] = "EXPORTER-mpcc-run-handshake";

/// OpenSSL's queued errors as one line, and the queue cleared.
std::string sslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

llvm::Expected<Fingerprint> fingerprintOf(X509 *cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
    return mpc::error("cannot hash a certificate: {}", sslErrors());
  static const char *hex = "0123456789abcdef";
  Fingerprint f;
  for (unsigned i = 0; i < len; ++i) {
    f += hex[md[i] >> 4];
    f += hex[md[i] & 15];
  }
  return f;
}

struct BioCloser {
  void operator()(BIO *b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioCloser>;

llvm::Expected<X509 *> readCert(llvm::StringRef certFile) {
  BioPtr bio(BIO_new_file(certFile.str().c_str(), "r"));
  if (!bio)
    return mpc::error("cannot open certificate file '{}': {}", certFile.str(),
                      std::strerror(errno));
  X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!cert)
    return mpc::error("'{}' is not a PEM certificate: {}", certFile.str(),
                      sslErrors());
  return cert;
}

/// Opens \p path for writing with \p mode; refuses to replace a file.
llvm::Expected<BioPtr> createFile(llvm::StringRef path, mode_t mode) {
  int fd = ::open(path.str().c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return mpc::error("cannot create '{}': {}{}", path.str(),
                      std::strerror(errno),
                      errno == EEXIST ? " (remove it first: keygen never "
                                        "replaces an identity)"
                                      : "");
  ::fchmod(fd, mode); // whatever the umask
  BioPtr bio(BIO_new_fd(fd, BIO_CLOSE));
  if (!bio) {
    ::close(fd);
    return mpc::error("cannot write '{}': {}", path.str(), sslErrors());
  }
  return bio;
}

/// What the verification callback checks for one connection.
struct PinCheck {
  const TlsContext *ctx = nullptr;
  llvm::ArrayRef<int> roles; ///< Roles the peer may have.
  Fingerprint presented;     ///< The leaf's fingerprint, once seen.
  int role = -1;             ///< Matching role, or -1.
};

int pinIndex() {
  static int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

int verifyPinned(int /*preverifyOk*/, X509_STORE_CTX *store) {
  // Chain errors (self-signed, unknown issuer, dates) are irrelevant: only
  // the leaf's pin decides.
  if (X509_STORE_CTX_get_error_depth(store) != 0)
    return 1;
  SSL *ssl = static_cast<SSL *>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto *check = static_cast<PinCheck *>(SSL_get_ex_data(ssl, pinIndex()));
  X509 *leaf = X509_STORE_CTX_get_current_cert(store);
  if (!check || !leaf)
    return 0;
  llvm::Expected<Fingerprint> f = fingerprintOf(leaf);
  if (!f) {
    llvm::consumeError(f.takeError());
    return 0;
  }
  check->presented = *f;
  for (int r : check->roles) {
    if (check->ctx->trusts(r, *f)) {
      check->role = r;
      return 1;
    }
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return int(std::max<int64_t>(0, left.count()));
}

/// "the dealer at ADDR" / "party 0 at ADDR".
std::string describePeer(int role, const std::string &addr) {
  return (role == kDealerRole ? "the dealer" : roleName(role)) + " at " + addr;
}

} // namespace

// --- Identity ----------------------------------------------------------------

Identity::Identity(EVP_PKEY *key, X509 *cert) : key_(key), cert_(cert) {}

Identity::Identity(Identity &&o) noexcept
    : key_(o.key_), cert_(o.cert_), fingerprint_(std::move(o.fingerprint_)) {
  o.key_ = nullptr;
  o.cert_ = nullptr;
}

Identity &Identity::operator=(Identity &&o) noexcept {
  std::swap(key_, o.key_);
  std::swap(cert_, o.cert_);
  std::swap(fingerprint_, o.fingerprint_);
  return *this;
}

// EVP_PKEY_free wipes the private key (OpenSSL clears key material it
// frees).
Identity::~Identity() {
  EVP_PKEY_free(key_);
  X509_free(cert_);
}

llvm::Expected<Identity> Identity::generate(llvm::StringRef name) {
  EVP_PKEY *key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key)
    return mpc::error("cannot generate an Ed25519 key: {}", sslErrors());
  Identity id(key, X509_new());
  X509 *x = id.cert_;
  unsigned char serial[16];
  BIGNUM *bn = nullptr;
  bool ok = x && RAND_bytes(serial, sizeof serial) == 1;
  serial[0] &= 0x7f; // a positive serial number
  ok = ok && (bn = BN_bin2bn(serial, sizeof serial, nullptr)) &&
       BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
       X509_set_version(x, 2) &&
       X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600) &&
       X509_time_adj_ex(X509_getm_notAfter(x), 36500, 0, nullptr) &&
       X509_set_pubkey(x, key);
  BN_free(bn);
  X509_NAME *subject = x ? X509_get_subject_name(x) : nullptr;
  std::string cn = name.str();
  ok = ok && subject &&
       X509_NAME_add_entry_by_txt(
           subject, "CN", MBSTRING_UTF8,
           reinterpret_cast<const unsigned char *>(cn.c_str()), -1, -1, 0) &&
       X509_NAME_add_entry_by_txt(
           subject, "O", MBSTRING_UTF8,
           reinterpret_cast<const unsigned char *>("mpc-run"), -1, -1, 0) &&
       X509_set_issuer_name(x, subject) && X509_sign(x, key, nullptr) > 0;
  if (!ok)
    return mpc::error("cannot make a certificate for '{}': {}", name.str(),
                      sslErrors());
  llvm::Expected<Fingerprint> f = fingerprintOf(x);
  if (!f)
    return f.takeError();
  id.fingerprint_ = *f;
  return id;
}

llvm::Expected<Identity> Identity::load(llvm::StringRef keyFile,
                                        llvm::StringRef certFile) {
  struct stat st {};
  if (::stat(keyFile.str().c_str(), &st) != 0)
    return mpc::error("cannot open key file '{}': {}", keyFile.str(),
                      std::strerror(errno));
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return mpc::error("key file '{}' is accessible by group or others (mode "
                      "{:04o}): chmod 600 it",
                      keyFile.str(), st.st_mode & 07777);
  BioPtr bio(BIO_new_file(keyFile.str().c_str(), "r"));
  if (!bio)
    return mpc::error("cannot open key file '{}': {}", keyFile.str(),
                      std::strerror(errno));
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key)
    return mpc::error("'{}' is not a PEM private key: {}", keyFile.str(),
                      sslErrors());
  llvm::Expected<X509 *> cert = readCert(certFile);
  if (!cert) {
    EVP_PKEY_free(key);
    return cert.takeError();
  }
  Identity id(key, *cert);
  if (X509_check_private_key(id.cert_, id.key_) != 1) {
    ERR_clear_error();
    return mpc::error("key '{}' does not belong to certificate '{}'",
                      keyFile.str(), certFile.str());
  }
  llvm::Expected<Fingerprint> f = fingerprintOf(id.cert_);
  if (!f)
    return f.takeError();
  id.fingerprint_ = *f;
  return id;
}

llvm::Error Identity::write(llvm::StringRef keyFile,
                            llvm::StringRef certFile) const {
  llvm::Expected<BioPtr> k = createFile(keyFile, 0600);
  if (!k)
    return k.takeError();
  if (PEM_write_bio_PrivateKey(k->get(), key_, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1)
    return mpc::error("cannot write '{}': {}", keyFile.str(), sslErrors());
  llvm::Expected<BioPtr> c = createFile(certFile, 0644);
  if (!c)
    return c.takeError();
  if (PEM_write_bio_X509(c->get(), cert_) != 1)
    return mpc::error("cannot write '{}': {}", certFile.str(), sslErrors());
  return llvm::Error::success();
}

llvm::Expected<Fingerprint>
mpc::rt::certFileFingerprint(llvm::StringRef certFile) {
  llvm::Expected<X509 *> cert = readCert(certFile);
  if (!cert)
    return cert.takeError();
  llvm::Expected<Fingerprint> f = fingerprintOf(*cert);
  X509_free(*cert);
  return f;
}

// --- TlsContext --------------------------------------------------------------

TlsContext::TlsContext(Identity self, std::map<int, Fingerprint> trusted)
    : self_(std::move(self)), trusted_(std::move(trusted)) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

void TlsContext::alsoTrust(int role, Fingerprint f) {
  alsoTrusted_[role].push_back(std::move(f));
}

void TlsContext::trustAnyCertificate(int role) {
  anyCertificate_.push_back(role);
}

bool TlsContext::trusts(int role, const Fingerprint &f) const {
  if (llvm::is_contained(anyCertificate_, role))
    return true;
  if (auto it = trusted_.find(role); it != trusted_.end() && it->second == f)
    return true;
  auto it = alsoTrusted_.find(role);
  return it != alsoTrusted_.end() && llvm::is_contained(it->second, f);
}

llvm::Expected<std::shared_ptr<TlsContext>>
TlsContext::create(Identity self, std::map<int, Fingerprint> trusted) {
  for (auto &[r, f] : trusted) {
    if (f == self.fingerprint())
      return mpc::error("the certificate trusted for {} is this role's own "
                        "certificate: each role needs its own identity",
                        roleKey(r).str());
    for (auto &[r2, f2] : trusted)
      if (r < r2 && f == f2)
        return mpc::error("{} and {} are trusted with the same certificate "
                          "({}): each role needs its own identity",
                          roleKey(r).str(), roleKey(r2).str(), f);
  }
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);

  std::shared_ptr<TlsContext> c(
      new TlsContext(std::move(self), std::move(trusted)));
  SSL_CTX *ctx = SSL_CTX_new(TLS_method());
  c->ctx_ = ctx;
  bool ok = ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) &&
            SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
            // AES-128-GCM first: AES-NI makes it the fastest suite here.
            SSL_CTX_set_ciphersuites(
                ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384") &&
            SSL_CTX_set1_groups_list(ctx, "X25519:P-256") &&
            SSL_CTX_use_certificate(ctx, c->self_.cert()) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, c->self_.key()) == 1 &&
            SSL_CTX_check_private_key(ctx) == 1 &&
            SSL_CTX_set_num_tickets(ctx, 0) == 1;
  if (!ok)
    return mpc::error("cannot set up TLS: {}", sslErrors());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     verifyPinned);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  // No dummy ChangeCipherSpec records: the stream is TLS 1.3 records only.
  SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
  // After the handshake, writes go to a buffer that never blocks
  // (TlsChannel::bufferWrites): SSL_write encrypts a whole batch at once.
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read several records per recv(2) call.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, kTlsBatchBytes);
  return c;
}

llvm::Expected<std::unique_ptr<TlsChannel>>
TlsContext::accept(std::unique_ptr<TcpChannel> tcp,
                   llvm::ArrayRef<int> roles) const {
  return handshake(std::move(tcp), /*server=*/true, roles);
}

llvm::Expected<std::unique_ptr<TlsChannel>>
TlsContext::connect(std::unique_ptr<TcpChannel> tcp, int role) const {
  return handshake(std::move(tcp), /*server=*/false, {role});
}

llvm::Expected<std::unique_ptr<TlsChannel>>
TlsContext::handshake(std::unique_ptr<TcpChannel> tcp, bool server,
                      llvm::ArrayRef<int> roles) const {
  std::string addr = tcp->peerName();
  std::string expected;
  for (int r : roles) {
    std::vector<Fingerprint> pins;
    if (auto it = trusted_.find(r); it != trusted_.end())
      pins.push_back(it->second);
    if (auto it = alsoTrusted_.find(r); it != alsoTrusted_.end())
      pins.insert(pins.end(), it->second.begin(), it->second.end());
    bool any = llvm::is_contained(anyCertificate_, r);
    if (pins.empty() && !any)
      return mpc::error("no certificate is trusted for {} (--trust {}=CERT)",
                        roleName(r), roleKey(r).str());
    std::string list = any ? "any certificate" : llvm::join(pins, ", ");
    expected += fmt::format("{}{} ({})", expected.empty() ? "" : " or ",
                            roleKey(r).str(), list);
  }
  std::string who =
      roles.size() == 1 ? describePeer(roles[0], addr) : "the peer at " + addr;

  ERR_clear_error();
  SSL *ssl = SSL_new(ctx_);
  if (!ssl || SSL_set_fd(ssl, tcp->fd()) != 1) {
    SSL_free(ssl);
    return mpc::error("cannot set up TLS with {}: {}", who, sslErrors());
  }
  std::unique_ptr<TlsChannel> ch(new TlsChannel(std::move(tcp), ssl));
  ch->setPeerName(who);
  PinCheck check;
  check.ctx = this;
  check.roles = roles;
  SSL_set_ex_data(ssl, pinIndex(), &check);
  if (server)
    SSL_set_accept_state(ssl);
  else
    SSL_set_connect_state(ssl);

  auto timeout = ch->tcp_->timeout();
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    if (rc == 1)
      break;
    int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      pollfd p{ch->tcp_->fd(),
               short(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      int n = poll(&p, 1, msLeft(deadline));
      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0) {
        ch->broken_ = true;
        return mpc::error("TLS handshake with {}: no progress for {:g} s", who,
                          timeout.count() / 1000.0);
      }
      continue;
    }
    ch->broken_ = true;
    SSL_set_ex_data(ssl, pinIndex(), nullptr);
    if (!check.presented.empty() && check.role < 0)
      return mpc::error("{} presented a certificate with SHA-256 fingerprint "
                        "{}, but {} is trusted (--trust): refusing the "
                        "connection",
                        who, check.presented, expected);
    return addContext(ch->sslError(rc, "in the handshake with", 0, 0),
                      "TLS handshake: ");
  }
  SSL_set_ex_data(ssl, pinIndex(), nullptr);
  if (auto e = ch->bufferWrites())
    return e;

  // The finished connection's certificate, checked again.
  X509 *peer = SSL_get0_peer_certificate(ssl);
  llvm::Expected<Fingerprint> f =
      peer ? fingerprintOf(peer) : llvm::Expected<Fingerprint>(Fingerprint());
  if (!f)
    return f.takeError();
  int role = -1;
  for (int r : roles)
    if (!f->empty() && trusts(r, *f))
      role = r;
  if (role < 0)
    return mpc::error("{} presented a certificate with SHA-256 fingerprint "
                      "{}, but {} is trusted (--trust): refusing the "
                      "connection",
                      who, f->empty() ? "(none)" : *f, expected);
  if (SSL_export_keying_material(ssl, ch->binding_.data(), ch->binding_.size(),
                                 kExporterLabel, sizeof kExporterLabel - 1,
                                 nullptr, 0, 0) != 1)
    return mpc::error("TLS with {}: cannot export keying material: {}", who,
                      sslErrors());
  ch->peerFingerprint_ = *f;
  ch->authenticatedRole_ = role;
  ch->setPeerName(describePeer(role, addr));
  return ch;
}
