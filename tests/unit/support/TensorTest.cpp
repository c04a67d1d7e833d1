//===- tests/unit/support/TensorTest.cpp - .npy readers and writers -------===//
//
// Round trips every .npy dtype, and checks that malformed files (truncated,
// Fortran order, big-endian, bad magic) are rejected with messages that name
// the file and the problem. (.pb: tests/unit/frontend/TensorProtoTest.cpp.)
//
//===----------------------------------------------------------------------===//

#include "support/Tensor.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <catch2/catch.hpp>

#include <climits>
#include <cstring>
#include <fstream>
#include <string>

#include "tests/unit/TempFiles.h"

using namespace mpc;

using test::TempDir;
using test::writeBytes;

namespace {

std::string readBytes(const std::string &path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), {});
}

/// A v1/v2/v3 .npy file with the given header dict and payload.
std::string npyBytes(int major, const std::string &dict,
                     const std::string &payload) {
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  std::string h = dict + "\n";
  if (major == 1) {
    out += static_cast<char>(h.size() & 0xff);
    out += static_cast<char>(h.size() >> 8);
  } else {
    for (int k = 0; k < 4; ++k)
      out += static_cast<char>((h.size() >> (8 * k)) & 0xff);
  }
  return out + h + payload;
}

std::string errorOf(llvm::Error e) { return llvm::toString(std::move(e)); }

/// The value of \p e, failing the test with the error message otherwise.
template <typename T> T ok(llvm::Expected<T> e) {
  if (!e)
    FAIL(llvm::toString(e.takeError()));
  return std::move(*e);
}
} // namespace

TEST_CASE("shapeStr", "[tensor]") {
  CHECK(shapeStr({1, 128, 768}) == "1x128x768");
  CHECK(shapeStr({}) == "scalar");
  CHECK(shapeStr({0}) == "0");
}

TEST_CASE("npy round trip for every dtype", "[tensor][npy]") {
  TempDir dir("mpcc-tensor-test");
  std::vector<HostTensor> cases = {
      HostTensor::floats({2, 3}, {1.5, -2.25, 0, 3e-8, 1e30, -0.0}),
      HostTensor::floats({4}, {0.1, -1.0 / 3, 1e-300, 12345.678},
                         HostType::F64),
      HostTensor::ints({1, 8}, {101, 7592, 2003, 1037, 3793, 2154, 102, 0}),
      HostTensor::ints({3}, {-5, 0, 2147483647}, HostType::I32),
      HostTensor::ints({2, 2}, {1, 0, 0, 1}, HostType::Bool),
      HostTensor::floats({}, {42.0}),
      HostTensor::ints({0, 4}, {}),
  };
  for (const HostTensor &t : cases) {
    std::string p =
        dir.file(std::string("t_") + hostTypeName(t.type).str() + ".npy");
    REQUIRE(!writeNpy(p, t));
    auto back = ok(readNpy(p));
    CHECK(back.type == t.type);
    CHECK(back.shape == t.shape);
    if (t.type == HostType::F32) {
      REQUIRE(back.f.size() == t.f.size());
      for (size_t k = 0; k < t.f.size(); ++k)
        CHECK(back.f[k] == static_cast<double>(static_cast<float>(t.f[k])));
    } else {
      CHECK(back.f == t.f);
      CHECK(back.i == t.i);
    }
    // The data starts on a 64-byte boundary, as numpy writes it.
    std::string bytes = readBytes(p);
    size_t headerLen = static_cast<unsigned char>(bytes[8]) |
                       static_cast<unsigned char>(bytes[9]) << 8;
    CHECK((10 + headerLen) % 64 == 0);
  }
}

TEST_CASE("npy reads v2 and v3 headers and double quotes", "[tensor][npy]") {
  TempDir dir("mpcc-tensor-test");
  std::string payload(16, '\0');
  int64_t vals[2] = {7, -9};
  std::memcpy(payload.data(), vals, 16);
  for (int major : {2, 3}) {
    std::string p = dir.file("v" + std::to_string(major) + ".npy");
    writeBytes(p, npyBytes(major,
                           "{\"descr\": \"<i8\", \"fortran_order\": False, "
                           "\"shape\": (2,)}",
                           payload));
    auto t = ok(readNpy(p));
    CHECK(t.type == HostType::I64);
    CHECK(t.shape == std::vector<int64_t>{2});
    CHECK(t.i == std::vector<int64_t>{7, -9});
  }
}

TEST_CASE("npy rejects malformed files with clear errors", "[tensor][npy]") {
  TempDir dir("mpcc-tensor-test");
  std::string p = dir.file("x.npy");
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, "
                         "'shape': (128,), }";

  SECTION("truncated data") {
    writeBytes(p, npyBytes(1, ok, std::string(400, '\0')));
    std::string msg = errorOf(readNpy(p).takeError());
    CHECK(msg == p + ": truncated data: header says 128 elements, file has "
                     "100");
  }
  SECTION("trailing bytes") {
    writeBytes(p, npyBytes(1, ok, std::string(513, '\0')));
    CHECK_THAT(errorOf(readNpy(p).takeError()),
               Catch::Contains("1 unexpected bytes after the 128 elements"));
  }
  SECTION("Fortran order") {
    writeBytes(p, npyBytes(1,
                           "{'descr': '<f4', 'fortran_order': True, "
                           "'shape': (2, 2), }",
                           std::string(16, '\0')));
    std::string msg = errorOf(readNpy(p).takeError());
    CHECK_THAT(msg, Catch::StartsWith(p + ": Fortran-order"));
  }
  SECTION("big-endian") {
    writeBytes(p, npyBytes(1,
                           "{'descr': '>f4', 'fortran_order': False, "
                           "'shape': (2,), }",
                           std::string(8, '\0')));
    CHECK_THAT(errorOf(readNpy(p).takeError()),
               Catch::Contains("big-endian data ('>f4') is not supported"));
  }
  SECTION("unsupported dtype") {
    writeBytes(p, npyBytes(1,
                           "{'descr': '<f2', 'fortran_order': False, "
                           "'shape': (2,), }",
                           std::string(4, '\0')));
    CHECK_THAT(errorOf(readNpy(p).takeError()),
               Catch::Contains("unsupported dtype '<f2'"));
  }
  SECTION("bad magic") {
    writeBytes(p, "PK\x03\x04 this is a zip");
    CHECK(errorOf(readNpy(p).takeError()) ==
          p + ": not a .npy file (bad magic)");
  }
  SECTION("truncated header") {
    std::string bytes = npyBytes(1, ok, "");
    writeBytes(p, bytes.substr(0, 30));
    CHECK_THAT(errorOf(readNpy(p).takeError()),
               Catch::Contains("truncated .npy header"));
  }
  SECTION("malformed header dict") {
    writeBytes(p, npyBytes(1, "{'descr': '<f4', 'shape': (2,), }",
                           std::string(8, '\0')));
    CHECK_THAT(errorOf(readNpy(p).takeError()),
               Catch::Contains("malformed .npy header"));
  }
  SECTION("missing file") {
    CHECK_THAT(errorOf(readNpy(dir.file("nope.npy")).takeError()),
               Catch::Contains("nope.npy: cannot read"));
  }
  SECTION("header that ends inside the shape") {
    // Found by fuzz/NpyFuzz.cpp: the shape's digits ran to the end of the
    // header and the parser stepped past it.
    writeBytes(p, npyBytes(1,
                           "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (2",
                           std::string(8, '\0')));
    CHECK_THAT(errorOf(readNpy(p).takeError()),
               Catch::Contains("malformed .npy header (expected ',' in "
                               "shape)"));
  }
  SECTION("element count that overflows") {
    // 2^62 x 4 elements: the product wraps to 0 in int64 arithmetic, which
    // an empty payload would have matched.
    writeBytes(p, npyBytes(1,
                           "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (4611686018427387904, 4), }",
                           ""));
    CHECK(errorOf(readNpy(p).takeError()) ==
          p + ": invalid shape 4611686018427387904x4: a dimension is "
              "negative or the element count overflows");
  }
}

TEST_CASE("checkedNumElements", "[tensor]") {
  CHECK(checkedNumElements({}) == 1);
  CHECK(checkedNumElements({2, 3, 4}) == 24);
  CHECK(checkedNumElements({5, 0, 7}) == 0);
  CHECK(checkedNumElements({INT64_MAX}) == INT64_MAX);
  CHECK(!checkedNumElements({-1, 2}));
  CHECK(!checkedNumElements({int64_t(1) << 32, int64_t(1) << 31}));
  // Overflowing non-zero dimensions are rejected even beside a zero one.
  CHECK(!checkedNumElements({0, int64_t(1) << 40, int64_t(1) << 40}));
}

TEST_CASE("parseNpy reads bytes as readNpy reads the file", "[tensor][npy]") {
  HostTensor t = HostTensor::floats({2}, {1.5, -2});
  TempDir dir("mpcc-tensor-test");
  std::string p = dir.file("t.npy");
  REQUIRE(errorOf(writeNpy(p, t)).empty());
  auto fromBytes = ok(parseNpy(readBytes(p), "mem.npy"));
  CHECK(fromBytes.shape == t.shape);
  CHECK(fromBytes.f == t.f);
  CHECK_THAT(errorOf(parseNpy("junk", "mem.npy").takeError()),
             Catch::StartsWith("mem.npy: not a .npy file"));
}

TEST_CASE("writeNpy is atomic and checks element counts", "[tensor][npy]") {
  TempDir dir("mpcc-tensor-test");
  std::string p = dir.file("y.npy");
  HostTensor bad = HostTensor::floats({2, 2}, {1, 2, 3});
  std::string msg = errorOf(writeNpy(p, bad));
  CHECK_THAT(msg, Catch::Contains("shape 2x2 needs 4 elements, tensor has 3"));
  CHECK(!llvm::sys::fs::exists(p));
  // Writing into a directory that does not exist fails without leftovers.
  CHECK(static_cast<bool>(
      writeNpy(dir.file("missing/y.npy"), HostTensor::floats({1}, {1}))));
  // Overwriting replaces the old file entirely and leaves no temp files.
  REQUIRE(!writeNpy(p, HostTensor::floats({3}, {1, 2, 3})));
  REQUIRE(!writeNpy(p, HostTensor::floats({1}, {9})));
  auto t = ok(readNpy(p));
  CHECK(t.f == std::vector<double>{9});
  std::error_code ec;
  int entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir.path, ec), end;
       it != end && !ec; it.increment(ec))
    ++entries;
  CHECK(entries == 1);
}

TEST_CASE("parseNameEqualsValue", "[tensor]") {
  auto kv = ok(parseNameEqualsValue("input_ids=ids.npy", "--input"));
  CHECK(kv.first == "input_ids");
  CHECK(kv.second == "ids.npy");
  auto eq = ok(parseNameEqualsValue("a=b=c", "--input"));
  CHECK(eq.second == "b=c");
  for (const char *bad : {"ids.npy", "=x.npy", "x="}) {
    auto r = parseNameEqualsValue(bad, "--input");
    REQUIRE(!r);
    CHECK(errorOf(r.takeError()) ==
          std::string("--input expects NAME=FILE, got '") + bad + "'");
  }
}
