//===- runtime/Tls.h - TLS 1.3 with pinned identities ----------*- C++ -*-===//
//
// Each mpc-run role has an identity: a private key and a self-signed
// certificate (`mpc-run keygen`), known to the others by the SHA-256
// fingerprint of the certificate's DER bytes. There is no CA: a role trusts
// exactly the certificates it is given for its peers (`--trust ROLE=CERT`),
// and a connection is accepted only when the peer presents one of them.
// That pin is also what gives a connection its role: the dealer treats a
// connection as party 0's only if it presents party 0's certificate, so a
// role is never self-declared.
//
// TlsChannel runs TLS 1.3 only (AES-GCM suites, X25519; mutual
// authentication, no session tickets, no resumption, no middlebox
// compatibility records, so the byte stream is one handshake record
// followed by application-data records) over a connected TcpChannel, and
// implements the Channel interface like TcpChannel does: full-duplex
// non-blocking exchanges (no deadlock on large simultaneous messages), a
// no-progress timeout, errors that name the peer, and counters of
// application bytes (what the cost formulas predict), not of TLS records.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Channel.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace mpc::rt {

/// Plaintext bytes a TLS channel encrypts, or decrypts, per step of an
/// exchange; OpenSSL's read buffer has the same size, so one recv(2) can
/// bring a whole batch of records.
constexpr size_t kTlsBatchBytes = 256 * 1024;

/// A certificate's identity: SHA-256 of its DER encoding, lower-case hex.
using Fingerprint = std::string;

/// A role's private key and self-signed certificate.
class Identity {
public:
  /// A fresh Ed25519 key and a self-signed certificate for \p name (its
  /// subject's common name), valid from a day ago for 100 years: pinning,
  /// not validity dates, is what makes it trusted.
  static llvm::Expected<Identity> generate(llvm::StringRef name);
  /// Reads a PEM key and certificate and checks that they belong together.
  /// The key file must not be readable by group or others.
  static llvm::Expected<Identity> load(llvm::StringRef keyFile,
                                       llvm::StringRef certFile);
  /// Writes the key (mode 0600) and the certificate (0644) as PEM. Refuses
  /// to overwrite either file.
  llvm::Error write(llvm::StringRef keyFile, llvm::StringRef certFile) const;

  Identity(Identity &&) noexcept;
  Identity &operator=(Identity &&) noexcept;
  ~Identity();

  const Fingerprint &fingerprint() const { return fingerprint_; }
  EVP_PKEY *key() const { return key_; }
  X509 *cert() const { return cert_; }

private:
  Identity(EVP_PKEY *key, X509 *cert);
  EVP_PKEY *key_ = nullptr;
  X509 *cert_ = nullptr;
  Fingerprint fingerprint_;
};

/// The fingerprint of the PEM certificate in \p certFile.
llvm::Expected<Fingerprint> certFileFingerprint(llvm::StringRef certFile);

class TlsChannel;

/// One role's TLS configuration: its identity and the fingerprint it
/// trusts for each peer role. Shared by all of the role's connections.
class TlsContext {
public:
  /// \p trusted maps a peer role to its pinned fingerprint. Two roles may
  /// not share a certificate (a connection's certificate decides its role).
  static llvm::Expected<std::shared_ptr<TlsContext>>
  create(Identity self, std::map<int, Fingerprint> trusted);
  ~TlsContext();

  /// Server side of the handshake on an accepted connection: the peer must
  /// present the pinned certificate of one of \p roles, which becomes the
  /// channel's authenticatedRole().
  llvm::Expected<std::unique_ptr<TlsChannel>>
  accept(std::unique_ptr<TcpChannel> tcp, llvm::ArrayRef<int> roles) const;
  /// Client side: the peer must present the certificate pinned for
  /// \p role.
  llvm::Expected<std::unique_ptr<TlsChannel>>
  connect(std::unique_ptr<TcpChannel> tcp, int role) const;

  const Identity &self() const { return self_; }
  const std::map<int, Fingerprint> &trusted() const { return trusted_; }

  /// Serving many clients (`mpc-run serve`): \p f is accepted for \p role
  /// too, beside the certificate create() pinned for it (if any).
  void alsoTrust(int role, Fingerprint f);
  /// Serving unknown clients (--any-client): any certificate is accepted
  /// for \p role. The connection is still TLS 1.3 with the certificate's
  /// key proven, so the peer's identity is a fingerprint that can be
  /// logged; it is simply not pinned.
  void trustAnyCertificate(int role);
  /// Whether a peer presenting \p f is accepted as \p role.
  bool trusts(int role, const Fingerprint &f) const;

private:
  TlsContext(Identity self, std::map<int, Fingerprint> trusted);
  llvm::Expected<std::unique_ptr<TlsChannel>>
  handshake(std::unique_ptr<TcpChannel> tcp, bool server,
            llvm::ArrayRef<int> roles) const;
  Identity self_;
  std::map<int, Fingerprint> trusted_;
  std::map<int, std::vector<Fingerprint>> alsoTrusted_;
  std::vector<int> anyCertificate_;
  SSL_CTX *ctx_ = nullptr;
};

/// TLS 1.3 over a TcpChannel (see the file comment). Made by TlsContext.
class TlsChannel : public Channel {
public:
  ~TlsChannel() override;
  /// The no-progress timeout (also the handshake's).
  void setTimeout(TcpChannel::Duration d) { tcp_->setTimeout(d); }
  std::array<uint8_t, 32> binding() const override { return binding_; }
  bool peerClosed() const override { return tcp_->peerClosed(); }
  llvm::Expected<Moved> transfer(llvm::ArrayRef<uint8_t> out,
                                 llvm::MutableArrayRef<uint8_t> in,
                                 Clock::time_point until) override;
  bool sendPending() const override { return wireAt_ < wire_.size(); }
  /// The fingerprint of the certificate the peer presented.
  std::string peerCertificate() const override { return peerFingerprint_; }

protected:
  llvm::Error doExchange(llvm::ArrayRef<uint8_t> out,
                         llvm::MutableArrayRef<uint8_t> in) override;

private:
  friend class TlsContext;
  TlsChannel(std::unique_ptr<TcpChannel> tcp, SSL *ssl);
  llvm::Error sslError(int rc, llvm::StringRef doing, size_t done,
                       size_t total);
  /// After the handshake: records go to wire_ instead of the socket.
  llvm::Error bufferWrites();
  /// Sends what it can of wire_ without blocking; \p blocked when the
  /// socket took less than all of it. \p total: the bytes of the send in
  /// progress (for errors; 0 when none).
  llvm::Error flushWire(bool &progress, bool &blocked, size_t total);
  std::unique_ptr<TcpChannel> tcp_;
  SSL *ssl_;
  std::vector<uint8_t> wire_; ///< Encrypted records not yet sent.
  size_t wireAt_ = 0;         ///< wire_[0, wireAt_) is sent.
  std::array<uint8_t, 32> binding_{};
  Fingerprint peerFingerprint_;
  bool broken_ = false; ///< A fatal TLS error: no close_notify on close.
};

} // namespace mpc::rt
