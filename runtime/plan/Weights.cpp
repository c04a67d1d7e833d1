//===- runtime/plan/Weights.cpp - Party 0's weights file ------------------===//
//
// Streaming writer and reader of the raw weights format (Weights.h). The
// reader reads each tensor's words straight into its RingTensor, so peak
// memory is the weights themselves; the writer goes through a temporary
// file that is renamed only once complete.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/Weights.h"
#include "support/Diag.h"

#include "llvm/Support/FileSystem.h"

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

llvm::Expected<WeightMap> mpc::rt::readWeightsFile(llvm::StringRef path,
                                                   const LoadedPlan &plan) {
  std::string p = path.str();
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(p.c_str(), "rb"));
  if (!f)
    return mpc::error("cannot open weights file '{}': {}", p,
                      std::strerror(errno));
  auto bad = [&](std::string why) -> llvm::Error {
    return mpc::error("weights file '{}': {}", p, why);
  };
  char magic[8];
  uint32_t version = 0, count = 0;
  PlanDigest digest{};
  if (!readAll(f.get(), magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
    return bad("not an mpcc weights file (bad magic)");
  if (!readAll(f.get(), &version, 4) || !readAll(f.get(), &count, 4) ||
      !readAll(f.get(), digest.data(), digest.size()))
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
    if (!readAll(f.get(), &id, 4) || !readAll(f.get(), &rank, 4))
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
    if (!readAll(f.get(), shape.data(), size_t(rank) * 8))
      return bad(fmt::format("truncated in the shape of weight {} ('{}')", id,
                             v.name));
    if (shape != v.shape)
      return bad(fmt::format("weight {} ('{}') has shape {}, the plan expects "
                             "{}",
                             id, v.name, shapeString(shape),
                             shapeString(v.shape)));
    RingTensor data(v.shape);
    if (!readAll(f.get(), data.data(), size_t(data.size()) * 8))
      return bad(fmt::format("truncated in the data of weight {} ('{}', {} "
                             "words expected)",
                             id, v.name, data.size()));
    out.emplace(id, std::move(data));
  }
  if (std::fgetc(f.get()) != EOF)
    return bad("unexpected bytes after the last tensor");
  for (int id : plan.weightIds())
    if (!out.count(id))
      return bad(fmt::format("missing weight {} ('{}', {})", id,
                             plan.values[id].name,
                             shapeString(plan.values[id].shape)));
  return out;
}
