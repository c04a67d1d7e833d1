//===- runtime/TlsChannel.cpp - TLS transport -----------------------------===//
//
// One SSL object on the TcpChannel's non-blocking socket. An exchange
// alternates SSL_write (partial writes: one record per call) and SSL_read
// (read-ahead: as many records as one recv returns) and polls only when
// neither made progress, for what OpenSSL says it is waiting for, so two
// parties sending large messages to each other never deadlock, exactly as
// with plain TCP. Records are TLS's largest (16 KiB of plaintext), and
// bytes go from the caller's buffer to OpenSSL's record buffer and back
// without another copy. The counters of Channel see application bytes
// only.
//
// A peer that closes (close_notify, FIN or reset) reads as "closed the
// connection", as TcpChannel says it; a TLS alert from the peer, such as
// bad_certificate when it does not trust this role's certificate, is named.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tls.h"
#include "support/Diag.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <poll.h>

#include <cerrno>
#include <cstring>

using namespace mpc;
using namespace mpc::rt;
using Clock = std::chrono::steady_clock;

namespace {

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return int(std::max<int64_t>(0, left.count()));
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
  }
  SSL_free(ssl_);
  ERR_clear_error();
}

llvm::Error TlsChannel::sslError(int rc, llvm::StringRef doing, size_t done,
                                 size_t total) {
  int err = SSL_get_error(ssl_, rc);
  int sysErr = errno;
  unsigned long e = ERR_peek_error();
  int reason = ERR_GET_REASON(e);
  broken_ = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL;
  std::string progress =
      total ? fmt::format(" after {} of {} bytes", done, total) : "";
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

llvm::Error TlsChannel::doExchange(llvm::ArrayRef<uint8_t> out,
                                   llvm::MutableArrayRef<uint8_t> in) {
  if (broken_)
    return mpc::error("the TLS connection to {} has failed before", peerName_);
  size_t sent = 0, got = 0;
  auto timeout = tcp_->timeout();
  Clock::time_point lastProgress = Clock::now();
  while (sent < out.size() || got < in.size()) {
    bool progress = false;
    short events = 0;
    if (sent < out.size()) {
      ERR_clear_error();
      size_t n = 0;
      int rc = SSL_write_ex(ssl_, out.data() + sent, out.size() - sent, &n);
      if (rc == 1) {
        sent += n;
        progress = true;
      } else {
        int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_WANT_WRITE)
          events |= POLLOUT;
        else if (err == SSL_ERROR_WANT_READ)
          events |= POLLIN;
        else
          return sslError(rc, "sending to", sent, out.size());
      }
    }
    if (got < in.size()) {
      ERR_clear_error();
      size_t n = 0;
      int rc = SSL_read_ex(ssl_, in.data() + got, in.size() - got, &n);
      if (rc == 1) {
        got += n;
        progress = true;
      } else {
        int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_WANT_READ)
          events |= POLLIN;
        else if (err == SSL_ERROR_WANT_WRITE)
          events |= POLLOUT;
        else
          return sslError(rc, "receiving from", got, in.size());
      }
    }
    if (progress) {
      lastProgress = Clock::now();
      continue;
    }
    pollfd p{tcp_->fd(), events, 0};
    int rc = poll(&p, 1, msLeft(lastProgress + timeout));
    if (rc < 0 && errno != EINTR)
      return mpc::error("waiting on {}: {}", peerName_, std::strerror(errno));
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
  return llvm::Error::success();
}
