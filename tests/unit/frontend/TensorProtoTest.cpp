//===- tests/unit/frontend/TensorProtoTest.cpp - The TensorProto decoder --===//
//
// Reads ONNX TensorProto files written through the protobuf classes
// (raw_data and the typed fields, every element type the frontend reads),
// and checks that malformed ones are rejected with messages that name the
// file and the problem. The importer's initializers go through the same
// decoder (mpc::onnx::tensorFromProto).
//
//===----------------------------------------------------------------------===//

#include "frontend/TensorProto.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <string>

#include "tests/unit/TempFiles.h"

using namespace mpc;

using test::TempDir;
using test::writeBytes;

namespace {

std::string errorOf(llvm::Error e) { return llvm::toString(std::move(e)); }

/// The value of \p e, failing the test with the error message otherwise.
template <typename T> T ok(llvm::Expected<T> e) {
  if (!e)
    FAIL(llvm::toString(e.takeError()));
  return std::move(*e);
}
} // namespace

TEST_CASE("parseTensorProto reads bytes as readTensorProto reads the file",
          "[tensor][pb]") {
  ::onnx::TensorProto pb;
  pb.set_data_type(::onnx::TensorProto::INT64);
  pb.add_dims(2);
  pb.add_int64_data(7);
  pb.add_int64_data(-8);
  auto ints = ok(parseTensorProto(pb.SerializeAsString(), "mem.pb"));
  CHECK(ints.i == std::vector<int64_t>{7, -8});
}

TEST_CASE("readTensorProto reads raw and typed data", "[tensor][pb]") {
  TempDir dir("mpcc-pb-test");
  auto save = [&](const ::onnx::TensorProto &t, const std::string &name) {
    std::string p = dir.file(name);
    writeBytes(p, t.SerializeAsString());
    return p;
  };

  SECTION("float raw_data") {
    ::onnx::TensorProto t;
    t.set_data_type(::onnx::TensorProto::FLOAT);
    t.add_dims(2);
    t.add_dims(2);
    float v[4] = {1.5f, -2.f, 0.25f, 8.f};
    t.set_raw_data(std::string(reinterpret_cast<char *>(v), sizeof(v)));
    auto r = ok(readTensorFile(save(t, "a.pb")));
    CHECK(r.type == HostType::F32);
    CHECK(r.shape == std::vector<int64_t>{2, 2});
    CHECK(r.f == std::vector<double>{1.5, -2, 0.25, 8});
  }
  SECTION("typed fields") {
    ::onnx::TensorProto f;
    f.set_data_type(::onnx::TensorProto::FLOAT);
    f.add_dims(3);
    for (float x : {1.f, 2.f, 3.f})
      f.add_float_data(x);
    auto rf = ok(readTensorProto(save(f, "f.pb")));
    CHECK(rf.f == std::vector<double>{1, 2, 3});

    ::onnx::TensorProto d;
    d.set_data_type(::onnx::TensorProto::DOUBLE);
    d.add_dims(1);
    d.add_double_data(0.1);
    auto rd = ok(readTensorProto(save(d, "d.pb")));
    CHECK(rd.type == HostType::F64);
    CHECK(rd.f == std::vector<double>{0.1});

    ::onnx::TensorProto i64;
    i64.set_data_type(::onnx::TensorProto::INT64);
    i64.add_dims(2);
    i64.add_int64_data(-3);
    i64.add_int64_data(1LL << 40);
    auto ri = ok(readTensorProto(save(i64, "i.pb")));
    CHECK(ri.i == std::vector<int64_t>{-3, 1LL << 40});

    ::onnx::TensorProto i32;
    i32.set_data_type(::onnx::TensorProto::INT32);
    i32.add_dims(2);
    i32.add_int32_data(5);
    i32.add_int32_data(-6);
    auto r32 = ok(readTensorProto(save(i32, "i32.pb")));
    CHECK(r32.type == HostType::I32);
    CHECK(r32.i == std::vector<int64_t>{5, -6});

    ::onnx::TensorProto b;
    b.set_data_type(::onnx::TensorProto::BOOL);
    b.add_dims(3);
    for (int x : {1, 0, 1})
      b.add_int32_data(x);
    auto rb = ok(readTensorProto(save(b, "b.pb")));
    CHECK(rb.type == HostType::Bool);
    CHECK(rb.i == std::vector<int64_t>{1, 0, 1});
  }
  SECTION("float16 and the narrow integer types") {
    // float16 1.0, -2.5, 2^-24 (the smallest subnormal), raw and typed.
    const uint16_t halves[3] = {0x3c00, 0xc100, 0x0001};
    ::onnx::TensorProto h;
    h.set_data_type(::onnx::TensorProto::FLOAT16);
    h.add_dims(3);
    h.set_raw_data(std::string(reinterpret_cast<const char *>(halves), 6));
    auto rh = ok(readTensorProto(save(h, "h.pb")));
    CHECK(rh.type == HostType::F32);
    CHECK(rh.f == std::vector<double>{1.0, -2.5, std::ldexp(1.0, -24)});
    h.clear_raw_data();
    for (uint16_t x : halves)
      h.add_int32_data(x);
    CHECK(ok(readTensorProto(save(h, "ht.pb"))).f == rh.f);

    ::onnx::TensorProto i8;
    i8.set_data_type(::onnx::TensorProto::INT8);
    i8.add_dims(2);
    i8.set_raw_data(std::string("\x80\x7f", 2));
    auto r8 = ok(readTensorProto(save(i8, "i8.pb")));
    CHECK(r8.type == HostType::I64);
    CHECK(r8.i == std::vector<int64_t>{-128, 127});

    ::onnx::TensorProto u32;
    u32.set_data_type(::onnx::TensorProto::UINT32);
    u32.add_dims(1);
    u32.add_uint64_data(4000000000u);
    CHECK(ok(readTensorProto(save(u32, "u32.pb"))).i ==
          std::vector<int64_t>{4000000000});
  }
  SECTION("errors") {
    ::onnx::TensorProto t;
    t.set_data_type(::onnx::TensorProto::INT64);
    t.add_dims(4);
    t.set_raw_data(std::string(16, '\0'));
    std::string p = save(t, "short.pb");
    CHECK(errorOf(readTensorProto(p).takeError()) ==
          p + ": truncated data: dims say 4 elements, raw_data has 2");

    ::onnx::TensorProto str;
    str.set_data_type(::onnx::TensorProto::STRING);
    str.add_dims(1);
    str.add_string_data("x");
    std::string sp = save(str, "s.pb");
    CHECK(errorOf(readTensorProto(sp).takeError()) ==
          sp + ": unsupported tensor element type STRING");

    ::onnx::TensorProto extra;
    extra.set_data_type(::onnx::TensorProto::FLOAT);
    extra.add_dims(1);
    extra.add_float_data(1);
    extra.add_float_data(2);
    std::string ep = save(extra, "extra.pb");
    CHECK(errorOf(readTensorProto(ep).takeError()) ==
          ep + ": too much data: dims say 1 elements, float_data has 2");

    ::onnx::TensorProto ext;
    ext.set_data_type(::onnx::TensorProto::FLOAT);
    ext.set_data_location(::onnx::TensorProto::EXTERNAL);
    CHECK_THAT(errorOf(readTensorProto(save(ext, "ext.pb")).takeError()),
               Catch::Contains("ext.pb: stores its data in an external file"));

    // raw_data of 2^61 x 8 int64 elements would be 2^67 bytes: the product
    // of size and count overflows; the count is compared instead.
    ::onnx::TensorProto big;
    big.set_data_type(::onnx::TensorProto::INT64);
    big.add_dims(int64_t(1) << 61);
    big.add_dims(8);
    big.set_raw_data("");
    std::string bp = save(big, "big.pb");
    CHECK(errorOf(readTensorProto(bp).takeError()) ==
          bp + ": invalid shape 2305843009213693952x8: a dimension is "
               "negative or the element count overflows");
    ::onnx::TensorProto wraps;
    wraps.set_data_type(::onnx::TensorProto::INT64);
    wraps.add_dims(int64_t(1) << 60);
    wraps.set_raw_data("");
    std::string wp = save(wraps, "wraps.pb");
    CHECK(errorOf(readTensorProto(wp).takeError()) ==
          wp + ": truncated data: dims say 1152921504606846976 elements, "
               "raw_data has 0");

    std::string junk = dir.file("junk.pb");
    writeBytes(junk, "\xff\xff\xff\xff garbage");
    CHECK_THAT(errorOf(readTensorProto(junk).takeError()),
               Catch::Contains("not a valid ONNX TensorProto"));
    CHECK_THAT(errorOf(readTensorFile(dir.file("x.csv")).takeError()),
               Catch::Contains("unknown tensor file type '.csv'"));
  }
}
