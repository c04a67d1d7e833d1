//===- runtime/Dpf.cpp - Distributed point functions ----------------------===//
//
// BGI16's tree construction, written level by level. Each tree node carries
// a seed s (128 bits, its lowest bit cleared) and a control bit t. Both keys
// start from their own random root seed, with t = party. A node's children
// come from G(s): the left child from AES_kL(s) ^ s, the right one from
// AES_kR(s) ^ s, the lowest bit of each block being the child's t. A node
// whose t is set also XORs the level's correction into its children. The
// corrections keep the two trees equal (same s, same t) off the path to
// alpha and different (t0 ^ t1 = 1) on it, so off the path the leaf
// outputs cancel and on it the final word makes them add up to 1.
//
//===----------------------------------------------------------------------===//
#include "runtime/Dpf.h"

#include "runtime/Prg.h"
#include "support/Diag.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <bit>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

using namespace mpc;
using namespace mpc::rt;

namespace {

using Block = DpfKey::Block;

/// The PRG's two public AES keys (any fixed keys do; these spell their use).
constexpr Block kLeftKey = {'m', 'p', 'c', 'c', '.', 'd', 'p', 'f',
                            '.', 'l', 'e', 'f', 't', 0,   0,   0};
constexpr Block kRightKey = {'m', 'p', 'c', 'c', '.', 'd', 'p', 'f',
                             '.', 'r', 'i', 'g', 'h', 't', 0,   0};
/// Blocks per EVP call (an int byte count; bounded buffers).
constexpr size_t kAesBatch = size_t(1) << 16;

[[noreturn]] void cryptoFailure(const char *what) {
  std::fprintf(stderr, "mpc runtime: OpenSSL failure in %s\n", what);
  std::abort();
}

/// G's two halves: out[i] = AES_k(in[i]) ^ in[i] for k = left or right.
class TreePrg {
public:
  TreePrg() {
    for (int h = 0; h < 2; ++h) {
      ctx_[h] = EVP_CIPHER_CTX_new();
      const Block &key = h ? kRightKey : kLeftKey;
      if (!ctx_[h] ||
          EVP_EncryptInit_ex(ctx_[h], EVP_aes_128_ecb(), nullptr, key.data(),
                             nullptr) != 1 ||
          EVP_CIPHER_CTX_set_padding(ctx_[h], 0) != 1)
        cryptoFailure("EVP_EncryptInit_ex (DPF)");
    }
  }
  ~TreePrg() {
    EVP_CIPHER_CTX_free(ctx_[0]);
    EVP_CIPHER_CTX_free(ctx_[1]);
  }
  TreePrg(const TreePrg &) = delete;
  TreePrg &operator=(const TreePrg &) = delete;

  void expand(int half, const Block *in, Block *out, size_t n) {
    encrypt(half, in, out, n);
    for (size_t i = 0; i < n; ++i)
      for (int b = 0; b < 16; ++b)
        out[i][b] ^= in[i][b];
  }

  /// out[i] = AES_k(in[i]) alone (the caller XORs in[i]); 16-byte blocks.
  template <typename B> void encrypt(int half, const B *in, B *out, size_t n) {
    static_assert(sizeof(B) == 16, "AES blocks are 16 bytes");
    auto *src = reinterpret_cast<const unsigned char *>(in);
    auto *dst = reinterpret_cast<unsigned char *>(out);
    for (size_t done = 0; done < n; done += kAesBatch) {
      size_t m = std::min(kAesBatch, n - done);
      int len = 0;
      if (EVP_EncryptUpdate(ctx_[half], dst + 16 * done, &len, src + 16 * done,
                            int(m * 16)) != 1 ||
          size_t(len) != m * 16)
        cryptoFailure("EVP_EncryptUpdate (DPF)");
    }
  }

private:
  EVP_CIPHER_CTX *ctx_[2] = {nullptr, nullptr};
};

/// A block as two 64-bit halves (bytes 0-7, 8-15, little-endian): full
/// evaluation's working form, XORed a word at a time and passed to AES as
/// the same 16 bytes.
struct Half2 {
  u64 lo, hi;
  static Half2 of(const Block &b) {
    Half2 h;
    std::memcpy(&h, b.data(), 16);
    return h;
  }
  Half2 operator^(const Half2 &o) const { return {lo ^ o.lo, hi ^ o.hi}; }
};
static_assert(sizeof(Half2) == 16, "a Half2 is an AES block");
static_assert(std::endian::native == std::endian::little,
              "Half2's words are the block's bytes on a little-endian host");

/// Splits a G output block into the child's seed and t bit.
uint8_t takeT(Block &b) {
  uint8_t t = b[0] & 1;
  b[0] &= 0xFE;
  return t;
}

void xorInto(Block &a, const Block &b) {
  for (int i = 0; i < 16; ++i)
    a[i] ^= b[i];
}

/// The leaf seed's ring element (its upper 64 bits, little-endian).
u64 convert(const Block &s) {
  u64 v = 0;
  for (int i = 0; i < 8; ++i)
    v |= u64(s[8 + i]) << (8 * i);
  return v;
}

/// Party \p party's output at a leaf whose seed converts to \p word and
/// whose bit is \p t (0 or 1).
u64 leafWord(const DpfKey &k, u64 word, u64 t) {
  u64 v = word + (k.cwOut & (u64(0) - t));
  return k.party ? u64(0) - v : v;
}

/// Party \p party's output at a leaf with seed s and bit t.
u64 leafOutput(const DpfKey &k, const Block &s, uint8_t t) {
  return leafWord(k, convert(s), t);
}

/// Nodes at level \p i of the tree over [0, domain) (level n: the leaves).
uint64_t nodesAt(uint64_t domain, int levels, int i) {
  int shift = levels - i;
  return (domain + (uint64_t(1) << shift) - 1) >> shift;
}

uint64_t tWords(int levels) { return (2 * uint64_t(levels) + 63) / 64; }

void putU64(std::vector<uint8_t> &out, u64 v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(uint8_t(v >> (8 * i)));
}

u64 getU64(const uint8_t *p) {
  u64 v = 0;
  for (int i = 0; i < 8; ++i)
    v |= u64(p[i]) << (8 * i);
  return v;
}

} // namespace

int mpc::rt::dpfLevels(uint64_t domain) {
  int n = 0;
  while (n < 63 && (uint64_t(1) << n) < domain)
    ++n;
  return n;
}

uint64_t mpc::rt::dpfKeyBytes(uint64_t domain) {
  int n = dpfLevels(domain);
  return 16 + 16 * uint64_t(n) + 8 * tWords(n) + 8;
}

std::pair<DpfKey, DpfKey> mpc::rt::dpfGen(uint64_t domain, uint64_t alpha) {
  assert(domain >= 1 && domain <= kDpfMaxDomain && alpha < domain &&
         "DPF point outside its domain");
  int n = dpfLevels(domain);
  DpfKey k[2];
  Block s[2];
  uint8_t t[2] = {0, 1};
  for (int b = 0; b < 2; ++b) {
    Seed root = randomSeed();
    std::memcpy(s[b].data(), root.data(), 16);
    OPENSSL_cleanse(root.data(), root.size());
    (void)takeT(s[b]);
    k[b].party = b;
    k[b].domain = domain;
    k[b].seed = s[b];
  }
  TreePrg prg;
  for (int i = 0; i < n; ++i) {
    int keep = int((alpha >> (n - 1 - i)) & 1), lose = 1 - keep;
    Block child[2][2]; // [party][left/right]
    uint8_t ct[2][2];
    for (int b = 0; b < 2; ++b)
      for (int h = 0; h < 2; ++h) {
        prg.expand(h, &s[b], &child[b][h], 1);
        ct[b][h] = takeT(child[b][h]);
      }
    Block cw = child[0][lose];
    xorInto(cw, child[1][lose]);
    uint8_t tcw[2] = {uint8_t(ct[0][0] ^ ct[1][0] ^ keep ^ 1),
                      uint8_t(ct[0][1] ^ ct[1][1] ^ keep)};
    for (int b = 0; b < 2; ++b) {
      k[b].cwSeed.push_back(cw);
      k[b].cwT.push_back(uint8_t(tcw[0] | (tcw[1] << 1)));
      Block next = child[b][keep];
      if (t[b])
        xorInto(next, cw);
      t[b] = ct[b][keep] ^ (t[b] & tcw[keep]);
      s[b] = next;
    }
  }
  // On the path t0 ^ t1 = 1: party 0 outputs C(s0) + t0.cw, party 1
  // -(C(s1) + t1.cw); the word makes their sum 1.
  u64 diff = convert(s[0]) - convert(s[1]);
  u64 cwOut = t[1] ? diff - 1 : 1 - diff;
  k[0].cwOut = k[1].cwOut = cwOut;
  OPENSSL_cleanse(s, sizeof s);
  return {std::move(k[0]), std::move(k[1])};
}

u64 mpc::rt::dpfEval(const DpfKey &k, uint64_t x) {
  assert(x < k.domain && "DPF evaluated outside its domain");
  int n = dpfLevels(k.domain);
  Block s = k.seed;
  uint8_t t = uint8_t(k.party);
  TreePrg prg;
  for (int i = 0; i < n; ++i) {
    int h = int((x >> (n - 1 - i)) & 1);
    Block c;
    prg.expand(h, &s, &c, 1);
    uint8_t ct = takeT(c);
    if (t) {
      xorInto(c, k.cwSeed[i]);
      ct ^= (k.cwT[i] >> h) & 1;
    }
    s = c;
    t = ct;
  }
  return leafOutput(k, s, t);
}

void mpc::rt::dpfFullEval(const DpfKey &k, u64 *out) {
  int n = dpfLevels(k.domain);
  // The level loop works on seeds as two 64-bit halves; a node's children
  // are made in one pass over its level, the last level's straight into
  // out. Buffers hold a whole level (the leaves at most), uninitialized.
  size_t cap = size_t(k.domain);
  auto seeds = std::make_unique_for_overwrite<Half2[]>(cap);
  auto next = std::make_unique_for_overwrite<Half2[]>(cap);
  auto aes = std::make_unique_for_overwrite<Half2[]>(cap);
  auto t = std::make_unique_for_overwrite<uint8_t[]>(cap);
  auto nextT = std::make_unique_for_overwrite<uint8_t[]>(cap);
  seeds[0] = Half2::of(k.seed);
  t[0] = uint8_t(k.party);
  TreePrg prg;
  for (int i = 0; i < n; ++i) {
    size_t nextCount = nodesAt(k.domain, n, i + 1);
    Half2 cw = Half2::of(k.cwSeed[i]);
    const u64 tcw[2] = {u64(k.cwT[i] & 1), u64((k.cwT[i] >> 1) & 1)};
    bool leaves = i == n - 1;
    for (int h = 0; h < 2; ++h) {
      // Children c = 2 p + h of parents p < parents(h).
      size_t parents = (nextCount - size_t(h) + 1) / 2;
      prg.encrypt(h, seeds.get(), aes.get(), parents);
      for (size_t p = 0; p < parents; ++p) {
        Half2 b = aes[p] ^ seeds[p];
        u64 ct = b.lo & 1, on = u64(0) - u64(t[p]);
        b.lo &= ~u64(1);
        b.lo ^= cw.lo & on;
        b.hi ^= cw.hi & on;
        ct ^= tcw[h] & on;
        size_t c = 2 * p + size_t(h);
        if (leaves) {
          out[c] = leafWord(k, b.hi, ct); // convert(s) is the upper half
        } else {
          next[c] = b;
          nextT[c] = uint8_t(ct);
        }
      }
    }
    std::swap(seeds, next);
    std::swap(t, nextT);
  }
  if (n == 0)
    out[0] = leafOutput(k, k.seed, uint8_t(k.party));
  for (Half2 *v : {seeds.get(), next.get(), aes.get()})
    OPENSSL_cleanse(v, cap * sizeof(Half2));
}

std::vector<u64> mpc::rt::dpfFullEval(const DpfKey &k) {
  std::vector<u64> out(k.domain);
  dpfFullEval(k, out.data());
  return out;
}

void mpc::rt::serializeDpfKey(const DpfKey &k, std::vector<uint8_t> &out) {
  int n = dpfLevels(k.domain);
  assert(int(k.cwSeed.size()) == n && int(k.cwT.size()) == n &&
         "one correction per level");
  out.insert(out.end(), k.seed.begin(), k.seed.end());
  for (const Block &c : k.cwSeed)
    out.insert(out.end(), c.begin(), c.end());
  for (uint64_t w = 0; w < tWords(n); ++w) {
    u64 bits = 0;
    for (int i = 0; i < 32 && int(w * 32) + i < n; ++i)
      bits |= u64(k.cwT[w * 32 + i] & 3) << (2 * i);
    putU64(out, bits);
  }
  putU64(out, k.cwOut);
}

llvm::Expected<DpfKey> mpc::rt::parseDpfKey(int party, uint64_t domain,
                                            llvm::ArrayRef<uint8_t> bytes) {
  if (party != 0 && party != 1)
    return mpc::error("a DPF key belongs to party 0 or 1, not {}", party);
  if (domain < 1 || domain > kDpfMaxDomain)
    return mpc::error("a DPF key's domain must be in [1, 2^40], not {}",
                      domain);
  uint64_t want = dpfKeyBytes(domain);
  if (bytes.size() != want)
    return mpc::error("a DPF key over a domain of {} is {} bytes, not {}",
                      domain, want, bytes.size());
  int n = dpfLevels(domain);
  DpfKey k;
  k.party = party;
  k.domain = domain;
  const uint8_t *p = bytes.data();
  std::memcpy(k.seed.data(), p, 16);
  p += 16;
  k.cwSeed.resize(n);
  for (int i = 0; i < n; ++i, p += 16)
    std::memcpy(k.cwSeed[i].data(), p, 16);
  k.cwT.resize(n);
  for (uint64_t w = 0; w < tWords(n); ++w, p += 8) {
    u64 bits = getU64(p);
    int here = std::min(32, n - int(w * 32));
    if (here < 32 && (bits >> (2 * here)) != 0)
      return mpc::error("a DPF key has set padding bits in its control-bit "
                        "word {}",
                        w);
    for (int i = 0; i < here; ++i)
      k.cwT[w * 32 + i] = uint8_t((bits >> (2 * i)) & 3);
  }
  k.cwOut = getU64(p);
  return k;
}
