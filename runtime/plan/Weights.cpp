//===- runtime/plan/Weights.cpp - Party 0's weights file ------------------===//
//
// Streaming writer and reader of the raw weights format (Weights.h). The
// reader reads each tensor's words straight into its RingTensor, so peak
// memory is the weights themselves, and allocates no tensor that the bytes
// left in the file cannot fill; the writer goes through a temporary file
// that is renamed only once complete.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/Weights.h"
#include "support/Diag.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

using namespace mpc;
using namespace mpc::rt;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the weights file stores little-endian words as they are in "
              "memory");

namespace {

constexpr char kMagic[8] = {'M', 'P', 'C', 'C', 'W', 'G', 'T', '1'};
constexpr int64_t kMaxRank = 16;

bool writeAll(std::FILE *f, const void *p, size_t n) {
  return n == 0 || std::fwrite(p, 1, n, f) == n;
}

/// Reads exactly n bytes, or reports how far it got.
bool readAll(std::FILE *f, void *p, size_t n) {
  return n == 0 || std::fread(p, 1, n, f) == n;
}

struct FileCloser {
  void operator()(std::FILE *f) const {
    if (f)
      std::fclose(f);
  }
};

} // namespace

// --- Writer
// --------------------------------------------------------------------

llvm::Expected<std::unique_ptr<WeightsWriter>>
WeightsWriter::create(llvm::StringRef path, const PlanDigest &planDigest,
                      uint32_t count) {
  std::unique_ptr<WeightsWriter> w(new WeightsWriter());
  w->path_ = path.str();
  w->tmp_ = path.str() + ".tmp";
  w->expected_ = count;
  w->f_ = std::fopen(w->tmp_.c_str(), "wb");
  if (!w->f_)
    return mpc::error("cannot write weights file '{}': {}", w->tmp_,
                      std::strerror(errno));
  uint32_t version = kPlanFormatVersion;
  if (!writeAll(w->f_, kMagic, 8) || !writeAll(w->f_, &version, 4) ||
      !writeAll(w->f_, &count, 4) ||
      !writeAll(w->f_, planDigest.data(), planDigest.size()))
    return mpc::error("cannot write weights file '{}': {}", w->tmp_,
                      std::strerror(errno));
  return w;
}

WeightsWriter::~WeightsWriter() {
  if (f_) { // not finished: leave nothing behind
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

llvm::Error WeightsWriter::add(int32_t valueId, const RingTensor &t) {
  if (!f_)
    return mpc::error("weights file '{}' is already finished", path_);
  uint32_t rank = uint32_t(t.rank());
  if (!writeAll(f_, &valueId, 4) || !writeAll(f_, &rank, 4) ||
      !writeAll(f_, t.shape().data(), size_t(rank) * 8) ||
      !writeAll(f_, t.data(), size_t(t.size()) * 8))
    return mpc::error("cannot write weights file '{}': {}", tmp_,
                      std::strerror(errno));
  ++written_;
  return llvm::Error::success();
}

llvm::Error WeightsWriter::finish() {
  if (!f_)
    return mpc::error("weights file '{}' is already finished", path_);
  if (written_ != expected_)
    return mpc::error("weights file '{}': {} tensors announced, {} written",
                      path_, expected_, written_);
  bool ok = std::fflush(f_) == 0;
  ok = std::fclose(f_) == 0 && ok;
  f_ = nullptr;
  if (!ok) {
    std::remove(tmp_.c_str());
    return mpc::error("cannot write weights file '{}': {}", tmp_,
                      std::strerror(errno));
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp_, path_)) {
    std::remove(tmp_.c_str());
    return mpc::error("cannot write weights file '{}': {}", path_,
                      ec.message());
  }
  return llvm::Error::success();
}

llvm::Error mpc::rt::writeWeightsFile(llvm::StringRef path,
                                      llvm::ArrayRef<uint8_t> planBytes,
                                      const WeightMap &weights) {
  auto w =
      WeightsWriter::create(path, sha256(planBytes), uint32_t(weights.size()));
  if (!w)
    return w.takeError();
  for (const auto &[id, t] : weights)
    if (llvm::Error e = (*w)->add(id, t))
      return e;
  return (*w)->finish();
}

// --- Reader
// ----------------------------------------------------------------------

namespace {

/// Where the reader's bytes come from: a file, streamed (BERT-base's
/// weights are never held twice), or memory. Both know how many bytes are
/// left, so no tensor is allocated that the input cannot fill.
class ByteSource {
public:
  virtual ~ByteSource() = default;
  /// Reads exactly \p n bytes; false when fewer are left.
  virtual bool read(void *p, size_t n) = 0;
  /// Bytes not read yet.
  virtual uint64_t remaining() const = 0;
};

class FileSource : public ByteSource {
public:
  FileSource(std::FILE *f, uint64_t size) : f_(f), left_(size) {}
  bool read(void *p, size_t n) override {
    if (n > left_ || !readAll(f_, p, n))
      return false;
    left_ -= n;
    return true;
  }
  uint64_t remaining() const override { return left_; }

private:
  std::FILE *f_;
  uint64_t left_;
};

class MemorySource : public ByteSource {
public:
  explicit MemorySource(llvm::ArrayRef<uint8_t> bytes) : bytes_(bytes) {}
  bool read(void *p, size_t n) override {
    if (n > bytes_.size())
      return false;
    if (n)
      std::memcpy(p, bytes_.data(), n);
    bytes_ = bytes_.drop_front(n);
    return true;
  }
  uint64_t remaining() const override { return bytes_.size(); }

private:
  llvm::ArrayRef<uint8_t> bytes_;
};

/// Reads and checks a weights file from \p in; \p p names it in errors.
llvm::Expected<WeightMap> readWeights(ByteSource &in, const std::string &p,
                                      const LoadedPlan &plan) {
  auto bad = [&](std::string why) -> llvm::Error {
    return mpc::error("weights file '{}': {}", p, why);
  };
  char magic[8];
  uint32_t version = 0, count = 0;
  PlanDigest digest{};
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
    return bad("not an mpcc weights file (bad magic)");
  if (!in.read(&version, 4) || !in.read(&count, 4) ||
      !in.read(digest.data(), digest.size()))
    return bad("truncated header");
  if (version != kPlanFormatVersion)
    return bad(fmt::format("format version {} is not supported (expects {})",
                           version, kPlanFormatVersion));
  if (digest != plan.digest)
    return bad(fmt::format("it belongs to another plan (its plan digest is "
                           "{}, {} has {})",
                           digestHex(digest).substr(0, 16), plan.name,
                           digestHex(plan.digest).substr(0, 16)));

  WeightMap out;
  for (uint32_t t = 0; t < count; ++t) {
    int32_t id = -1;
    uint32_t rank = 0;
    if (!in.read(&id, 4) || !in.read(&rank, 4))
      return bad(
          fmt::format("truncated: tensor {} of {} is missing", t + 1, count));
    if (id < 0 || size_t(id) >= plan.values.size() ||
        plan.values[id].source != ValueSource::Weight)
      return bad(fmt::format("tensor {} is for value {}, which is not a "
                             "weight of the plan",
                             t + 1, id));
    const ValueDesc &v = plan.values[id];
    if (out.count(id))
      return bad(fmt::format("weight {} ('{}') appears twice", id, v.name));
    if (rank > kMaxRank)
      return bad(fmt::format("weight {} ('{}') has rank {}", id, v.name, rank));
    Shape shape(rank);
    if (!in.read(shape.data(), size_t(rank) * 8))
      return bad(fmt::format("truncated in the shape of weight {} ('{}')", id,
                             v.name));
    if (shape != v.shape)
      return bad(fmt::format("weight {} ('{}') has shape {}, the plan expects "
                             "{}",
                             id, v.name, shapeString(shape),
                             shapeString(v.shape)));
    // The plan bounds a value's size (2^40 words), the file's length bounds
    // what is allocated here.
    uint64_t words = uint64_t(v.numElements());
    if (in.remaining() / 8 < words)
      return bad(fmt::format("truncated in the data of weight {} ('{}', {} "
                             "words expected, {} bytes left)",
                             id, v.name, words, in.remaining()));
    RingTensor data(v.shape);
    if (!in.read(data.data(), size_t(data.size()) * 8))
      return bad(fmt::format("truncated in the data of weight {} ('{}', {} "
                             "words expected)",
                             id, v.name, data.size()));
    out.emplace(id, std::move(data));
  }
  if (in.remaining() != 0)
    return bad("unexpected bytes after the last tensor");
  for (int id : plan.weightIds())
    if (!out.count(id))
      return bad(fmt::format("missing weight {} ('{}', {})", id,
                             plan.values[id].name,
                             shapeString(plan.values[id].shape)));
  return out;
}

} // namespace

llvm::Expected<WeightMap> mpc::rt::readWeightsFile(llvm::StringRef path,
                                                   const LoadedPlan &plan) {
  std::string p = path.str();
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(p.c_str(), "rb"));
  if (!f)
    return mpc::error("cannot open weights file '{}': {}", p,
                      std::strerror(errno));
  struct stat st;
  if (::fstat(::fileno(f.get()), &st) != 0)
    return mpc::error("cannot read weights file '{}': {}", p,
                      std::strerror(errno));
  if (S_ISREG(st.st_mode)) {
    FileSource in(f.get(), uint64_t(st.st_size));
    return readWeights(in, p, plan);
  }
  // A pipe or device has no size to check against: read what it holds.
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return mpc::error("cannot read weights file '{}': {}", p,
                      buf.getError().message());
  MemorySource in(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>((*buf)->getBufferStart()),
      (*buf)->getBufferSize()));
  return readWeights(in, p, plan);
}

llvm::Expected<WeightMap> mpc::rt::parseWeights(llvm::ArrayRef<uint8_t> bytes,
                                                llvm::StringRef name,
                                                const LoadedPlan &plan) {
  MemorySource in(bytes);
  return readWeights(in, name.str(), plan);
}
