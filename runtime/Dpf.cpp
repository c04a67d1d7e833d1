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

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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
    for (size_t done = 0; done < n; done += kAesBatch) {
      size_t m = std::min(kAesBatch, n - done);
      int len = 0;
      if (EVP_EncryptUpdate(ctx_[half], out[done].data(), &len, in[done].data(),
                            int(m * 16)) != 1 ||
          size_t(len) != m * 16)
        cryptoFailure("EVP_EncryptUpdate (DPF)");
    }
    for (size_t i = 0; i < n; ++i)
      for (int b = 0; b < 16; ++b)
        out[i][b] ^= in[i][b];
  }

private:
  EVP_CIPHER_CTX *ctx_[2] = {nullptr, nullptr};
};

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

/// Party \p party's output at a leaf with seed s and bit t.
u64 leafOutput(const DpfKey &k, const Block &s, uint8_t t) {
  u64 v = convert(s) + (t ? k.cwOut : 0);
  return k.party ? u64(0) - v : v;
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
  std::vector<Block> s = {k.seed}, next, half[2];
  std::vector<uint8_t> t = {uint8_t(k.party)}, nextT;
  TreePrg prg;
  for (int i = 0; i < n; ++i) {
    size_t count = s.size(), nextCount = nodesAt(k.domain, n, i + 1);
    for (int h = 0; h < 2; ++h) {
      half[h].resize(count);
      prg.expand(h, s.data(), half[h].data(), count);
    }
    next.resize(nextCount);
    nextT.resize(nextCount);
    uint8_t tcw[2] = {uint8_t(k.cwT[i] & 1), uint8_t((k.cwT[i] >> 1) & 1)};
    for (size_t c = 0; c < nextCount; ++c) {
      int h = int(c & 1);
      Block b = half[h][c >> 1];
      uint8_t ct = takeT(b);
      if (t[c >> 1]) {
        xorInto(b, k.cwSeed[i]);
        ct ^= tcw[h];
      }
      next[c] = b;
      nextT[c] = ct;
    }
    std::swap(s, next);
    std::swap(t, nextT);
  }
  assert(s.size() == k.domain && "the leaves are the domain");
  for (size_t x = 0; x < s.size(); ++x)
    out[x] = leafOutput(k, s[x], t[x]);
  for (std::vector<Block> *v : {&s, &next, &half[0], &half[1]})
    OPENSSL_cleanse(v->data(), v->size() * sizeof(Block));
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
