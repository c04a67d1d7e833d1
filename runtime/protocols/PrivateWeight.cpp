//===- runtime/protocols/PrivateWeight.cpp - Products with P0's weights ---===//
//
// The private-weight linear layer of DESIGN.md §5: party 0 holds W in the
// clear. Once per session it sends W - B to party 1, where the mask B is
// derived from a seed party 0 shares with the dealer. Per inference the
// dealer gives party 1 a fresh mask A and both parties shares of A.B; party
// 1 computes A.(W - B) offline. Online, party 1 sends X_1 - A (one way, one
// round, activation-sized) and
//
//   Y_0 = (X_0 + X_1 - A).W + [A.B]_0,   Y_1 = A.(W - B) + [A.B]_1,
//
// which add up to X.W. The element-wise product with a broadcast weight
// (pwMul) is the same with '*' for '.'.
//
// Mask derivation: B_id = Prg(AES-128_seed(tag || id)).tensor(shape), i.e.
// the per-weight PRG key is the AES encryption, under the session mask seed,
// of one block holding a domain tag and the weight id (AES as a PRF).
//
//===----------------------------------------------------------------------===//
#include "runtime/Wipe.h"
#include "runtime/protocols/Arith.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mpc::rt {

namespace {

/// AES-128_key(block): the per-weight seed derivation.
Seed aesBlock(const Seed &key, const Seed &block) {
  Seed out{};
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, key.data(),
                               nullptr) == 1 &&
            EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
            EVP_EncryptUpdate(ctx, out.data(), &len, block.data(),
                              int(block.size())) == 1 &&
            len == int(out.size());
  EVP_CIPHER_CTX_free(ctx);
  // Only a broken or out-of-memory OpenSSL fails here, as in Prg.cpp: no
  // protocol can go on without its PRG.
  if (!ok) {
    std::fprintf(stderr, "mpc runtime: OpenSSL failure in AES-ECB\n");
    std::abort();
  }
  return out;
}

/// Shape of X.W for X [..., m, k] and W [k, n].
Shape linearOutShape(llvm::ArrayRef<int64_t> xShape,
                     llvm::ArrayRef<int64_t> wShape) {
  assert(xShape.size() >= 2 && wShape.size() == 2 &&
         xShape.back() == wShape[0] && "pwLinear shapes do not match");
  Shape out(xShape.begin(), xShape.end());
  out.back() = wShape[1];
  return out;
}

/// The body of pwSetup, owning its copy of the shape.
Proto<int> pwSetupImpl(Party &p, WeightMasks &masks, int64_t id,
                       const RingTensor *w, Shape shape) {
  int64_t n = numElements(shape);
  if (p.id() == 0) {
    assert(w && w->shape() == shape && "party 0 needs the weight");
    RingTensor wb = sub(*w, masks.mask(id, shape));
    if (n > 0)
      (void)co_await p.exchange(std::move(wb.vec()), 0);
    co_return int(n);
  }
  RingTensor wb(shape);
  if (n > 0) {
    std::vector<u64> in = co_await p.exchange({}, size_t(n));
    assert(int64_t(in.size()) == n && "peer sent the wrong size");
    wb = RingTensor(shape, std::move(in));
  }
  masks.setMasked(id, std::move(wb));
  co_return int(n);
}

/// The shared body of pwLinear, owning its copy of the weight pointers (the
/// caller's ArrayRef may not outlive the lazily started coroutine).
Proto<std::vector<RingTensor>>
pwLinearImpl(Party &p, RingTensor x, std::vector<const RingTensor *> weights,
             const PwLinearMat &m, int ringBits) {
  size_t nw = m.ab.size();
  int64_t n = x.size();
  std::vector<RingTensor> ys;
  ys.reserve(nw);
  if (p.id() == 1) {
    if (n > 0) {
      assert(m.a.shape() == x.shape() && "input mask has the wrong shape");
      std::vector<u64> out(n);
      const u64 *xs = x.data(), *as = m.a.data();
      for (int64_t i = 0; i < n; ++i)
        out[i] = xs[i] - as[i];
      (void)co_await exchangeRing(p, std::move(out), 0, ringBits);
    }
    for (size_t j = 0; j < nw; ++j)
      ys.push_back(add(m.awb[j], m.ab[j].mine(1)));
    co_return ys;
  }

  assert(weights.size() == nw && "one weight per dealt product expected");
  if (n > 0) {
    std::vector<u64> theirs = co_await exchangeRing(p, {}, size_t(n), ringBits);
    assert(int64_t(theirs.size()) == n && "peer sent the wrong size");
    // x becomes X_0 + X_1 - A (mod 2^ringBits), in place.
    u64 *xs = x.data();
    for (int64_t i = 0; i < n; ++i)
      xs[i] = lowBits(xs[i] + theirs[i], ringBits);
  }
  // Y_0j = [AB_j]_0 + (X_0 + X_1 - A).W_j: the ring matmul accumulates
  // straight onto a copy of the dealt share, over the flattened rows of X.
  int64_t k = x.shape().back(), rows = k == 0 ? 0 : n / k;
  for (size_t j = 0; j < nw; ++j) {
    assert(weights[j] && "party 0 needs every weight");
    const RingTensor &w = *weights[j];
    assert(w.rank() == 2 && w.dim(0) == k && "weights are [k, n]");
    RingTensor y = m.ab[j].mine(0);
    assert(y.size() == rows * w.dim(1) && "dealt share has the wrong shape");
    matmulRaw(x.data(), w.data(), y.data(), rows, k, w.dim(1),
              /*accumulate=*/true);
    ys.push_back(std::move(y));
  }
  co_return ys;
}

} // namespace

// --- Weight masks ---------------------------------------------------------

WeightMasks WeightMasks::withSeed(int role, const Seed &maskSeed) {
  assert(role != int(Role::P1) && "party 1 never learns the mask seed");
  WeightMasks w;
  w.role_ = role;
  w.seed_ = maskSeed;
  return w;
}

WeightMasks::~WeightMasks() {
  OPENSSL_cleanse(seed_.data(), seed_.size());
  wipe(masked_);
}

WeightMasks WeightMasks::forParty1() {
  WeightMasks w;
  w.role_ = int(Role::P1);
  return w;
}

namespace {

/// The PRG key of weight \p id's mask: AES-128_seed("mpcc.pw\0" || id as 8
/// little-endian bytes).
Seed maskKey(const Seed &seed, int64_t id) {
  Seed block{};
  std::memcpy(block.data(), "mpcc.pw", 7);
  for (int i = 0; i < 8; ++i)
    block[8 + i] = uint8_t(uint64_t(id) >> (8 * i));
  return aesBlock(seed, block);
}

} // namespace

RingTensor WeightMasks::mask(int64_t id, llvm::ArrayRef<int64_t> shape) const {
  assert(role_ != int(Role::P1) && "party 1 has no mask seed");
  Prg prg(maskKey(seed_, id));
  return prg.tensor(shape);
}

RingTensor WeightMasks::maskRows(int64_t id, int64_t cols, int64_t firstRow,
                                 int64_t rows) const {
  assert(role_ != int(Role::P1) && "party 1 has no mask seed");
  Prg prg(maskKey(seed_, id), uint64_t(firstRow) * uint64_t(cols) * 8);
  return prg.tensor({rows, cols});
}

const RingTensor &WeightMasks::masked(int64_t id) const {
  auto it = masked_.find(id);
  assert(it != masked_.end() && "weight was not set up (pwSetup)");
  return it->second;
}

void WeightMasks::setMasked(int64_t id, RingTensor wMinusB) {
  masked_[id] = std::move(wMinusB);
}

bool WeightMasks::hasMasked(int64_t id) const { return masked_.count(id) != 0; }

// --- Set-up ------------------------------------------------------------------

Proto<int> pwSetup(Party &p, WeightMasks &masks, int64_t id,
                   const RingTensor *w, llvm::ArrayRef<int64_t> shape) {
  return pwSetupImpl(p, masks, id, w, Shape(shape.begin(), shape.end()));
}

Cost pwSetupCost(llvm::ArrayRef<int64_t> wShape) {
  Cost c;
  uint64_t n = numElements(wShape);
  if (n == 0)
    return c;
  // The same W - B message is both the set-up volume and, for the set-up
  // exchange itself, its measured party 0 -> party 1 traffic. Inference
  // totals add setupBytes01 only.
  c.rounds = 1;
  c.bytes01 = wordBytes(n);
  c.setupBytes01 = wordBytes(n);
  return c;
}

// --- Private-weight linear layer ------------------------------------------

PwLinearMat dealPwLinear(Corr &c, const WeightMasks &masks,
                         llvm::ArrayRef<int64_t> xShape,
                         llvm::ArrayRef<int64_t> weightIds,
                         llvm::ArrayRef<Shape> weightShapes) {
  assert(weightIds.size() == weightShapes.size() && "one shape per weight");
  PwLinearMat m;
  m.a = c.privateRandom(1, xShape);
  for (size_t j = 0; j < weightIds.size(); ++j) {
    Shape yShape = linearOutShape(xShape, weightShapes[j]);
    m.ab.push_back(c.shareOf(yShape, [&] {
      return matmul(m.a, masks.mask(weightIds[j], weightShapes[j]));
    }));
  }
  if (c.role() == Role::P1) {
    // Offline work of party 1: A.(W_j - B_j).
    for (size_t j = 0; j < weightIds.size(); ++j) {
      assert(masks.hasMasked(weightIds[j]) && "pwSetup must run first");
      assert(masks.masked(weightIds[j]).shape() == weightShapes[j] &&
             "set-up weight has another shape");
      m.awb.push_back(matmul(m.a, masks.masked(weightIds[j])));
    }
  }
  return m;
}

Proto<std::vector<RingTensor>>
pwLinear(Party &p, RingTensor x, llvm::ArrayRef<const RingTensor *> weights,
         const PwLinearMat &m, int ringBits) {
  std::vector<const RingTensor *> ws;
  if (p.id() == 0)
    ws.assign(weights.begin(), weights.end());
  return pwLinearImpl(p, std::move(x), std::move(ws), m, ringBits);
}

Cost pwLinearCost(llvm::ArrayRef<int64_t> xShape,
                  llvm::ArrayRef<Shape> weightShapes, int ringBits) {
  Cost c;
  uint64_t n = numElements(xShape);
  if (n > 0) {
    c.rounds = 1;
    c.bytes10 = wordBytes(packedWords(int64_t(n), ringBits));
  }
  uint64_t rows = xShape.back() == 0 ? 0 : n / xShape.back();
  for (const Shape &w : weightShapes) {
    c.dealerBytes1 += wordBytes(numElements(linearOutShape(xShape, w)));
    c.macs += double(rows) * double(w[0]) * double(w[1]);
  }
  return c;
}

// --- Private-weight element-wise product ----------------------------------

PwMulMat dealPwMul(Corr &c, const WeightMasks &masks,
                   llvm::ArrayRef<int64_t> xShape, int64_t weightId,
                   llvm::ArrayRef<int64_t> weightShape) {
  PwMulMat m;
  m.a = c.privateRandom(1, xShape);
  m.ab = c.shareOf(xShape, [&] {
    return mul(m.a, broadcastTo(masks.mask(weightId, weightShape), xShape));
  });
  if (c.role() == Role::P1) {
    assert(masks.hasMasked(weightId) && "pwSetup must run first");
    assert(llvm::ArrayRef<int64_t>(masks.masked(weightId).shape()) ==
               weightShape &&
           "set-up weight has another shape");
    m.awb = mul(m.a, broadcastTo(masks.masked(weightId), xShape));
  }
  return m;
}

Proto<RingTensor> pwMul(Party &p, RingTensor x, const RingTensor *w,
                        const PwMulMat &m) {
  int64_t n = x.size();
  if (p.id() == 1) {
    if (n > 0) {
      assert(m.a.shape() == x.shape() && "input mask has the wrong shape");
      std::vector<u64> out(n);
      const u64 *xs = x.data(), *as = m.a.data();
      for (int64_t i = 0; i < n; ++i)
        out[i] = xs[i] - as[i];
      (void)co_await p.exchange(std::move(out), 0);
    }
    co_return add(m.awb, m.ab.mine(1));
  }
  assert(w && "party 0 needs the weight");
  if (n > 0) {
    std::vector<u64> theirs = co_await p.exchange({}, size_t(n));
    assert(int64_t(theirs.size()) == n && "peer sent the wrong size");
    u64 *xs = x.data();
    for (int64_t i = 0; i < n; ++i)
      xs[i] += theirs[i];
  }
  RingTensor y = mul(x, broadcastTo(*w, x.shape()));
  addInPlace(y, m.ab.mine(0));
  co_return y;
}

Cost pwMulCost(llvm::ArrayRef<int64_t> xShape,
               llvm::ArrayRef<int64_t> weightShape) {
  Cost c;
  uint64_t n = numElements(xShape);
  if (n == 0)
    return c;
  c.rounds = 1;
  c.bytes10 = wordBytes(n);
  c.dealerBytes1 = wordBytes(n);
  c.elemOps = double(n);
  return c;
}

} // namespace mpc::rt
