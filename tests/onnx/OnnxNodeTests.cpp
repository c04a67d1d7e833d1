//===- tests/onnx/OnnxNodeTests.cpp - ONNX's node tests via mpcc float ----===//
//
// Runs ONNX's own single-op conformance tests (Debian libonnx-testdata:
// <data>/test_*/model.onnx with test_data_set_N/input_K.pb, output_K.pb)
// through `mpcc float`, for every test whose ops are all in the frontend's
// op table (frontend/OnnxOps.def, read through onnxOpTable()), and compares
// each output as ONNX's backend tests do: same shape and element type, and
// |got - want| <= atol + rtol * |want| (rtol 1e-3, atol 1e-7 unless the
// expectations file gives others; integers and booleans exactly).
//
// Integer and boolean graph inputs of rank 0 or 1 are passed with
// --constant: ONNX's node tests give shapes, axes, indices, bounds and modes
// (Reshape's shape, Slice's starts, Dropout's training_mode) as inputs, and
// mpcc, which compiles for static shapes, needs those values at compile time.
//
// The expectations file lists every claimed test as `pass` or `fail
// <reason>`. The run fails when a listed pass fails, a listed failure
// passes, or the list and the claimed tests differ, so the list stays
// honest; --update rewrites it from the run (reasons of tests that still
// fail are kept). Exits with 77 (ctest: skipped) when the data is missing.
//
//===----------------------------------------------------------------------===//

#include "frontend/OnnxOps.h"
#include "frontend/TensorProto.h"
#include "support/Tensor.h"

#include <fmt/format.h>

#include "onnx/onnx_pb.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <unistd.h> // environ

using namespace llvm;

static cl::opt<std::string> mpccPath("mpcc", cl::Required,
                                     cl::desc("The mpcc executable"));
static cl::opt<std::string>
    dataDir("data", cl::Required,
            cl::desc("ONNX node test folder (libonnx-testdata's data/node)"));
static cl::opt<std::string>
    expectationsPath("expectations", cl::Required,
                     cl::desc("The expectations file (pass / fail REASON)"));
static cl::opt<bool>
    update("update", cl::desc("Rewrite the expectations file from this run"));
static cl::opt<unsigned> jobs("jobs", cl::init(0),
                              cl::desc("Tests run at once (0: one per core)"));
static cl::opt<bool> verbose("verbose", cl::desc("Print every test's result"));
static cl::list<std::string>
    filters(cl::Positional,
            cl::desc("[substrings: run only the tests whose names contain "
                     "one; the list is then checked for those only]"));

namespace {

constexpr double kDefaultRtol = 1e-3, kDefaultAtol = 1e-7;
constexpr int kSkipped = 77;

/// One test folder, as far as the driver needs it.
struct NodeTest {
  std::string name, dir;
  std::vector<std::string> inputs, outputs; ///< Graph inputs, in order.
  std::vector<bool> constant; ///< Per input: passed with --constant.
  std::set<std::string> opTypes;
  int opset = 0;
  bool claimed = false; ///< Every node's op type is in the frontend's table.
  std::vector<std::string> dataSets;
};

/// One line of the expectations file.
struct Expectation {
  bool pass = true;
  std::string reason; ///< Why it fails (fail lines only).
  double rtol = kDefaultRtol, atol = kDefaultAtol;
};

struct Outcome {
  bool pass = false;
  std::string why; ///< The first failure, for a failing test.
};

} // namespace

static bool isDefaultDomain(const std::string &d) {
  return d.empty() || d == "ai.onnx";
}

/// Reads a test folder's model: graph inputs (initializers excluded), outputs,
/// op types and opset, and its data sets.
static Expected<NodeTest> loadTest(StringRef dir) {
  NodeTest t;
  t.dir = dir.str();
  t.name = sys::path::filename(dir).str();
  SmallString<256> model(dir);
  sys::path::append(model, "model.onnx");
  auto buf = MemoryBuffer::getFile(model, /*IsText=*/false,
                                   /*RequiresNullTerminator=*/false);
  if (!buf)
    return createStringError(buf.getError(), "%s: cannot read", model.c_str());
  ::onnx::ModelProto proto;
  if (!proto.ParseFromArray((*buf)->getBufferStart(),
                            static_cast<int>((*buf)->getBufferSize())))
    return createStringError(inconvertibleErrorCode(),
                             "%s: not a valid ONNX model", model.c_str());
  for (const auto &o : proto.opset_import())
    if (isDefaultDomain(o.domain()))
      t.opset = static_cast<int>(o.version());
  const ::onnx::GraphProto &g = proto.graph();
  std::set<std::string> inits;
  for (const auto &i : g.initializer())
    inits.insert(i.name());
  for (const auto &i : g.input()) {
    if (inits.count(i.name()))
      continue;
    t.inputs.push_back(i.name());
    const auto &tt = i.type().tensor_type();
    int elem = tt.elem_type();
    bool integer = elem == ::onnx::TensorProto::INT64 ||
                   elem == ::onnx::TensorProto::INT32 ||
                   elem == ::onnx::TensorProto::BOOL;
    t.constant.push_back(integer && tt.has_shape() &&
                         tt.shape().dim_size() <= 1);
  }
  for (const auto &o : g.output())
    t.outputs.push_back(o.name());
  std::set<StringRef> table;
  for (const mpc::onnx::OnnxOpEntry &e : mpc::onnx::onnxOpTable())
    table.insert(e.opType);
  t.claimed = g.node_size() > 0;
  for (const auto &n : g.node()) {
    t.opTypes.insert(n.op_type());
    if (!isDefaultDomain(n.domain()) || !table.count(n.op_type()))
      t.claimed = false;
  }
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (StringRef(sys::path::filename(it->path())).startswith("test_data_set"))
      t.dataSets.push_back(it->path());
  llvm::sort(t.dataSets);
  return t;
}

/// Parses the expectations file: `NAME pass [rtol=R] [atol=A]` or
/// `NAME fail REASON...`; `#` starts a comment line.
static Expected<std::map<std::string, Expectation>>
readExpectations(StringRef path) {
  std::map<std::string, Expectation> out;
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return createStringError(buf.getError(), "%s: cannot read",
                             path.str().c_str());
  SmallVector<StringRef, 0> lines;
  (*buf)->getBuffer().split(lines, '\n');
  for (size_t k = 0; k < lines.size(); ++k) {
    StringRef line = lines[k].trim();
    if (line.empty() || line.startswith("#"))
      continue;
    auto bad = [&](const std::string &what) {
      return createStringError(inconvertibleErrorCode(), "%s:%zu: %s",
                               path.str().c_str(), k + 1, what.c_str());
    };
    auto [name, rest] = getToken(line);
    auto [status, tail] = getToken(rest);
    Expectation e;
    tail = tail.trim();
    if (status == "fail") {
      e.pass = false;
      e.reason = tail.str();
      if (e.reason.empty())
        return bad("a fail line needs a reason");
    } else if (status == "pass") {
      SmallVector<StringRef, 2> opts;
      SplitString(tail, opts);
      for (StringRef o : opts) {
        auto [key, value] = o.split('=');
        double *dst = key == "rtol"   ? &e.rtol
                      : key == "atol" ? &e.atol
                                      : nullptr;
        if (!dst || !to_float(value, *dst))
          return bad(
              fmt::format("expected rtol=R or atol=A, got '{}'", o.str()));
      }
    } else {
      return bad(
          fmt::format("expected 'pass' or 'fail', got '{}'", status.str()));
    }
    if (!out.emplace(name.str(), e).second)
      return bad(fmt::format("{} is listed twice", name.str()));
  }
  return out;
}

/// The first failure comparing \p got with \p want, or nothing.
static std::optional<std::string> compare(const mpc::HostTensor &got,
                                          const mpc::HostTensor &want,
                                          const Expectation &tol) {
  if (got.shape != want.shape)
    return fmt::format("shape {}, expected {}", mpc::shapeStr(got.shape),
                       mpc::shapeStr(want.shape));
  if (got.type != want.type)
    return fmt::format("element type {}, expected {}",
                       mpc::hostTypeName(got.type).str(),
                       mpc::hostTypeName(want.type).str());
  int64_t n = want.numElements();
  for (int64_t k = 0; k < n; ++k) {
    if (!want.isFloat()) {
      if (got.i[k] != want.i[k])
        return fmt::format("element {}: {}, expected {}", k, got.i[k],
                           want.i[k]);
      continue;
    }
    double g = got.f[k], w = want.f[k];
    if (std::isnan(w) && std::isnan(g))
      continue;
    if (g == w) // Equal infinities included.
      continue;
    if (!(std::fabs(g - w) <= tol.atol + tol.rtol * std::fabs(w)))
      return fmt::format("element {}: {:.9g}, expected {:.9g} (rtol {:g}, "
                         "atol {:g})",
                         k, g, w, tol.rtol, tol.atol);
  }
  return std::nullopt;
}

/// The `error:` line of mpcc's output, without the tool prefix and the
/// test's own paths (the same message for every data set and machine).
static std::string errorLine(StringRef text, const NodeTest &t) {
  SmallVector<StringRef, 8> lines;
  text.split(lines, '\n', -1, /*KeepEmpty=*/false);
  StringRef pick = lines.empty() ? StringRef("(no output)") : lines.back();
  for (StringRef l : lines)
    if (l.contains("error:")) {
      pick = l;
      break;
    }
  std::string s = pick.trim().str();
  for (StringRef prefix : {"mpcc: error: ", "error: "})
    if (StringRef(s).startswith(prefix))
      s = s.substr(prefix.size());
  for (size_t p; (p = s.find(t.dir)) != std::string::npos;)
    s.replace(p, t.dir.size(), t.name);
  return s;
}

/// Runs every data set of \p t through `mpcc float` and compares.
static Outcome runTest(const NodeTest &t, const Expectation &tol,
                       StringRef tmpDir) {
  if (t.dataSets.empty())
    return {false, "no test_data_set folder"};
  for (const std::string &ds : t.dataSets) {
    std::string tag = t.name + "." + sys::path::filename(ds).str();
    std::vector<std::string> args = {mpccPath, "float", t.dir + "/model.onnx"};
    for (size_t k = 0; k < t.inputs.size(); ++k) {
      std::string file = fmt::format("{}/input_{}.pb", ds, k);
      if (sys::fs::exists(file))
        args.push_back(fmt::format("--{}={}={}",
                                   t.constant[k] ? "constant" : "input",
                                   t.inputs[k], file));
    }
    std::vector<std::string> outFiles;
    for (size_t k = 0; k < t.outputs.size(); ++k) {
      outFiles.push_back(fmt::format("{}/{}.{}.npy", tmpDir.str(), tag, k));
      args.push_back(fmt::format("--output={}={}", t.outputs[k], outFiles[k]));
    }
    std::string log = fmt::format("{}/{}.log", tmpDir.str(), tag);
    std::vector<StringRef> argv(args.begin(), args.end());
    Optional<StringRef> redirects[] = {StringRef(""), StringRef(log),
                                       StringRef(log)};
    // Skip mpcc's allocator re-exec: it only tunes speed, and doubles the
    // start-up time that dominates these tiny runs.
    std::vector<StringRef> env;
    for (char **e = environ; *e; ++e)
      if (!StringRef(*e).startswith("MPCC_MALLOC_TUNING="))
        env.push_back(*e);
    env.push_back("MPCC_MALLOC_TUNING=0");
    std::string execErr;
    int rc =
        sys::ExecuteAndWait(mpccPath, argv, ArrayRef<StringRef>(env), redirects,
                            /*SecondsToWait=*/60, /*MemoryLimit=*/0, &execErr);
    if (rc != 0) {
      auto text = MemoryBuffer::getFile(log);
      std::string msg = rc < 0 ? "mpcc did not finish: " + execErr
                               : errorLine(text ? (*text)->getBuffer() : "", t);
      return {false, msg};
    }
    for (size_t k = 0; k < t.outputs.size(); ++k) {
      auto want = mpc::readTensorFile(fmt::format("{}/output_{}.pb", ds, k));
      if (!want)
        return {false, "expected output: " + toString(want.takeError())};
      auto got = mpc::readTensorFile(outFiles[k]);
      if (!got)
        return {false, toString(got.takeError())};
      if (auto diff = compare(*got, *want, tol))
        return {false, fmt::format("output '{}': {}", t.outputs[k], *diff)};
    }
  }
  return {true, ""};
}

/// Writes the expectations file from \p results, keeping the reasons and
/// tolerances of \p old where they still apply.
static Error writeExpectations(StringRef path,
                               const std::vector<NodeTest> &tests,
                               const std::vector<Outcome> &results,
                               const std::map<std::string, Expectation> &old) {
  std::string text =
      "# Expected results of ONNX's node tests (libonnx-testdata) through\n"
      "# `mpcc float`, for every test whose ops are all in\n"
      "# frontend/OnnxOps.def (integer and bool inputs of rank 0 or 1 given\n"
      "# with --constant). Checked by tests/onnx/OnnxNodeTests.cpp:\n"
      "#   NAME pass [rtol=R] [atol=A]   outputs match (default rtol 1e-3,\n"
      "#                                 atol 1e-7, as ONNX's backend tests)\n"
      "#   NAME fail REASON              fails today, for REASON\n"
      "# Regenerate with: build/tests/mpcc_onnx_node_tests --update \\\n"
      "#   --mpcc build/tools/mpcc --data DIR --expectations THIS_FILE\n"
      "# (reasons of tests that still fail are kept; new ones get mpcc's\n"
      "# message, which is worth rewording).\n";
  for (size_t k = 0; k < tests.size(); ++k) {
    auto it = old.find(tests[k].name);
    const Expectation *prev = it == old.end() ? nullptr : &it->second;
    if (results[k].pass) {
      text += tests[k].name + " pass";
      if (prev && prev->rtol != kDefaultRtol)
        text += fmt::format(" rtol={:g}", prev->rtol);
      if (prev && prev->atol != kDefaultAtol)
        text += fmt::format(" atol={:g}", prev->atol);
    } else {
      text += tests[k].name + " fail " +
              (prev && !prev->pass ? prev->reason : results[k].why);
    }
    text += "\n";
  }
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec)
    return createStringError(ec, "%s: cannot write", path.str().c_str());
  os << text;
  return Error::success();
}

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(
      argc, argv,
      "ONNX node tests (libonnx-testdata) through mpcc float, checked "
      "against an expectations file\n");
  auto fail = [](Error e) {
    errs() << "onnx node tests: error: " << toString(std::move(e)) << "\n";
    return 1;
  };
  if (!sys::fs::is_directory(dataDir)) {
    outs() << "onnx node tests: SKIPPED: no ONNX node test data at '" << dataDir
           << "' (install Debian's libonnx-testdata: "
              "scripts/install-deps.sh)\n";
    return kSkipped;
  }

  // Every test folder, and the ones the frontend's op table claims.
  std::vector<std::string> dirs;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dataDir, ec), end; it != end && !ec;
       it.increment(ec))
    if (StringRef(sys::path::filename(it->path())).startswith("test_"))
      dirs.push_back(it->path());
  if (ec)
    return fail(createStringError(ec, "%s: cannot list", dataDir.c_str()));
  llvm::sort(dirs);
  auto selected = [](StringRef name) {
    return filters.empty() || llvm::any_of(filters, [&](const std::string &f) {
             return name.contains(f);
           });
  };
  std::vector<NodeTest> tests;
  size_t total = 0;
  for (const std::string &d : dirs) {
    auto t = loadTest(d);
    if (!t)
      return fail(t.takeError());
    ++total;
    if (t->claimed && selected(t->name))
      tests.push_back(std::move(*t));
  }

  auto expected = readExpectations(expectationsPath);
  if (!expected)
    return fail(expected.takeError());

  SmallString<128> tmpDir;
  if (std::error_code e =
          sys::fs::createUniqueDirectory("mpcc-onnx-node-tests", tmpDir))
    return fail(createStringError(e, "cannot create a temporary folder"));
  std::vector<Outcome> results(tests.size());
  {
    ThreadPool pool(hardware_concurrency(jobs));
    for (size_t k = 0; k < tests.size(); ++k)
      pool.async([&, k] {
        auto it = expected->find(tests[k].name);
        Expectation tol = it == expected->end() ? Expectation{} : it->second;
        results[k] = runTest(tests[k], tol, tmpDir);
      });
    pool.wait();
  }
  sys::fs::remove_directories(tmpDir);

  if (update) {
    if (!filters.empty())
      return fail(createStringError(inconvertibleErrorCode(),
                                    "--update needs the whole list: give no "
                                    "test names"));
    if (Error e =
            writeExpectations(expectationsPath, tests, results, *expected))
      return fail(std::move(e));
    outs() << "onnx node tests: wrote " << expectationsPath << "\n";
  }

  // Per-op figures and the differences from the expectations.
  struct Tally {
    unsigned tests = 0, pass = 0;
  };
  std::map<std::string, Tally> perOp;
  std::vector<std::string> problems;
  unsigned passed = 0;
  for (size_t k = 0; k < tests.size(); ++k) {
    const NodeTest &t = tests[k];
    const Outcome &r = results[k];
    Tally &tally = perOp[join(t.opTypes, "+")];
    ++tally.tests;
    tally.pass += r.pass;
    passed += r.pass;
    if (verbose)
      outs() << (r.pass ? "pass " : "fail ") << t.name
             << (r.pass ? "" : ": " + r.why) << "\n";
    auto it = expected->find(t.name);
    if (it == expected->end())
      problems.push_back(
          fmt::format("{}: not in the expectations file (it {}{}{})", t.name,
                      r.pass ? "passes" : "fails", r.pass ? "" : ": ", r.why));
    else if (it->second.pass && !r.pass)
      problems.push_back(
          fmt::format("{}: expected to pass, fails: {}", t.name, r.why));
    else if (!it->second.pass && r.pass)
      problems.push_back(
          fmt::format("{}: expected to fail ({}), now passes: mark it pass",
                      t.name, it->second.reason));
  }
  std::set<std::string> run;
  for (const NodeTest &t : tests)
    run.insert(t.name);
  for (const auto &[name, e] : *expected)
    if (!run.count(name) && selected(name))
      problems.push_back(fmt::format(
          "{}: listed, but not a test whose ops are all in the frontend's op "
          "table (or not in {})",
          name, dataDir.getValue()));

  outs() << fmt::format("onnx node tests: {} of the {} tests in {} use only "
                        "ops of frontend/OnnxOps.def{}; {} pass, {} fail\n",
                        tests.size(), total, dataDir.getValue(),
                        filters.empty() ? "" : " (and match the names given)",
                        passed, tests.size() - passed);
  outs() << fmt::format("  {:<44} {:>5} {:>5} {:>5}\n", "ops", "tests", "pass",
                        "fail");
  for (const auto &[ops, tally] : perOp)
    outs() << fmt::format("  {:<44} {:>5} {:>5} {:>5}\n", ops, tally.tests,
                          tally.pass, tally.tests - tally.pass);
  if (update)
    return 0;
  if (!problems.empty()) {
    errs() << "onnx node tests: " << problems.size() << " results differ from "
           << expectationsPath << ":\n";
    for (const std::string &p : problems)
      errs() << "  " << p << "\n";
    errs() << "Fix mpcc, or update the list (see its header) and say why "
              "in the commit.\n";
    return 1;
  }
  outs() << "onnx node tests: every result as expected\n";
  return 0;
}
