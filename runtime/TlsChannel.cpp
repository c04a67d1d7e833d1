//===- runtime/TlsChannel.cpp - TLS transport -----------------------------===//
//
// One SSL object on the TcpChannel's non-blocking socket. After the
// handshake OpenSSL writes its records into wire_, a buffer of this
// channel, and the exchange sends that buffer with one send(2) per batch;
// reads go straight from the socket (read-ahead: as many records as one
// recv returns). An exchange alternates: encrypt up to kTlsBatchBytes of
// what is left to send, send what the socket takes, decrypt up to
// kTlsBatchBytes of what has arrived; it polls only when none of the
// three made progress, for what it is waiting for, so two parties sending large
// messages to each other never deadlock, exactly as with plain TCP.
//
// Why batches: OpenSSL's own socket writes make one send(2) per 16 KiB
// record, 64 per MiB, and the peer wakes for each. With batches, the
// encrypted records of 256 KiB go out in one call (wire_ holds at most
// about two batches); on bench/bench_transport's 300 exchanges of 1 MiB
// each way this cut TLS's CPU time (both parties) from 0.82 s to 0.68 s
// on the shared 2-core machine, where AES-GCM itself is about 0.45 s. A
// batch is still small enough that the peer decrypts one while this end
// encrypts the next.
//
// A peer that closes (close_notify, FIN or reset) reads as "closed the
// connection", as TcpChannel says it; a TLS alert from the peer, such as
// bad_certificate when it does not trust this role's certificate, is named.
//
//===----------------------------------------------------------------------===//

#include "runtime/Poll.h"
#include "runtime/Tls.h"
#include "support/Diag.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

using namespace mpc;
using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

namespace {

/// A write-only BIO that appends to the std::vector<uint8_t> in its data.
int wireWrite(BIO *bio, const char *data, size_t len, size_t *written) {
  auto *wire = static_cast<std::vector<uint8_t> *>(BIO_get_data(bio));
  auto *bytes = reinterpret_cast<const uint8_t *>(data);
  wire->insert(wire->end(), bytes, bytes + len);
  *written = len;
  return 1;
}

long wireCtrl(BIO *, int cmd, long, void *) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int wireCreate(BIO *bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD *wireMethod() {
  static BIO_METHOD *method = [] {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "mpcc TLS wire buffer");
    if (m && !(BIO_meth_set_write_ex(m, wireWrite) &&
               BIO_meth_set_ctrl(m, wireCtrl) &&
               BIO_meth_set_create(m, wireCreate))) {
      BIO_meth_free(m);
      m = nullptr;
    }
    return m;
  }();
  return method;
}

/// Alerts that say the peer rejected this end's certificate.
bool isCertificateAlert(int alert) {
  return (alert >= SSL_AD_BAD_CERTIFICATE &&
          alert <= SSL_AD_CERTIFICATE_UNKNOWN) ||
         alert == SSL_AD_UNKNOWN_CA || alert == SSL_AD_ACCESS_DENIED ||
         alert == SSL_AD_CERTIFICATE_REQUIRED;
}

} // namespace

TlsChannel::TlsChannel(std::unique_ptr<TcpChannel> tcp, SSL *ssl)
    : tcp_(std::move(tcp)), ssl_(ssl) {}

TlsChannel::~TlsChannel() {
  // A best-effort close_notify (never waits): the peer then reads a clean
  // "closed the connection" rather than a reset.
  if (!broken_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    bool progress = false, blocked = false;
    llvm::consumeError(flushWire(progress, blocked, 0));
  }
  SSL_free(ssl_);
  ERR_clear_error();
}

/// How far a failed send got, for errors. Not "after 8 of 8 bytes": the
/// plaintext count says what OpenSSL took, not what reached the peer,
/// and reads as if nothing was missing.
static std::string whileSending(size_t total) {
  return fmt::format(" while {} bytes were being sent", total);
}

llvm::Error TlsChannel::sslError(int rc, llvm::StringRef doing, size_t done,
                                 size_t total) {
  int err = SSL_get_error(ssl_, rc);
  int sysErr = errno;
  unsigned long e = ERR_peek_error();
  int reason = ERR_GET_REASON(e);
  broken_ = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL;
  std::string progress =
      !total ? ""
      : doing == "sending to"
          ? whileSending(total)
          : fmt::format(" after {} of {} bytes", done, total);
  std::string closed =
      fmt::format("{} closed the connection{}", peerName_, progress);
  if (err == SSL_ERROR_ZERO_RETURN)
    return mpc::error("{}", closed);
  if (err == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    if (sysErr == 0 || sysErr == ECONNRESET || sysErr == EPIPE)
      return mpc::error("{}{}", closed, sysErr == ECONNRESET ? " (reset)" : "");
    return mpc::error("{} {}: {}", doing.str(), peerName_,
                      std::strerror(sysErr));
  }
  if (err == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL) {
    if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      return mpc::error("{}", closed);
    }
    // Alerts received from the peer are reported as reason
    // SSL_AD_REASON_OFFSET + the alert's code.
    int alert = reason - SSL_AD_REASON_OFFSET;
    if (alert >= 0 && alert < 256) {
      ERR_clear_error();
      const char *what = SSL_alert_desc_string_long(alert);
      if (isCertificateAlert(alert))
        return mpc::error("{} refused this role's certificate (TLS alert "
                          "'{}'): it must trust this certificate for this "
                          "role (--trust ROLE=CERT)",
                          peerName_, what);
      return mpc::error("{} ended the TLS connection with alert '{}'{}",
                        peerName_, what, progress);
    }
  }
  std::string detail;
  while (unsigned long q = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(q, buf, sizeof buf);
    detail += (detail.empty() ? "" : "; ") + std::string(buf);
  }
  return mpc::error("TLS error {} {}{}: {}", doing.str(), peerName_, progress,
                    detail.empty() ? "unknown" : detail);
}

llvm::Error TlsChannel::bufferWrites() {
  const BIO_METHOD *method = wireMethod();
  BIO *bio = method ? BIO_new(method) : nullptr;
  if (!bio)
    return mpc::error("cannot set up TLS with {}: no memory for a BIO",
                      peerName_);
  BIO_set_data(bio, &wire_);
  SSL_set0_wbio(ssl_, bio);
  return llvm::Error::success();
}

llvm::Error TlsChannel::flushWire(bool &progress, bool &blocked, size_t total) {
  while (wireAt_ < wire_.size()) {
    ssize_t n = ::send(tcp_->fd(), wire_.data() + wireAt_,
                       wire_.size() - wireAt_, MSG_NOSIGNAL);
    if (n > 0) {
      wireAt_ += size_t(n);
      progress = true;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      blocked = true;
      return llvm::Error::success();
    }
    broken_ = true;
    std::string after = total ? whileSending(total) : "";
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
      return mpc::error("{} closed the connection{}{}", peerName_,
                        errno == ECONNRESET ? " (reset)" : "", after);
    return mpc::error("sending to {}{}: {}", peerName_, after,
                      std::strerror(errno));
  }
  wire_.clear();
  wireAt_ = 0;
  return llvm::Error::success();
}

llvm::Error TlsChannel::doExchange(llvm::ArrayRef<uint8_t> out,
                                   llvm::MutableArrayRef<uint8_t> in) {
  // Without a deadline, transfer() returns only when everything moved.
  return transfer(out, in, Clock::time_point::max()).takeError();
}

llvm::Expected<Channel::Moved>
TlsChannel::transfer(llvm::ArrayRef<uint8_t> out,
                     llvm::MutableArrayRef<uint8_t> in,
                     Clock::time_point until) {
  if (broken_)
    return mpc::error("the TLS connection to {} has failed before", peerName_);
  size_t sent = 0, got = 0;
  auto timeout = tcp_->timeout();
  Clock::time_point lastProgress = Clock::now();
  // Records that OpenSSL wrote outside an exchange (a key update answered
  // while reading, say) are sent here too: the loop ends with wire_ empty,
  // unless \p until came first (sendPending() then says so).
  while (sent < out.size() || got < in.size() || wireAt_ < wire_.size()) {
    bool progress = false, blocked = false;
    short events = 0;
    if (sent < out.size() && wire_.size() - wireAt_ < kTlsBatchBytes) {
      ERR_clear_error();
      size_t n = 0;
      int rc = SSL_write_ex(ssl_, out.data() + sent,
                            std::min(kTlsBatchBytes, out.size() - sent), &n);
      if (rc != 1)
        return sslError(rc, "sending to", sent, out.size());
      sent += n;
      progress = true;
    }
    if (auto e = flushWire(progress, blocked, out.size()))
      return e;
    if (blocked)
      events |= POLLOUT;
    for (size_t batch = 0; got < in.size() && batch < kTlsBatchBytes;) {
      ERR_clear_error();
      size_t n = 0;
      int rc = SSL_read_ex(ssl_, in.data() + got, in.size() - got, &n);
      if (rc != 1) {
        if (SSL_get_error(ssl_, rc) != SSL_ERROR_WANT_READ)
          return sslError(rc, "receiving from", got, in.size());
        events |= POLLIN;
        break;
      }
      got += n;
      batch += n;
      progress = true;
    }
    if (progress) {
      lastProgress = Clock::now();
      continue;
    }
    pollfd p{tcp_->fd(), events, 0};
    Clock::time_point stall = lastProgress + timeout;
    int rc = detail::pollUntil(p, std::min(stall, until));
    if (rc < 0 && errno != EINTR)
      return mpc::error("waiting on {}: {}", peerName_, std::strerror(errno));
    if (rc == 0 && Clock::now() >= until && until < stall)
      return Moved{sent, got};
    if (rc == 0) {
      if (got < in.size())
        return mpc::error("no data from {} for {:g} s (received {} of {} "
                          "bytes)",
                          peerName_, timeout.count() / 1000.0, got, in.size());
      return mpc::error("{} accepted no data for {:g} s (sent {} of {} "
                        "bytes)",
                        peerName_, timeout.count() / 1000.0, sent, out.size());
    }
  }
  return Moved{sent, got};
}
