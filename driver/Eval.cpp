//===- driver/Eval.cpp - Accuracy of a plan on a labelled set -------------===//
//
// Everything is checked before the first run: the plan's inputs against
// the arrays of the data file (names, shapes, element types), the labels
// against the output's classes, the float model's import. Then each batch
// is written as .npy files to a private temporary directory, and sessions
// of up to kRunsPerSession batches run by rt::runLocal, the code behind
// `mpc-run local --requests`, a request per batch; its merged profile
// gives each request's measured cost.
//
//===----------------------------------------------------------------------===//

#include "driver/Eval.h"

#include "driver/Compile.h"
#include "ir/IR.h"
#include "runtime/plan/PlanReader.h"
#include "runtime/plan/Profile.h"
#include "runtime/session/ClientCheck.h"
#include "runtime/session/Run.h"
#include "support/Diag.h"
#include "support/Npz.h"
#include "support/TempDir.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <chrono>

using namespace mpc;
using Clock = std::chrono::steady_clock;

namespace {

constexpr llvm::StringLiteral kLabels = "labels";

/// Batches run over one session of the three processes (mpc-run local
/// --requests): one start, handshake and set-up for all of them, and the
/// processes' memory, once allocated, is reused (the first request of a
/// session pays for its page faults: on the SpamAssassin model it took
/// twice the online time of the next ones). The progress line follows
/// each session.
constexpr int64_t kRunsPerSession = 8;

/// The plan's inputs and the output eval reads, with the batch they share.
struct PlanShape {
  std::vector<const plan::PlanInput *> inputs;
  std::string output;
  int64_t batch = 0, classes = 0;
};

llvm::Expected<PlanShape> planShape(const rt::LoadedPlan &plan) {
  PlanShape s;
  for (const plan::PlanInput &in : plan.proto->inputs()) {
    if (in.shape().empty())
      return error("{}: input '{}' is a scalar; eval needs a batch dimension",
                   plan.name, in.name());
    int64_t b = in.shape(0);
    if (s.inputs.empty())
      s.batch = b;
    else if (b != s.batch)
      return error("{}: input '{}' has batch {} but '{}' has batch {}; eval "
                   "needs one batch dimension for all inputs",
                   plan.name, in.name(), b, s.inputs[0]->name(), s.batch);
    s.inputs.push_back(&in);
  }
  if (s.inputs.empty() || s.batch < 1)
    return error("{}: the plan has no input with a batch dimension", plan.name);
  for (const plan::PlanOutput &out : plan.proto->outputs()) {
    const rt::ValueDesc &v = plan.value(out.value());
    if (!v.heldBy(1))
      continue;
    if (v.shape.size() != 2 || v.shape[0] != s.batch)
      return error("{}: output '{}' is {}; eval reads class scores, "
                   "[batch, classes] = [{}, C]",
                   plan.name, out.name(), rt::dims(v.shape), s.batch);
    s.output = out.name();
    s.classes = v.shape[1];
    return s;
  }
  return error("{}: the plan reveals no output to party 1", plan.name);
}

std::string arrayNames(const NpzArrays &arrays) {
  std::string names;
  for (const auto &[name, t] : arrays)
    names += (names.empty() ? "'" : ", '") + name + "'";
  return names.empty() ? "no arrays" : names;
}

/// The data, checked against the plan: inputs by plan input name (int64 or
/// float32, as the plan takes them) and the labels.
struct Data {
  std::map<std::string, HostTensor> inputs;
  std::vector<int64_t> labels;
};

llvm::Expected<Data> checkData(NpzArrays arrays, const std::string &path,
                               const PlanShape &s, int64_t limit) {
  auto find = [&](llvm::StringRef name) -> HostTensor * {
    for (auto &[have, t] : arrays)
      if (have == name)
        return &t;
    return nullptr;
  };
  HostTensor *labels = find(kLabels);
  if (!labels)
    return error("{}: no array '{}' (it holds {})", path, kLabels.str(),
                 arrayNames(arrays));
  if (labels->shape.size() != 1 ||
      (labels->type != HostType::I64 && labels->type != HostType::I32))
    return error("{}: '{}' is {} {}; it must be a 1-D array of integers "
                 "(int64 or int32), one class per example",
                 path, kLabels.str(), hostTypeName(labels->type),
                 rt::dims(labels->shape));
  int64_t n = labels->shape[0];
  if (n == 0)
    return error("{}: '{}' is empty: there is nothing to evaluate", path,
                 kLabels.str());
  for (int64_t k = 0; k < n; ++k)
    if (labels->i[k] < 0 || labels->i[k] >= s.classes)
      return error("{}: labels[{}] = {} is outside 0..{} (the plan's output "
                   "'{}' has {} classes)",
                   path, k, labels->i[k], s.classes - 1, s.output, s.classes);

  Data d;
  for (const plan::PlanInput *in : s.inputs) {
    HostTensor *t = find(in->name());
    if (!t)
      return error("{}: no array for the plan's input '{}' (it holds {})", path,
                   in->name(), arrayNames(arrays));
    std::vector<int64_t> want(in->shape().begin(), in->shape().end());
    want[0] = n;
    if (t->shape != want)
      return error("{}: '{}' is {}; the plan's input is {}, so with {} "
                   "labels it must be {}",
                   path, in->name(), rt::dims(t->shape),
                   rt::dims(std::vector<int64_t>(in->shape().begin(),
                                                 in->shape().end())),
                   n, rt::dims(want));
    bool wantInt = in->dtype() == "int64";
    if (!rt::inputDtypeAccepts(in->dtype(), t->type))
      return error("{}: '{}' holds {}; the plan's input takes {}", path,
                   in->name(), hostTypeName(t->type), in->dtype());
    // The plan takes int64 or float32: the files written for each run do.
    t->type = wantInt ? HostType::I64 : HostType::F32;
    d.inputs[in->name()] = std::move(*t);
  }
  for (const auto &[name, t] : arrays)
    if (name != kLabels && !d.inputs.count(name))
      return error("{}: array '{}' is neither an input of the plan nor '{}'",
                   path, name, kLabels.str());
  d.labels = std::move(labels->i);
  if (limit > 0 && limit < n)
    d.labels.resize(limit);
  return d;
}

/// The class with the highest score in row \p row of \p scores [B, C]
/// (the first on a tie, as numpy.argmax).
int64_t argmaxRow(const HostTensor &scores, int64_t row) {
  int64_t c = scores.shape[1];
  auto at = [&](int64_t k) {
    return scores.isFloat() ? scores.f[row * c + k]
                            : double(scores.i[row * c + k]);
  };
  int64_t best = 0;
  for (int64_t k = 1; k < c; ++k)
    if (at(k) > at(best))
      best = k;
  return best;
}

std::string duration(double s) {
  if (s < 90)
    return fmt::format("{:.0f} s", s);
  return fmt::format("{}m{:02d}s", int64_t(s) / 60, int64_t(s) % 60);
}

} // namespace

llvm::Expected<EvalResult> mpc::runEval(const EvalRequest &req,
                                        llvm::raw_ostream &progress) {
  auto plan = rt::readPlan(req.plan);
  if (!plan)
    return plan.takeError();
  auto shape = planShape(*plan);
  if (!shape)
    return shape.takeError();
  auto arrays = readNpz(req.data);
  if (!arrays)
    return arrays.takeError();
  auto data = checkData(std::move(*arrays), req.data, *shape, req.limit);
  if (!data)
    return data.takeError();
  std::string weights =
      req.weights.empty() ? weightsPathFor(req.plan) : req.weights;
  if (!llvm::sys::fs::exists(req.mpcRun))
    return error("cannot find mpc-run at '{}' (--mpc-run names it)",
                 req.mpcRun);

  EvalResult r;
  r.plan = req.plan;
  r.data = req.data;
  r.output = shape->output;
  r.batch = shape->batch;
  r.classes = shape->classes;
  r.examples = int64_t(data->labels.size());
  r.runs = (r.examples + r.batch - 1) / r.batch;
  r.paddingRows = r.runs * r.batch - r.examples;
  r.confusion.assign(r.classes, std::vector<int64_t>(r.classes, 0));

  // The float model, imported once for the batch shape.
  std::unique_ptr<Graph> floatGraph;
  size_t floatOutput = 0;
  if (!req.model.empty()) {
    ImportOptions opts = req.import;
    for (const auto &[name, t] : data->inputs) {
      std::vector<int64_t> s = t.shape;
      s[0] = r.batch;
      opts.shapeHints.emplace(name, s);
    }
    auto g = importOnnxFile(req.model, opts);
    if (!g)
      return g.takeError();
    floatGraph = std::move(*g);
    auto outs = floatGraph->outputs();
    while (floatOutput < outs.size() &&
           outs[floatOutput]->name() != shape->output)
      ++floatOutput;
    if (floatOutput == outs.size())
      return error("{}: the model has no output '{}' (the plan's)", req.model,
                   shape->output);
    // The model must take the data's arrays: checked on the first batch
    // before any secure run, not after the first one.
    std::map<std::string, HostTensor> firstBatch;
    for (const auto &[name, t] : data->inputs)
      firstBatch[name] =
          batchRows(t, 0, std::min(r.batch, r.examples), r.batch);
    auto bound = bindInputFiles(*floatGraph, std::move(firstBatch), "--data");
    if (!bound)
      return addContext(bound.takeError(), req.model + ": ");
    if (llvm::Error e = requireEveryInput(*floatGraph, *bound, "--data"))
      return addContext(std::move(e), req.model + ": ");
    r.floatModel = EvalResult::Float{req.model};
  }

  // What party 0 learns is the same for every run: shown once, here.
  auto learns = rt::checkPlanForClient(*plan, /*revealToBoth=*/false);
  if (!learns)
    return addContext(learns.takeError(), "party 1: ");
  progress << *learns << "\n";
  if (req.insecure)
    progress << rt::kInsecureWarning;

  TempDir dir;
  if (llvm::Error e = dir.create("mpcc-eval"))
    return e;

  rt::RunConfig c;
  c.mode = rt::RunConfig::Local;
  c.plan = req.plan;
  c.weights = weights;
  c.quiet = true;
  c.clientReviewShown = true;
  c.insecure = req.insecure;
  c.insecureWarningShown = true;
  c.threads = req.threads;
  c.timeoutSeconds = req.timeoutSeconds;
  c.profile = dir.file("profile.json");
  c.requests = dir.file("requests.txt");

  // Run `run` holds the data's rows [firstRowOf(run), + rowsOf(run)); a
  // session's request k writes outputOf(k).
  auto firstRowOf = [&](int64_t run) { return run * r.batch; };
  auto rowsOf = [&](int64_t run) {
    return std::min(r.batch, r.examples - firstRowOf(run));
  };
  auto outputOf = [&](int64_t k) {
    return dir.file(fmt::format("output.{}.npy", k));
  };
  bool live = progress.is_displayed();
  auto t0 = Clock::now();
  for (int64_t session = 0; session * kRunsPerSession < r.runs; ++session) {
    int64_t firstRun = session * kRunsPerSession;
    int64_t runs = std::min(kRunsPerSession, r.runs - firstRun);
    // One request per batch: its inputs, and the file its output goes to.
    std::string list;
    std::vector<std::map<std::string, HostTensor>> batches(runs);
    for (int64_t k = 0; k < runs; ++k) {
      int64_t first = firstRowOf(firstRun + k), count = rowsOf(firstRun + k);
      rt::RequestFiles files;
      for (const auto &[name, t] : data->inputs) {
        batches[k][name] = batchRows(t, first, count, r.batch);
        std::string file = dir.file(fmt::format("{}.{}.npy", name, k));
        if (llvm::Error e = writeNpy(file, batches[k][name]))
          return e;
        files.inputs.push_back(name + "=" + file);
      }
      files.outputs.push_back(shape->output + "=" + outputOf(k));
      list += rt::requestListLine(files);
    }
    int64_t lastRun = firstRun + runs - 1;
    int64_t firstRow = firstRowOf(firstRun);
    int64_t lastRow = firstRowOf(lastRun) + rowsOf(lastRun) - 1;
    auto context = [&](llvm::Error e) {
      return addContext(
          std::move(e),
          fmt::format("examples {}..{} (runs {}-{} of {}): ", firstRow, lastRow,
                      firstRun + 1, lastRun + 1, r.runs));
    };
    if (llvm::Error e = writeFileAtomic(c.requests, list))
      return context(std::move(e));
    if (llvm::Error e = rt::runLocal(c, req.mpcRun))
      return context(std::move(e));
    auto buf = readFileBytes(c.profile);
    if (!buf)
      return context(buf.takeError());
    auto prof = rt::profileFromJson((*buf)->getBuffer());
    if (!prof)
      return context(prof.takeError());
    // One request: the totals are its figures; several: each one's.
    std::vector<rt::RunProfile::Request> figures = prof->requests;
    if (figures.empty())
      figures.push_back(prof->onlineFigures());
    if (int64_t(figures.size()) != runs)
      return context(mpc::error("the profile has {} requests' figures, not {}",
                                figures.size(), runs));

    for (int64_t k = 0; k < runs; ++k) {
      int64_t first = firstRowOf(firstRun + k), count = rowsOf(firstRun + k);
      r.onlineSeconds += figures[k].onlineSeconds;
      r.onlineBytes += figures[k].onlineBytes01 + figures[k].onlineBytes10;
      r.onlineRounds += figures[k].onlineRounds;
      auto scores = readNpy(outputOf(k));
      if (!scores)
        return context(scores.takeError());
      std::vector<HostTensor> floatOuts;
      if (floatGraph) {
        auto bound = bindInputFiles(*floatGraph, batches[k], "--data");
        if (!bound)
          return context(bound.takeError());
        auto outs = interpretGraph(*floatGraph, *bound);
        if (!outs)
          return context(outs.takeError());
        floatOuts = std::move(*outs);
      }
      for (int64_t row = 0; row < count; ++row) {
        int64_t label = data->labels[first + row];
        int64_t pred = argmaxRow(*scores, row);
        ++r.confusion[label][pred];
        r.correct += pred == label;
        if (floatGraph) {
          int64_t fpred = argmaxRow(floatOuts[floatOutput], row);
          r.floatModel->correct += fpred == label;
          r.floatModel->agree += fpred == pred;
        }
      }
    }

    double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    int64_t done = lastRow + 1;
    progress << fmt::format(
        "{}mpcc eval: {}/{} examples, accuracy so far {:.2f}%, {} elapsed, "
        "ETA {}{}",
        live ? "\r" : "", done, r.examples, 100.0 * r.correct / done,
        duration(elapsed),
        duration(elapsed / double(lastRun + 1) * double(r.runs - lastRun - 1)),
        live ? "   " : "\n");
    progress.flush();
  }
  if (live)
    progress << "\n";
  r.wallSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

static std::string percent(int64_t part, int64_t whole) {
  return fmt::format("{:.2f}% ({}/{})", 100.0 * part / whole, part, whole);
}

void mpc::printEval(const EvalResult &r, llvm::raw_ostream &os) {
  os << fmt::format("mpcc eval: {} on {}: {}, {} of {} ({}, not counted)\n",
                    r.plan, r.data, counted(r.examples, "example"),
                    counted(r.runs, "run"), r.batch,
                    counted(r.paddingRows, "padding row"));
  os << "accuracy (2PC):  " << percent(r.correct, r.examples) << "\n";
  if (r.floatModel) {
    os << "accuracy (float): " << percent(r.floatModel->correct, r.examples)
       << "  [" << r.floatModel->model << "]\n";
    os << "argmax agreement: " << percent(r.floatModel->agree, r.examples)
       << "\n";
  }
  os << fmt::format("per class ('{}': rows are labels, columns the 2PC "
                    "prediction):\n",
                    r.output);
  os << fmt::format("  {:>6} {:>8} {:>8}", "label", "examples", "correct");
  for (int64_t p = 0; p < r.classes; ++p)
    os << fmt::format(" {:>7}", fmt::format("pred {}", p));
  os << "\n";
  for (int64_t l = 0; l < r.classes; ++l) {
    int64_t n = 0;
    for (int64_t v : r.confusion[l])
      n += v;
    os << fmt::format("  {:>6} {:>8} {:>8}", l, n, r.confusion[l][l]);
    for (int64_t v : r.confusion[l])
      os << fmt::format(" {:>7}", v);
    os << "\n";
  }
  int64_t rows = r.runs * r.batch;
  os << fmt::format("online per example: {:.4f} s, {:.3f} MB ({} rounds per "
                    "run of {}; measured, set-up excluded, over all {} rows "
                    "computed)\n",
                    r.onlineSeconds / rows, r.onlineBytes / 1e6 / rows,
                    r.onlineRounds / r.runs, r.batch, rows);
  int64_t sessions = (r.runs + kRunsPerSession - 1) / kRunsPerSession;
  os << fmt::format("wall: {:.1f} s for {} runs in {} (three processes "
                    "each, up to {} runs over one)\n",
                    r.wallSeconds, r.runs, counted(sessions, "session"),
                    kRunsPerSession);
}

llvm::json::Value mpc::evalToJson(const EvalResult &r) {
  llvm::json::Array confusion;
  for (const std::vector<int64_t> &row : r.confusion)
    confusion.push_back(llvm::json::Array(row));
  int64_t rows = r.runs * r.batch;
  llvm::json::Object o{
      {"plan", r.plan},
      {"data", r.data},
      {"output", r.output},
      {"examples", r.examples},
      {"batch", r.batch},
      {"runs", r.runs},
      {"padding_rows", r.paddingRows},
      {"classes", r.classes},
      {"correct", r.correct},
      {"accuracy", double(r.correct) / double(r.examples)},
      {"confusion", std::move(confusion)},
      {"online",
       llvm::json::Object{
           {"seconds", r.onlineSeconds},
           {"bytes", r.onlineBytes},
           {"rounds", r.onlineRounds},
           {"seconds_per_example", r.onlineSeconds / double(rows)},
           {"bytes_per_example", double(r.onlineBytes) / double(rows)},
           {"rounds_per_run", r.onlineRounds / r.runs},
       }},
      {"wall_seconds", r.wallSeconds},
  };
  if (r.floatModel)
    o["float"] = llvm::json::Object{
        {"model", r.floatModel->model},
        {"correct", r.floatModel->correct},
        {"accuracy", double(r.floatModel->correct) / double(r.examples)},
        {"agree", r.floatModel->agree},
        {"agreement", double(r.floatModel->agree) / double(r.examples)},
    };
  return o;
}
