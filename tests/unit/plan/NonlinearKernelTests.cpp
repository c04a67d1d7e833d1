//===- tests/unit/plan/NonlinearKernelTests.cpp - Non-linear kernels ------===//
//
// Each non-linear kernel run through the whole executor (dealer, both
// parties, in-process): x (shared input) -> kernel -> reveal to party 1,
// against a double-precision reference within the approximation's
// catalogued error, with measured traffic equal to the cost formulas. And a
// grid of attribute values: whatever the plan reader accepts must deal
// exactly the dealer bytes its cost formula states (the protocols assert on
// parameters they do not support, so an accepted plan must never get there).
//
//===----------------------------------------------------------------------===//
#include "PlanTestUtil.h"

#include "runtime/plan/Plan.pb.h"
#include "runtime/protocols/Nonlinear.h"

#include <cmath>
#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

using namespace mpc;
using namespace mpc::rt;
using namespace mpc::rt::testing;
using Catch::Matchers::Contains;

namespace {

constexpr int kFrac = 16;

/// Deterministic values spread over [lo, hi].
std::vector<double> spread(size_t n, double lo, double hi) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) {
    double t = double((i * 37) % n) / double(n - 1);
    v[i] = lo + t * (hi - lo);
  }
  return v;
}

struct Case {
  std::string kernel;
  std::function<void(plan::PlanOp &)> attrs;
  std::vector<int64_t> shape = {2, 8};
  double lo = -5, hi = 5;
  const char *approx = nullptr; ///< Catalogue entry for the tolerance.
  double tol = 0;               ///< Used when approx is null.
  std::function<std::vector<double>(const std::vector<double> &)> ref;
  bool affine = false; ///< layernorm with gamma and beta.
  bool mask = false;   ///< softmax 2quad with a 0/1 mask.
};

std::vector<double> elementwise(const std::vector<double> &x,
                                double (*f)(double)) {
  std::vector<double> y;
  for (double v : x)
    y.push_back(f(v));
  return y;
}

double geluRef(double x) {
  return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}

/// Row-wise map over the last axis (length 8 here).
template <typename F>
std::vector<double> rows(const std::vector<double> &x, size_t len, F f) {
  std::vector<double> y;
  for (size_t r = 0; r < x.size() / len; ++r) {
    std::vector<double> row(x.begin() + r * len, x.begin() + (r + 1) * len);
    std::vector<double> out = f(row);
    y.insert(y.end(), out.begin(), out.end());
  }
  return y;
}

const std::vector<double> kGamma = {1.0, 0.5, 2.0, -1.0, 1.5, 0.25, 1.0, 0.75};
const std::vector<double> kBeta = {0.1, -0.2, 0.0, 0.3, 0.5, -0.5, 0.2, 0.0};
const std::vector<int64_t> kMask = {1, 1, 1, 1, 1, 0, 0, 1};

std::vector<double> layerNormRef(const std::vector<double> &row, bool affine) {
  double mean = 0, var = 0;
  for (double v : row)
    mean += v / row.size();
  for (double v : row)
    var += (v - mean) * (v - mean) / row.size();
  std::vector<double> y;
  for (size_t i = 0; i < row.size(); ++i) {
    double n = (row[i] - mean) / std::sqrt(var + 1e-5);
    y.push_back(affine ? n * kGamma[i] + kBeta[i] : n);
  }
  return y;
}

void runCase(const Case &c) {
  INFO("kernel " << c.kernel);
  PlanBuilder b;
  auto S = plan::VIS_SHARED;
  Shape outShape(c.shape.begin(), c.shape.end());
  if (c.kernel == "max")
    outShape.back() = 1;
  std::vector<int64_t> os(outShape.begin(), outShape.end());
  int x = b.value("x", c.shape, kFrac, S);
  std::vector<int> ins = {x};
  WeightMap weights;
  if (c.affine) {
    int g = b.value("gamma", {8}, kFrac, plan::VIS_PRIVATE0);
    int be = b.value("beta", {8}, kFrac, plan::VIS_PRIVATE0);
    ins.push_back(g);
    ins.push_back(be);
    weights[g] = fixed(kGamma, {8}, kFrac);
    weights[be] = fixed(kBeta, {8}, kFrac);
  }
  if (c.mask)
    ins.push_back(b.constant("mask", {1, 8}, 0,
                             std::vector<u64>(kMask.begin(), kMask.end()),
                             /*isInt=*/true));
  int y = b.value("y", os, kFrac, S);
  int out = b.value("out", os, kFrac, plan::VIS_PRIVATE1);
  b.input("x", x, "float32");
  c.attrs(b.op(c.kernel, ins, {y}, 0));
  setInt(b.op("reveal", {y}, {out}, 1), "to", 1);
  b.output("out", out);
  LoadedPlan plan = mustLoad(b);

  std::vector<double> xs = spread(numElements(c.shape), c.lo, c.hi);
  Run3 r =
      runInProcess(plan, std::move(weights),
                   encode1(plan, {{"x", HostTensor::floats(c.shape, xs)}}));
  requireOk(r);
  requireProfileMatchesCost(plan, (**r.p0).profile);
  requireProfileMatchesCost(plan, (**r.p1).profile);

  double absErr = c.tol, relErr = 0;
  if (c.approx) {
    const ApproxInfo *info = approxInfo(c.approx);
    REQUIRE(info);
    absErr = info->maxAbsErr;
    relErr = info->maxRelErr;
  }
  std::vector<double> want = c.ref(xs);
  const HostTensor &got = (**r.p1).outputs.at("out");
  REQUIRE(got.f.size() == want.size());
  double ulp = std::ldexp(1.0, -kFrac);
  for (size_t i = 0; i < want.size(); ++i) {
    double tol = absErr + relErr * std::fabs(want[i]) + 4 * ulp;
    INFO("element " << i << ": got " << got.f[i] << ", want " << want[i]
                    << " (tolerance " << tol << ")");
    CHECK(std::fabs(got.f[i] - want[i]) <= tol);
  }
}

auto noAttrs = [](plan::PlanOp &) {};

} // namespace

TEST_CASE("comparison kernels: relu and max", "[plan][nonlinear]") {
  runCase({"relu", noAttrs, {2, 8}, -5, 5, nullptr, 0, [](auto &x) {
             return elementwise(x, [](double v) { return std::max(v, 0.0); });
           }});
  runCase({"max",
           [](plan::PlanOp &op) { setInt(op, "bits", 40); },
           {2, 8},
           -5,
           5,
           nullptr,
           0,
           [](auto &x) {
             return rows(x, 8, [](std::vector<double> row) {
               return std::vector<double>{
                   *std::max_element(row.begin(), row.end())};
             });
           }});
}

TEST_CASE("element-wise approximations", "[plan][nonlinear]") {
  for (const char *form : {"accurate", "puma"})
    runCase({"gelu",
             [&](plan::PlanOp &op) { setStr(op, "approx", form); },
             {2, 8},
             -6,
             6,
             std::string(form) == "puma" ? "gelu.puma" : "gelu.accurate",
             0,
             [](auto &x) { return elementwise(x, geluRef); }});
  runCase({"gelu",
           [](plan::PlanOp &op) { setStr(op, "approx", "quad"); },
           {2, 8},
           -6,
           6,
           "gelu.quad",
           0,
           [](auto &x) {
             return elementwise(
                 x, [](double v) { return 0.125 * v * v + 0.25 * v + 0.5; });
           }});
  runCase({"tanh", noAttrs, {2, 8}, -6, 6, "tanh.poly", 0, [](auto &x) {
             return elementwise(x, std::tanh);
           }});
  runCase({"exp", noAttrs, {2, 8}, -10, 0, "exp.limit", 0, [](auto &x) {
             return elementwise(x, std::exp);
           }});
  runCase({"exp",
           [](plan::PlanOp &op) { setInt(op, "order", 2); },
           {2, 8},
           -10,
           0,
           "exp.limit2",
           0,
           [](auto &x) { return elementwise(x, std::exp); }});
  auto recip = [](auto &x) {
    return elementwise(x, [](double v) { return 1 / v; });
  };
  runCase({"reciprocal",
           noAttrs,
           {2, 8},
           0.05,
           100,
           "reciprocal.goldschmidt",
           0,
           recip});
  runCase({"reciprocal",
           [](plan::PlanOp &op) { setStr(op, "approx", "newton"); },
           {2, 8},
           0.05,
           100,
           "reciprocal.newton",
           0,
           recip});
  auto rsq = [](auto &x) {
    return elementwise(x, [](double v) { return 1 / std::sqrt(v); });
  };
  runCase({"rsqrt", noAttrs, {2, 8}, 0.1, 100, "rsqrt.normalized", 0, rsq});
  runCase({"rsqrt",
           [](plan::PlanOp &op) { setStr(op, "approx", "newton"); },
           {2, 8},
           0.1,
           100,
           "rsqrt.newton",
           0,
           rsq});
}

TEST_CASE("softmax and layernorm", "[plan][nonlinear]") {
  auto softmaxRef = [](auto &x) {
    return rows(x, 8, [](std::vector<double> row) {
      double m = *std::max_element(row.begin(), row.end()), s = 0;
      for (double &v : row)
        s += (v = std::exp(v - m));
      for (double &v : row)
        v /= s;
      return row;
    });
  };
  runCase({"softmax", noAttrs, {2, 8}, -5, 5, "softmax.exact", 0, softmaxRef});
  runCase({"softmax",
           [](plan::PlanOp &op) { setStr(op, "approx", "puma"); },
           {2, 8},
           -5,
           5,
           "softmax.puma",
           0,
           softmaxRef});
  Case quad{"softmax",
            [](plan::PlanOp &op) {
              setStr(op, "approx", "2quad");
              setFloat(op, "c", 5);
            },
            {2, 8},
            -4,
            8,
            "softmax.2quad",
            0,
            [](auto &x) {
              return rows(x, 8, [](std::vector<double> row) {
                double s = 0;
                for (size_t i = 0; i < row.size(); ++i)
                  s += (row[i] = kMask[i] * (row[i] + 5) * (row[i] + 5));
                for (double &v : row)
                  v /= s;
                return row;
              });
            }};
  quad.mask = true;
  runCase(quad);

  for (bool affine : {false, true})
    for (const auto &form : {std::pair{"normalized", "layernorm"},
                             std::pair{"crypten", "layernorm.crypten"},
                             std::pair{"secformer", "layernorm.secformer"}}) {
      const char *approx = form.first, *entry = form.second;
      Case ln{"layernorm",
              [&](plan::PlanOp &op) {
                setFloat(op, "eps", 1e-5);
                setStr(op, "approx", approx);
              },
              {2, 8},
              -3,
              4,
              entry,
              0,
              [=](auto &x) {
                return rows(x, 8, [=](std::vector<double> row) {
                  return layerNormRef(row, affine);
                });
              }};
      ln.affine = affine;
      INFO("affine " << affine << ", " << approx);
      runCase(ln);
    }
}

TEST_CASE("accepted attributes deal exactly what the cost formula says",
          "[plan][nonlinear]") {
  // A grid around the defaults: every combination the reader accepts must
  // deal without reaching a protocol assertion, consuming exactly
  // cost(op).dealerBytes1 bytes of corrections.
  auto I = [](int64_t v) {
    plan::Attr a;
    a.set_i(v);
    return a;
  };
  auto Sa = [](std::string v) {
    plan::Attr a;
    a.set_s(v);
    return a;
  };
  struct G {
    std::string kernel;
    std::vector<int64_t> shape;
    std::map<std::string, plan::Attr> attrs;
  };
  std::vector<G> grid;
  for (int it : {1, 4, 8})
    for (int order : {1, 2})
      grid.push_back({"exp", {2, 4}, {{"iters", I(it)}, {"order", I(order)}}});
  struct Normalised {
    std::string kernel;
    std::vector<std::string> methods;
    std::vector<int> iters;
  };
  for (const Normalised &k :
       {Normalised{"reciprocal", {"goldschmidt", "newton"}, {1, 2, 10}},
        Normalised{"rsqrt", {"normalized", "newton"}, {0, 1, 3}}})
    for (const std::string &m : k.methods)
      for (int it : k.iters)
        for (int mb : {4, 16, 24})
          for (int me : {-12, -1})
            grid.push_back({k.kernel,
                            {2, 4},
                            {{"approx", Sa(m)},
                             {"iters", I(it)},
                             {"max_bits", I(mb)},
                             {"min_exp", I(me)}}});
  for (std::string f : {"accurate", "puma", "quad"})
    for (int cb : {24, 40, 62})
      grid.push_back(
          {"gelu", {2, 4}, {{"approx", Sa(f)}, {"compare_bits", I(cb)}}});
  for (int cb : {24, 40, 62})
    grid.push_back({"tanh", {2, 4}, {{"compare_bits", I(cb)}}});
  for (std::string f : {"exact", "puma", "2quad"})
    for (int ei : {1, 7, 16})
      for (int ib : {20, 40, 60, 61})
        for (int64_t len : {1, 8, 300})
          grid.push_back({"softmax",
                          {2, len},
                          {{"approx", Sa(f)},
                           {"exp_iters", I(ei)},
                           {"input_bits", I(ib)}}});
  for (std::string ap : {"normalized", "crypten", "secformer"})
    for (int ri : {0, 1, 3})
      for (int ib : {1, 14, 30})
        for (int64_t d : {1, 8, 768})
          grid.push_back({"layernorm",
                          {2, d},
                          {{"approx", Sa(ap)},
                           {"rsqrt_iters", I(ri)},
                           {"input_bits", I(ib)}}});

  size_t accepted = 0;
  for (int frac : {12, 16})
    for (const G &g : grid) {
      PlanBuilder b;
      int x = b.value("x", g.shape, frac, plan::VIS_SHARED);
      int y = b.value("y", g.shape, frac, plan::VIS_SHARED);
      int out = b.value("out", g.shape, frac, plan::VIS_PRIVATE1);
      b.input("x", x, "float32");
      plan::PlanOp &op = b.op(g.kernel, {x}, {y}, 0);
      for (const auto &[k, v] : g.attrs)
        (*op.mutable_attrs())[k] = v;
      setInt(b.op("reveal", {y}, {out}, 1), "to", 1);
      b.output("out", out);
      llvm::Expected<LoadedPlan> plan = b.load();
      if (!plan) {
        llvm::consumeError(plan.takeError());
        continue;
      }
      ++accepted;
      const OpDesc &d = plan->ops[0];
      INFO(d.describe() << " frac " << frac << " shape "
                        << shapeString(g.shape));
      // In a child process, so that a protocol assertion fails this check
      // instead of the whole test binary (one ring thread: the child has
      // no pool workers).
      pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        std::signal(SIGABRT, SIG_DFL); // no Catch report from the child
        setRingThreads(1);
        std::vector<u64> toP1;
        Corr dealer = Corr::dealer(randomSeed(), randomSeed(), &toP1);
        Session s;
        s.role = Role::Dealer;
        s.masks = WeightMasks::withSeed(int(Role::Dealer), randomSeed());
        (void)d.kernel->deal(dealer, d, s);
        _exit(wordBytes(toP1.size()) == d.kernel->cost(d).dealerBytes1 ? 0 : 3);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      bool aborted = WIFSIGNALED(status);
      CHECK_FALSE(aborted);
      if (!aborted)
        CHECK(WEXITSTATUS(status) == 0); // 3: dealt bytes != cost formula
    }
  CHECK(accepted > grid.size()); // most of the grid is valid at both fracs
}
