//===- support/Npz.cpp - NumPy .npz archives ------------------------------===//
//
// A zip reader for exactly what NumPy writes: the central directory is the
// index (numpy.savez writes zip64 records and may leave sizes out of the
// local headers), each member is stored (method 0) or deflated (method 8,
// raw deflate through zlib) and its CRC-32 is checked. Every offset and
// size read from the file is checked against the file before it is used:
// a truncated or hostile archive is an error, never a read out of bounds.
//
//===----------------------------------------------------------------------===//

#include "support/Npz.h"

#include "support/Diag.h"

#include <zlib.h>

#include <climits>
#include <cstring>

using namespace mpc;

namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndLocator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kDirectoryEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint16_t kZip64ExtraId = 0x0001;

/// Little-endian reads at checked offsets of one archive.
struct Bytes {
  llvm::StringRef data;
  bool has(uint64_t off, uint64_t n) const {
    return off <= data.size() && n <= data.size() - off;
  }
  uint64_t le(uint64_t off, int n) const {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k)
      v = v << 8 | uint8_t(data[off + k]);
    return v;
  }
};

struct Member {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, size = 0, localOffset = 0;
};

llvm::Error bad(llvm::StringRef archive, llvm::StringRef why) {
  return error("{}: not a readable .npz archive ({})", archive.str(),
               why.str());
}

/// The central directory: its offset and entry count (zip64 if needed).
llvm::Expected<std::pair<uint64_t, uint64_t>> findDirectory(const Bytes &b,
                                                            llvm::StringRef n) {
  if (b.data.size() < 22)
    return bad(n, "too short for a zip archive");
  // The end record is the last 22 bytes plus a comment of at most 64 KiB.
  uint64_t lowest = b.data.size() > 22 + 65535 ? b.data.size() - 22 - 65535 : 0;
  uint64_t end = b.data.size() - 22;
  while (b.le(end, 4) != kEndOfDirectory) {
    if (end == lowest)
      return bad(n, "no end-of-central-directory record");
    --end;
  }
  uint64_t count = b.le(end + 10, 2), offset = b.le(end + 16, 4);
  if (count == 0xffff || offset == 0xffffffff) {
    if (end < 20 || b.le(end - 20, 4) != kZip64EndLocator)
      return bad(n, "zip64 sizes without a zip64 locator");
    uint64_t z = b.le(end - 20 + 8, 8);
    if (!b.has(z, 56) || b.le(z, 4) != kZip64End)
      return bad(n, "the zip64 end record is missing or truncated");
    count = b.le(z + 32, 8);
    offset = b.le(z + 48, 8);
  }
  return std::make_pair(offset, count);
}

/// Reads the directory entry at \p off, advancing it past the entry.
llvm::Expected<Member> readEntry(const Bytes &b, uint64_t &off,
                                 llvm::StringRef n) {
  if (!b.has(off, 46) || b.le(off, 4) != kDirectoryEntry)
    return bad(n, "a central directory entry is missing or truncated");
  Member m;
  m.flags = b.le(off + 8, 2);
  m.method = b.le(off + 10, 2);
  m.crc = b.le(off + 16, 4);
  m.compressed = b.le(off + 20, 4);
  m.size = b.le(off + 24, 4);
  uint64_t nameLen = b.le(off + 28, 2), extraLen = b.le(off + 30, 2),
           commentLen = b.le(off + 32, 2);
  m.localOffset = b.le(off + 42, 4);
  if (!b.has(off + 46, nameLen + extraLen + commentLen))
    return bad(n, "a central directory entry is truncated");
  m.name = b.data.substr(off + 46, nameLen).str();
  // Zip64: the 8-byte values replace, in this order, the 32-bit fields
  // that hold 0xffffffff.
  uint64_t x = off + 46 + nameLen, xEnd = x + extraLen;
  while (x + 4 <= xEnd) {
    uint64_t id = b.le(x, 2), len = b.le(x + 2, 2);
    if (x + 4 + len > xEnd)
      return bad(n,
                 fmt::format("member '{}': a truncated extra field", m.name));
    if (id == kZip64ExtraId) {
      uint64_t p = x + 4, pEnd = p + len;
      for (uint64_t *field : {&m.size, &m.compressed, &m.localOffset}) {
        if (*field != 0xffffffff)
          continue;
        if (p + 8 > pEnd)
          return bad(n,
                     fmt::format("member '{}': a short zip64 field", m.name));
        *field = b.le(p, 8);
        p += 8;
      }
    }
    x += 4 + len;
  }
  off += 46 + nameLen + extraLen + commentLen;
  return m;
}

/// The uncompressed bytes of \p m, CRC-checked.
llvm::Expected<std::string> extract(const Bytes &b, const Member &m,
                                    llvm::StringRef n) {
  auto fail = [&](llvm::StringRef why) {
    return error("{}: member '{}': {}", n.str(), m.name, why.str());
  };
  if (m.flags & 1)
    return fail("encrypted members are not supported");
  if (!b.has(m.localOffset, 30) || b.le(m.localOffset, 4) != kLocalHeader)
    return fail("its local header is missing or truncated");
  uint64_t data = m.localOffset + 30 + b.le(m.localOffset + 26, 2) +
                  b.le(m.localOffset + 28, 2);
  if (!b.has(data, m.compressed))
    return fail("its data runs past the end of the archive");
  llvm::StringRef packed = b.data.substr(data, m.compressed);
  std::string out;
  if (m.method == 0) {
    if (m.size != m.compressed)
      return fail("a stored member whose sizes differ");
    out = packed.str();
  } else if (m.method == 8) {
    // Deflate expands at most about 1032:1; a larger claimed size is a
    // corrupt header, not something to allocate.
    if (m.size / 1032 > m.compressed + 1)
      return fail(fmt::format("claims {} bytes from {} compressed", m.size,
                              m.compressed));
    out.resize(m.size);
    z_stream z;
    std::memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
      return fail("zlib cannot start inflating");
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(packed.data()));
    z.avail_in = uInt(std::min<uint64_t>(packed.size(), UINT_MAX));
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = uInt(std::min<uint64_t>(out.size(), UINT_MAX));
    int rc = inflate(&z, Z_FINISH);
    uint64_t produced = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || produced != m.size)
      return fail(fmt::format("corrupt deflate data (zlib: {})",
                              rc == Z_STREAM_END ? "wrong size"
                              : z.msg            ? z.msg
                                                 : "truncated"));
  } else {
    return fail(fmt::format("compression method {} (only stored and deflate, "
                            "what numpy writes)",
                            m.method));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t p = 0; p < out.size(); p += UINT_MAX)
    crc = crc32(crc, reinterpret_cast<const Bytef *>(out.data() + p),
                uInt(std::min<uint64_t>(out.size() - p, UINT_MAX)));
  if (crc != m.crc)
    return fail("CRC-32 mismatch (the archive is corrupt)");
  return out;
}

} // namespace

llvm::Expected<NpzArrays> mpc::parseNpz(llvm::StringRef bytes,
                                        llvm::StringRef name) {
  Bytes b{bytes};
  auto dir = findDirectory(b, name);
  if (!dir)
    return dir.takeError();
  auto [off, count] = *dir;
  // Each entry takes at least 46 bytes: a bigger count is corrupt.
  if (count > bytes.size() / 46)
    return bad(name, fmt::format("the directory claims {} members", count));
  NpzArrays arrays;
  for (uint64_t k = 0; k < count; ++k) {
    auto m = readEntry(b, off, name);
    if (!m)
      return m.takeError();
    llvm::StringRef member(m->name);
    if (!member.consume_back(".npy"))
      return error("{}: member '{}' is not a .npy array", name.str(), m->name);
    for (const auto &[have, t] : arrays)
      if (have == member)
        return error("{}: the array '{}' is stored twice", name.str(),
                     member.str());
    auto data = extract(b, *m, name);
    if (!data)
      return data.takeError();
    auto t = parseNpy(*data, name.str() + ": member " + m->name);
    if (!t)
      return t.takeError();
    arrays.emplace_back(member.str(), std::move(*t));
  }
  return arrays;
}

llvm::Expected<NpzArrays> mpc::readNpz(llvm::StringRef path) {
  auto buf = readFileBytes(path);
  if (!buf)
    return buf.takeError();
  return parseNpz((*buf)->getBuffer(), path);
}
