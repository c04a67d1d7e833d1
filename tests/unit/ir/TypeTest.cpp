//===- tests/unit/ir/TypeTest.cpp - TensorType text and broadcasting ------===//

#include "ir/Type.h"

#include <catch2/catch.hpp>

using namespace mpc;

TEST_CASE("TensorType prints its textual form", "[ir][type]") {
  CHECK(TensorType({1, 128, 768}, ElemType::Fixed, Vis::Shared, -1, 16).str() ==
        "shared<1x128x768, fx16>");
  CHECK(TensorType({30, 16}, ElemType::F32, Vis::Private, 0).str() ==
        "private0<30x16, f32>");
  CHECK(TensorType({}, ElemType::I64).str() == "public<i64>");
  CHECK(TensorType({1, 8}, ElemType::I64, Vis::Private, 1).str() ==
        "private1<1x8, i64>");
  CHECK(TensorType({2}, ElemType::Bool).str() == "public<2, bool>");
}

TEST_CASE("TensorType equality and derived types", "[ir][type]") {
  TensorType a({2, 3}, ElemType::F32, Vis::Private, 1);
  CHECK(a.numElements() == 6);
  CHECK(TensorType({}, ElemType::F32).numElements() == 1);
  CHECK(a.isPrivateTo(1));
  CHECK(!a.isPrivateTo(0));
  CHECK(a.withShape({6}).shape == llvm::SmallVector<int64_t, 4>{6});
  TensorType s = a.withVis(Vis::Shared, 1);
  CHECK(s.vis == Vis::Shared);
  CHECK(s.owner == -1);
  CHECK(a != s);
  TensorType fx = a.withElem(ElemType::Fixed, 12);
  CHECK(fx.str() == "private1<2x3, fx12>");
  CHECK(fx != a.withElem(ElemType::Fixed, 16));
  // fracBits does not matter for non-fixed types.
  TensorType f1 = a, f2 = a;
  f2.fracBits = 7;
  CHECK(f1 == f2);
}

TEST_CASE("broadcastShapes follows numpy", "[ir][type]") {
  llvm::SmallVector<int64_t, 4> out;
  REQUIRE(broadcastShapes({1, 8, 32}, {32}, out));
  CHECK(out == llvm::SmallVector<int64_t, 4>{1, 8, 32});
  REQUIRE(broadcastShapes({4, 1, 3}, {2, 1}, out));
  CHECK(out == llvm::SmallVector<int64_t, 4>{4, 2, 3});
  REQUIRE(broadcastShapes({}, {5}, out));
  CHECK(out == llvm::SmallVector<int64_t, 4>{5});
  REQUIRE(broadcastShapes({0, 1}, {1, 3}, out));
  CHECK(out == llvm::SmallVector<int64_t, 4>{0, 3});
  CHECK(!broadcastShapes({2, 3}, {3, 2}, out));
  CHECK(!broadcastShapes({8}, {1, 7}, out));
}
