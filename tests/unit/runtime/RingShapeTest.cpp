//===- tests/unit/runtime/RingShapeTest.cpp - Data movement ops -----------===//
//
// Transpose, Slice, Concat, Gather and ReduceSum against index arithmetic
// written out by hand, with ONNX semantics (default perm, negative steps
// and indices, keepdims).
//
//===----------------------------------------------------------------------===//

#include "runtime/Ring.h"

#include <catch2/catch.hpp>

#include <numeric>

using namespace mpc::rt;

namespace {

/// 0, 1, 2, ... in \p shape.
RingTensor iota(llvm::ArrayRef<int64_t> shape) {
  RingTensor t(shape);
  std::iota(t.vec().begin(), t.vec().end(), u64(0));
  return t;
}

} // namespace

TEST_CASE("transpose", "[shape]") {
  RingTensor a = iota({2, 3});
  RingTensor t = transpose(a, {1, 0});
  CHECK(t.shape() == Shape{3, 2});
  CHECK(t.vec() == std::vector<u64>{0, 3, 1, 4, 2, 5});
  CHECK(transpose(a, {}).vec() == t.vec()); // ONNX default: reverse.

  // The attention-head permutation [b, s, h, d] -> [b, h, s, d].
  RingTensor x = iota({2, 3, 4, 5});
  RingTensor y = transpose(x, {0, 2, 1, 3});
  REQUIRE(y.shape() == Shape{2, 4, 3, 5});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t s = 0; s < 3; ++s)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t d = 0; d < 5; ++d)
          REQUIRE(y[((b * 4 + h) * 3 + s) * 5 + d] ==
                  x[((b * 3 + s) * 4 + h) * 5 + d]);
  RingTensor z = transpose(x, {3, 1, 0, 2});
  REQUIRE(z.shape() == Shape{5, 3, 2, 4});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t s = 0; s < 3; ++s)
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t d = 0; d < 5; ++d)
          REQUIRE(z[((d * 3 + s) * 2 + b) * 4 + h] ==
                  x[((b * 3 + s) * 4 + h) * 5 + d]);
}

TEST_CASE("slice", "[shape]") {
  RingTensor a = iota({4, 5});
  RingTensor s = slice(a, {1, 0}, {3, 5}, {0, 1}, {1, 2});
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.vec() == std::vector<u64>{5, 7, 9, 10, 12, 14});
  // Axes and steps default; a single axis given as negative.
  CHECK(slice(a, {2}, {4}, {}, {}).vec() == slice(a, {2}, {4}, {0}, {1}).vec());
  CHECK(slice(a, {1}, {3}, {-1}, {1}).vec() ==
        std::vector<u64>{1, 2, 6, 7, 11, 12, 16, 17});
  // Negative step: reverse rows 3..1 (end -1 would mean "through row 0").
  RingTensor r = slice(a, {3}, {0}, {0}, {-1});
  CHECK(r.shape() == Shape{3, 5});
  CHECK(r[0] == 15);
  CHECK(r[5] == 10);
  CHECK(slice(a, {3}, {-1}, {0}, {-2}).vec() ==
        std::vector<u64>{15, 16, 17, 18, 19, 5, 6, 7, 8, 9});
  // Empty slice.
  CHECK(slice(a, {2}, {2}, {1}, {1}).shape() == Shape{4, 0});
}

TEST_CASE("concat", "[shape]") {
  RingTensor a = iota({2, 2}), b = iota({2, 3});
  RingTensor c = concat({&a, &b}, 1);
  CHECK(c.shape() == Shape{2, 5});
  CHECK(c.vec() == std::vector<u64>{0, 1, 0, 1, 2, 2, 3, 3, 4, 5});
  RingTensor d = iota({1, 2});
  CHECK(concat({&a, &d}, 0).vec() == std::vector<u64>{0, 1, 2, 3, 0, 1});
  CHECK(concat({&a, &d}, -2).shape() == Shape{3, 2});
}

TEST_CASE("gather", "[shape]") {
  RingTensor emb = iota({5, 3}); // An embedding table.
  RingTensor g = gather(emb, {4, 0, 4, -1}, {2, 2}, 0);
  CHECK(g.shape() == Shape{2, 2, 3});
  CHECK(g.vec() ==
        std::vector<u64>{12, 13, 14, 0, 1, 2, 12, 13, 14, 12, 13, 14});
  RingTensor cols = gather(emb, {2, 0}, {2}, 1);
  CHECK(cols.shape() == Shape{5, 2});
  CHECK(cols[0] == 2);
  CHECK(cols[1] == 0);
  CHECK(cols[9] == 12);
  // A scalar index removes the axis.
  CHECK(gather(emb, {1}, {}, 0).shape() == Shape{3});
}

TEST_CASE("reduceSum", "[shape]") {
  RingTensor a = iota({2, 3, 4});
  RingTensor last = reduceSum(a, {2}, /*keepDims=*/true);
  CHECK(last.shape() == Shape{2, 3, 1});
  CHECK(last.vec() == std::vector<u64>{6, 22, 38, 54, 70, 86});
  RingTensor mid = reduceSum(a, {1}, false);
  CHECK(mid.shape() == Shape{2, 4});
  CHECK(mid.vec() == std::vector<u64>{12, 15, 18, 21, 48, 51, 54, 57});
  RingTensor outer = reduceSum(a, {0, 2}, false);
  CHECK(outer.shape() == Shape{3});
  CHECK(outer.vec() == std::vector<u64>{60, 92, 124});
  RingTensor all = reduceSum(a, {0, 1, 2}, true);
  CHECK(all.shape() == Shape{1, 1, 1});
  CHECK(all[0] == 276);
  // Wrap-around: sums are mod 2^64.
  RingTensor w({2}, {~u64(0), 2});
  CHECK(reduceSum(w, {0}, false)[0] == 1);
}
