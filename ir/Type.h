//===- ir/Type.h - Tensor types: shape, element, scale, visibility -*- C++ -*-//
//
// Every IR value has a TensorType: a static shape, an element type, a
// fixed-point scale (fractional bits, once scales are assigned) and a
// visibility: who may see the value in the clear.
//
// Textual form:  shared<1x128x768, fx16>   private0<30x16, f32>   public<i64>
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>

namespace mpc {

/// Element type. Fixed is a fixed-point number in the ring Z_2^64 with
/// TensorType::fracBits fractional bits.
enum class ElemType : uint8_t { F32, I64, Bool, Fixed };

/// Who sees a value in the clear (DESIGN.md §4). Private values belong to
/// TensorType::owner: 0 = model owner (weights), 1 = client (inputs).
enum class Vis : uint8_t { Public, Private, Shared };

struct TensorType {
  llvm::SmallVector<int64_t, 4> shape;
  ElemType elem = ElemType::F32;
  int fracBits = 0; ///< Only meaningful for ElemType::Fixed.
  Vis vis = Vis::Public;
  int owner = -1; ///< 0 or 1 when vis == Private, else -1.

  TensorType() = default;
  TensorType(llvm::ArrayRef<int64_t> shape, ElemType elem,
             Vis vis = Vis::Public, int owner = -1, int fracBits = 0)
      : shape(shape.begin(), shape.end()), elem(elem), fracBits(fracBits),
        vis(vis), owner(owner) {}

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t numElements() const;
  bool isPrivateTo(int party) const {
    return vis == Vis::Private && owner == party;
  }
  /// Same type with another shape / visibility / element.
  TensorType withShape(llvm::ArrayRef<int64_t> s) const;
  TensorType withVis(Vis v, int owner = -1) const;
  TensorType withElem(ElemType e, int fracBits = 0) const;

  bool operator==(const TensorType &o) const;
  bool operator!=(const TensorType &o) const { return !(*this == o); }

  /// "shared<1x128x768, fx16>".
  std::string str() const;
};

/// "f32", "i64", "bool", "fx16" (needs fracBits).
std::string elemTypeStr(ElemType e, int fracBits);
/// "public", "private0", "private1", "shared".
std::string visStr(Vis v, int owner);

/// Numpy broadcasting of two shapes; false if incompatible.
bool broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b,
                     llvm::SmallVectorImpl<int64_t> &out);

} // namespace mpc
