//===- tests/unit/support/NpzTest.cpp - .npz archives ---------------------===//
//
// Archives built here byte by byte, as numpy.savez (stored, zip64 extra
// fields) and numpy.savez_compressed (deflate) write them, read back; and
// damaged ones (every truncation, a wrong CRC, a method numpy never
// writes, a member that is not .npy, a name twice, an absurd count)
// rejected with a message naming the archive.
//
//===----------------------------------------------------------------------===//

#include "support/Npz.h"

#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/TempFiles.h"

using namespace mpc;

namespace {

void put(std::string &s, uint64_t v, int n) {
  for (int k = 0; k < n; ++k)
    s += char((v >> (8 * k)) & 0xff);
}

/// A .npy file (v1) holding \p v as int64 of shape [v.size()].
std::string npy(const std::vector<int64_t> &v) {
  std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (" +
                     std::to_string(v.size()) + ",), }";
  while ((10 + dict.size() + 1) % 64)
    dict += ' ';
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  put(out, dict.size(), 2);
  out += dict;
  for (int64_t x : v)
    put(out, uint64_t(x), 8);
  return out;
}

std::string deflateRaw(const std::string &in) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) ==
          Z_OK);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef *>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Entry {
  std::string name, data;
  uint16_t method = 0; ///< 0 stored, 8 deflate, else written as stored.
  bool zip64 = false;  ///< Sizes and offset in a zip64 extra field.
  int32_t crcDelta = 0;
};

/// A zip archive of \p entries (local headers, central directory, end).
std::string zip(const std::vector<Entry> &entries) {
  std::string out, dir;
  for (const Entry &e : entries) {
    std::string packed = e.method == 8 ? deflateRaw(e.data) : e.data;
    uint32_t crc =
        uint32_t(crc32(0, reinterpret_cast<const Bytef *>(e.data.data()),
                       uInt(e.data.size())) +
                 e.crcDelta);
    uint64_t offset = out.size();
    put(out, 0x04034b50, 4);
    put(out, 20, 2);
    put(out, 0, 2);
    put(out, e.method, 2);
    put(out, 0, 4);
    put(out, crc, 4);
    put(out, packed.size(), 4);
    put(out, e.data.size(), 4);
    put(out, e.name.size(), 2);
    put(out, 0, 2);
    out += e.name + packed;

    std::string extra;
    if (e.zip64) {
      put(extra, 0x0001, 2);
      put(extra, 24, 2);
      put(extra, e.data.size(), 8);
      put(extra, packed.size(), 8);
      put(extra, offset, 8);
    }
    uint64_t big = 0xffffffff;
    put(dir, 0x02014b50, 4);
    put(dir, 45, 2);
    put(dir, 45, 2);
    put(dir, 0, 2);
    put(dir, e.method, 2);
    put(dir, 0, 4);
    put(dir, crc, 4);
    put(dir, e.zip64 ? big : packed.size(), 4);
    put(dir, e.zip64 ? big : e.data.size(), 4);
    put(dir, e.name.size(), 2);
    put(dir, extra.size(), 2);
    put(dir, 0, 2);
    put(dir, 0, 2);
    put(dir, 0, 2);
    put(dir, 0, 4);
    put(dir, e.zip64 ? big : offset, 4);
    dir += e.name + extra;
  }
  uint64_t dirOffset = out.size();
  out += dir;
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, entries.size(), 2);
  put(out, entries.size(), 2);
  put(out, dir.size(), 4);
  put(out, dirOffset, 4);
  put(out, 0, 2);
  return out;
}

std::string message(llvm::Expected<NpzArrays> r) {
  REQUIRE(!r);
  return llvm::toString(r.takeError());
}

} // namespace

TEST_CASE("npz: stored, deflated and zip64 members read in order", "[npz]") {
  std::string a = npy({1, 2, 3}), b = npy({-7, 1LL << 40});
  for (bool zip64 : {false, true}) {
    std::string bytes =
        zip({{"labels.npy", a, 0, zip64}, {"input_ids.npy", b, 8, zip64}});
    auto r = parseNpz(bytes, "d.npz");
    REQUIRE(static_cast<bool>(r));
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].first == "labels");
    CHECK((*r)[0].second.i == std::vector<int64_t>{1, 2, 3});
    CHECK((*r)[1].first == "input_ids");
    CHECK((*r)[1].second.i == std::vector<int64_t>{-7, 1LL << 40});
  }
}

TEST_CASE("npz: a file on disk is read and named in errors", "[npz]") {
  test::TempDir dir("npz-test");
  std::string path = dir.file("d.npz");
  test::writeBytes(path, zip({{"x.npy", npy({4}), 8}}));
  auto r = readNpz(path);
  REQUIRE(static_cast<bool>(r));
  CHECK(r->at(0).second.i == std::vector<int64_t>{4});
  CHECK_THAT(message(readNpz(dir.file("none.npz"))),
             Catch::Contains("none.npz"));
}

TEST_CASE("npz: every truncation is an error naming the archive", "[npz]") {
  std::string bytes = zip({{"a.npy", npy({1, 2}), 8}, {"b.npy", npy({3}), 0}});
  for (size_t n = 0; n < bytes.size(); ++n)
    CHECK_THAT(message(parseNpz(bytes.substr(0, n), "t.npz")),
               Catch::StartsWith("t.npz"));
}

TEST_CASE("npz: damaged archives are rejected with the reason", "[npz]") {
  std::string x = npy({1, 2});
  CHECK_THAT(message(parseNpz(zip({{"x.npy", x, 8, false, 1}}), "d.npz")),
             Catch::Contains("member 'x.npy': CRC-32 mismatch"));
  CHECK_THAT(message(parseNpz(zip({{"x.npy", x, 12}}), "d.npz")),
             Catch::Contains("compression method 12"));
  CHECK_THAT(message(parseNpz(zip({{"x.txt", x}}), "d.npz")),
             Catch::Contains("member 'x.txt' is not a .npy array"));
  CHECK_THAT(message(parseNpz(zip({{"x.npy", x}, {"x.npy", x}}), "d.npz")),
             Catch::Contains("the array 'x' is stored twice"));
  CHECK_THAT(message(parseNpz(zip({{"x.npy", "not npy"}}), "d.npz")),
             Catch::Contains("d.npz: member x.npy"));
  // A directory count no archive of this size can hold.
  std::string bytes = zip({{"x.npy", x}});
  bytes[bytes.size() - 12] = char(0xff);
  bytes[bytes.size() - 11] = char(0xfe);
  CHECK_THAT(message(parseNpz(bytes, "d.npz")),
             Catch::Contains("the directory claims"));
  CHECK_THAT(message(parseNpz("PK\x03\x04 not a whole archive", "d.npz")),
             Catch::Contains("d.npz: not a readable .npz archive"));
}

TEST_CASE("npz: any one byte changed reads or fails, never out of bounds",
          "[npz]") {
  // Run under scripts/test-sanitize.sh, this is where ASan would see a
  // read past the buffer: every header field is damaged once.
  std::string bytes =
      zip({{"a.npy", npy({1, 2}), 8, true}, {"b.npy", npy({3}), 0}});
  int failures = 0;
  for (size_t k = 0; k < bytes.size(); ++k) {
    std::string bad = bytes;
    bad[k] = char(~bad[k]);
    auto r = parseNpz(bad, "f.npz");
    if (!r) {
      ++failures;
      CHECK_THAT(llvm::toString(r.takeError()), Catch::StartsWith("f.npz"));
    }
  }
  // The CRC covers every data byte and the headers every offset: most
  // changes are caught.
  CHECK(failures > int(bytes.size()) / 2);
}
