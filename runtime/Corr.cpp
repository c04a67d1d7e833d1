//===- runtime/Corr.cpp - Dealer material, compressed with seeds ----------===//
//
// The three roles of a deal call, step by step:
//
//   call              dealer                      P0        P1
//   random            s0 = PRG0, s1 = PRG1        PRG0      PRG1
//   shareOf(v)        s0 = PRG0, s1 = v - s0 -> P1 PRG0      correction
//   privateRandom(o)  PRG_o                       o == 0    o == 1
//   randomBits        as random (shares XOR)
//   xorShareOf(v)     s0 = PRG0, s1 = v ^ s0 -> P1 PRG0      correction
//
// Each party draws exactly what the dealer drew from that party's stream, so
// the streams stay aligned as long as both run the same deal sequence.
//
//===----------------------------------------------------------------------===//

#include "runtime/Corr.h"

#include <algorithm>
#include <cassert>

using namespace mpc::rt;

Corr Corr::dealer(const Seed &seed0, const Seed &seed1, CorrectionSink toP1) {
  assert(toP1 && "the dealer needs a correction sink");
  Corr c(Role::Dealer);
  c.prg_[0].emplace(seed0);
  c.prg_[1].emplace(seed1);
  c.sink_ = std::move(toP1);
  return c;
}

Corr Corr::dealer(const Seed &seed0, const Seed &seed1,
                  std::vector<u64> *toP1) {
  assert(toP1 && "the dealer needs a correction sink");
  return dealer(seed0, seed1, [toP1](llvm::ArrayRef<u64> words) {
    toP1->insert(toP1->end(), words.begin(), words.end());
    return llvm::Error::success();
  });
}

Corr Corr::party(int id, const Seed &seed) {
  assert((id == 0 || id == 1) && "party id must be 0 or 1");
  Corr c(id == 0 ? Role::P0 : Role::P1);
  c.prg_[id].emplace(seed);
  return c;
}

void Corr::setSource(size_t words, CorrectionSource source) {
  assert(role_ == Role::P1 && "only party 1 reads corrections");
  source_ = std::move(source);
  sourceLeft_ = words;
}

void Corr::setInput(llvm::ArrayRef<u64> corrections) {
  setSource(corrections.size(), [corrections, at = size_t(0)](
                                    llvm::MutableArrayRef<u64> words) mutable {
    std::copy_n(corrections.begin() + at, words.size(), words.begin());
    at += words.size();
    return llvm::Error::success();
  });
}

llvm::Error Corr::takeStreamError() {
  if (!streamError_)
    return llvm::Error::success();
  std::string what = std::move(*streamError_);
  streamError_.reset();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), what);
}

RingTensor Corr::takeCorrection(llvm::ArrayRef<int64_t> shape) {
  size_t n = size_t(numElements(shape));
  if (n > sourceLeft_) {
    outOfSync_ = true;
    return RingTensor(shape);
  }
  RingTensor t(shape);
  sourceLeft_ -= n;
  correctionWords_ += n;
  if (n == 0 || streamError_)
    return t;
  if (llvm::Error e = source_(t.vec()))
    streamError_ = llvm::toString(std::move(e));
  return t;
}

Dealt Corr::random(llvm::ArrayRef<int64_t> shape) {
  Dealt d;
  for (int p = 0; p < 2; ++p)
    if (prg_[p])
      d.s[p] = prg_[p]->tensor(shape);
  return d;
}

Dealt Corr::randomBits(llvm::ArrayRef<int64_t> shape) {
  // XOR shares of uniform words are drawn exactly like additive ones.
  return random(shape);
}

RingTensor Corr::privateRandom(int owner, llvm::ArrayRef<int64_t> shape) {
  assert((owner == 0 || owner == 1) && "owner must be party 0 or 1");
  if (!prg_[owner])
    return RingTensor();
  return prg_[owner]->tensor(shape);
}

namespace {

RingTensor xorTensors(const RingTensor &a, const RingTensor &b) {
  assert(a.shape() == b.shape() && "shares differ in shape");
  RingTensor v(a.shape());
  for (int64_t i = 0; i < v.size(); ++i)
    v[i] = a[i] ^ b[i];
  return v;
}

} // namespace

Dealt Corr::dealShares(llvm::ArrayRef<int64_t> shape,
                       llvm::function_ref<RingTensor()> value, bool xorShares) {
  Dealt d;
  if (role_ == Role::P1) {
    d.s[1] = takeCorrection(shape);
    return d;
  }
  d.s[0] = prg_[0]->tensor(shape);
  if (role_ == Role::Dealer) {
    RingTensor v = value();
    assert(v.shape() == d.s[0].shape() && "dealt value has the wrong shape");
    d.s[1] = xorShares ? xorTensors(v, d.s[0]) : sub(v, d.s[0]);
    correctionWords_ += d.s[1].size();
    if (!streamError_ && d.s[1].size() > 0)
      if (llvm::Error e = sink_(d.s[1].vec()))
        streamError_ = llvm::toString(std::move(e));
  }
  return d;
}

Dealt Corr::shareOf(llvm::ArrayRef<int64_t> shape,
                    llvm::function_ref<RingTensor()> value) {
  return dealShares(shape, value, /*xorShares=*/false);
}

Dealt Corr::xorShareOf(llvm::ArrayRef<int64_t> shape,
                       llvm::function_ref<RingTensor()> value) {
  return dealShares(shape, value, /*xorShares=*/true);
}

RingTensor Corr::value(const Dealt &d) { return add(d.s[0], d.s[1]); }

RingTensor Corr::xorValue(const Dealt &d) { return xorTensors(d.s[0], d.s[1]); }
