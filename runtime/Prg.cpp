//===- runtime/Prg.cpp - AES-128-CTR pseudo-random generator --------------===//
//
// The stream is AES-128-CTR(key = seed, IV = 0) applied to zeros, generated
// by OpenSSL EVP (AES-NI/VAES) in large chunks. Small requests are served
// from a buffer; large ones are encrypted straight into the caller's memory.
// Either way the bytes handed out are the next bytes of the one keystream, so
// the output depends only on the seed and the total bytes drawn before, not
// on how the draws are split.
//
//===----------------------------------------------------------------------===//

#include "runtime/Prg.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace mpc::rt;

namespace {

/// Bytes generated per refill of the buffer.
constexpr size_t kBufferBytes = 16 * 1024;
/// Zeros fed to the cipher when encrypting straight into the output.
constexpr size_t kZeroChunk = 64 * 1024;

/// OpenSSL failing to set up or run AES is an environment failure the
/// runtime cannot continue from (no protocol is secure without its PRG).
[[noreturn]] void cryptoFailure(const char *what) {
  std::fprintf(stderr, "mpc runtime: OpenSSL failure in %s\n", what);
  std::abort();
}

} // namespace

struct Prg::Impl {
  EVP_CIPHER_CTX *ctx = nullptr;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(kBufferBytes);
  size_t pos = kBufferBytes; ///< Next unread byte of buffer.

  /// The stream from byte \p startByte: CTR mode's counter block is the
  /// IV read as a 128-bit big-endian number, one per 16 bytes, starting
  /// at 0; the bytes before startByte in its block are skipped.
  Impl(const Seed &seed, uint64_t startByte) {
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
      cryptoFailure("EVP_CIPHER_CTX_new");
    uint8_t iv[16] = {};
    uint64_t block = startByte / 16;
    for (int i = 0; i < 8; ++i)
      iv[15 - i] = uint8_t(block >> (8 * i));
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, seed.data(), iv) !=
        1)
      cryptoFailure("EVP_EncryptInit_ex");
    if (size_t skip = startByte % 16) {
      keystream(buffer.data(), buffer.size());
      pos = skip;
    }
  }
  // EVP_CIPHER_CTX_free wipes the key schedule; the buffer holds keystream.
  ~Impl() {
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(buffer.data(), buffer.size());
  }

  /// Writes the next \p n keystream bytes to \p out.
  void keystream(uint8_t *out, size_t n) {
    static const std::vector<uint8_t> zeros(kZeroChunk, 0);
    while (n > 0) {
      size_t chunk = n < kZeroChunk ? n : kZeroChunk;
      int len = 0;
      if (EVP_EncryptUpdate(ctx, out, &len, zeros.data(), int(chunk)) != 1 ||
          size_t(len) != chunk)
        cryptoFailure("EVP_EncryptUpdate");
      out += chunk;
      n -= chunk;
    }
  }

  void fill(uint8_t *out, size_t n) {
    size_t avail = buffer.size() - pos;
    size_t take = n < avail ? n : avail;
    std::memcpy(out, buffer.data() + pos, take);
    pos += take;
    out += take;
    n -= take;
    if (n == 0)
      return;
    // The buffer is now empty: large requests bypass it.
    if (n >= kBufferBytes) {
      keystream(out, n);
      return;
    }
    keystream(buffer.data(), buffer.size());
    std::memcpy(out, buffer.data(), n);
    pos = n;
  }
};

Seed mpc::rt::randomSeed() {
  Seed s;
  if (RAND_bytes(s.data(), int(s.size())) != 1)
    cryptoFailure("RAND_bytes");
  return s;
}

Prg::Prg(const Seed &seed) : impl_(std::make_unique<Impl>(seed, 0)) {}
Prg::Prg(const Seed &seed, uint64_t startByte)
    : impl_(std::make_unique<Impl>(seed, startByte)) {}
Prg::~Prg() = default;
Prg::Prg(Prg &&) noexcept = default;
Prg &Prg::operator=(Prg &&) noexcept = default;

void Prg::fill(void *out, size_t bytes) {
  // An empty tensor's data() may be null, and memcpy(null, ..., 0) is
  // undefined behaviour (UBSan reports it).
  if (bytes == 0)
    return;
  impl_->fill(static_cast<uint8_t *>(out), bytes);
}

u64 Prg::next() {
  Impl &im = *impl_;
  if (im.buffer.size() - im.pos >= sizeof(u64)) {
    u64 v;
    std::memcpy(&v, im.buffer.data() + im.pos, sizeof(v));
    im.pos += sizeof(v);
    return v;
  }
  u64 v;
  fill(&v, sizeof(v));
  return v;
}

RingTensor Prg::tensor(llvm::ArrayRef<int64_t> shape) {
  RingTensor t(shape);
  fillWords(t.data(), t.size());
  return t;
}
