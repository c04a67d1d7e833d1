//===- backend/CostReport.cpp - Predicted cost of a plan ------------------===//
//
// Predicted time of an op: its rounds times half the round-trip time, plus
// the larger of its two directions' bytes over the bandwidth (the link is
// full duplex), plus its local multiply-accumulates at the measured ring
// rate. Half: a round is one lockstep exchange, in which each party sends
// what it has and waits for the other's message, sent at the same time,
// so each round adds one one-way latency to the run (a question and its
// answer are two rounds). Measured under `mpc-run local --emulate-net`
// (bench/bench_wan.py), bert-tiny at 100 Gbit/s and 40 ms RTT took 4.1 s
// online for 175 rounds: 3.5 s of it is 175 x 20 ms; a whole RTT per
// round predicted 7.2 s.
// Plan totals use the schedule's rounds (ops of a step share rounds), so
// the total is not the sum of the rows' rounds.
//
//===----------------------------------------------------------------------===//

#include "backend/CostReport.h"

#include "passes/ApproxChoice.h"

#include "runtime/Ring.h"
#include "runtime/plan/Kernel.h"
#include "runtime/plan/Plan.pb.h"
#include "runtime/plan/Profile.h"
#include "runtime/protocols/FxProgram.h"
#include "runtime/protocols/Nonlinear.h"
#include "support/Diag.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

using namespace mpc;

llvm::Expected<ReportFormat> mpc::parseReportFormat(llvm::StringRef s) {
  if (s == "text")
    return ReportFormat::Text;
  if (s == "json")
    return ReportFormat::Json;
  if (s == "csv")
    return ReportFormat::Csv;
  return error("--format '{}': expected text, json or csv", s.str());
}

/// Repeats \p work until 50 ms have passed; returns reps per second.
template <typename F> static double repsPerSecond(F work) {
  auto start = std::chrono::steady_clock::now();
  int reps = 0;
  double secs = 0;
  do {
    work();
    ++reps;
    secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  } while (secs < 0.05);
  return reps / secs;
}

llvm::Expected<LocalRates> mpc::parseLocalRates(llvm::StringRef spec) {
  auto [macs, ops] = spec.split(',');
  double m = 0, o = 0;
  if (macs.trim().getAsDouble(m) || ops.trim().getAsDouble(o) || !(m > 0) ||
      !(o > 0) || !std::isfinite(m * 1e9) || !std::isfinite(o * 1e9))
    return error("--work-rates '{}': expected GMACS,GOPS, the matrix GMAC/s "
                 "and element-wise G ops/s as the report prints them (e.g. "
                 "38.4,0.19), both positive",
                 spec.str());
  LocalRates r;
  r.macsPerSecond = m * 1e9;
  r.elemOpsPerSecond = o * 1e9;
  return r;
}

LocalRates mpc::measureLocalRates() {
  LocalRates r;
  const int64_t n = 256;
  rt::RingTensor a({n, n}), b({n, n});
  for (int64_t i = 0; i < a.size(); ++i)
    a[i] = b[i] = uint64_t(i * 2654435761u);
  r.macsPerSecond =
      double(n * n * n) * repsPerSecond([&] { (void)rt::matmul(a, b); });

  // The runtime's own element-wise code: a local step of a premasked
  // program (a product and a square of two premasked values, one with two
  // mask candidates) over arrays larger than the caches, as party 0.
  const int64_t m = int64_t(1) << 19;
  rt::fx::Builder pb(m);
  int x = pb.maskedInput(1), y = pb.maskedInput(2);
  pb.local(pb.var(x, 16) * pb.var(y, 16) + pb.var(x, 16) * pb.var(x, 16));
  std::shared_ptr<const rt::fx::Program> prog = pb.finish();
  rt::Corr corr = rt::Corr::party(0, rt::Seed{});
  rt::fx::Mat mat = rt::fx::dealProgram(corr, prog);
  rt::fx::State st(*prog);
  rt::Prg prg(rt::Seed{});
  for (int id : {x, y}) {
    rt::fx::MaskedView v;
    v.ncand = id == x ? 1 : 2;
    v.d = prg.tensor({m});
    for (int c = 0; c < v.ncand; ++c)
      v.cand[c] = prg.tensor({m});
    if (v.ncand == 2) {
      v.sel.resize(m);
      for (int64_t i = 0; i < m; ++i)
        v.sel[i] = uint8_t(v.d[i] & 1);
    }
    rt::fx::setMasked(st, id, std::move(v));
  }
  rt::ExchangeSlot slot;
  rt::Party party(0, &prg, &slot);
  double ops = rt::fx::stagesCost(*prog, 0, prog->numStages()).elemOps;
  auto step = [&] {
    // No exchange in the program: the coroutine runs to completion.
    rt::Proto<int> run =
        rt::fx::runStages(party, mat, st, 0, prog->numStages());
    run.handle().resume();
  };
  step(); // first touch of the arrays is not the steady state
  r.elemOpsPerSecond = ops * repsPerSecond(step);
  return r;
}

/// The plan's approximations in --approx's own terms: its preset, then
/// each kind's choice and each per-node rule that differs from the preset
/// ("accurate,gelu=puma,softmax=2quad@/encoder/layer.0/*"). An auto plan's
/// preset string already says what it chose.
static std::string
approxSummary(const google::protobuf::Map<std::string, std::string> &options) {
  auto it = options.find("approx");
  std::string summary = it == options.end() ? std::string() : it->second;
  const ApproxPreset *preset = nullptr;
  for (const ApproxPreset &p : approxPresets())
    if (summary == p.name)
      preset = &p;
  if (!preset)
    return summary;
  // std::map: the options in a stable order whatever the plan's map does.
  std::map<std::string, std::string> sorted(options.begin(), options.end());
  for (const auto &[key, name] : sorted) {
    llvm::StringRef rest(key);
    if (!rest.consume_front("approx."))
      continue;
    auto [kindName, glob] = rest.split('@');
    std::optional<rt::ApproxKind> kind = rt::approxKindFromName(kindName);
    if (!kind)
      continue;
    if (glob.empty()) {
      rt::Approximation presetChoice = rt::defaultApprox(*kind);
      for (const auto &[k, a] : preset->choices)
        if (k == *kind)
          presetChoice = a;
      if (rt::approxInfo(presetChoice).shortName == name)
        continue;
    }
    summary += fmt::format(",{}={}{}{}", kindName.str(), name,
                           glob.empty() ? "" : "@", glob.str());
  }
  return summary;
}

namespace {
struct Row {
  std::string node, op, protocol;
  rt::Cost cost;
  double local = 0;   ///< Predicted local work.
  double seconds = 0; ///< Predicted, network included.
};
} // namespace

/// "fx20, |x|<2^6": the fractional bits a nonlinear op computes at and
/// the range its comparisons hold (--frac-bits auto gives each its own);
/// "" for other ops.
static std::string scaleLabel(const rt::OpDesc &op) {
  int frac = op.out.empty() ? 0 : op.out[0]->frac;
  int bits = 0;
  switch (op.kernel->id()) {
  case rt::KernelId::Gelu:
  case rt::KernelId::Tanh:
    bits = int(op.attrInt("compare_bits", 0)) - 1;
    break;
  case rt::KernelId::Relu:
    bits = int(op.attrInt("bits", 0)) - 1;
    break;
  case rt::KernelId::Softmax:
    frac = op.in[0]->frac;
    bits = int(op.attrInt("input_bits", 0));
    // At the cap the input bits say nothing of the range.
    if (bits >= rt::kSoftmaxMaxInputBits)
      bits = 0;
    break;
  default:
    return "";
  }
  if (bits <= frac)
    return fmt::format("fx{}", frac);
  return fmt::format("fx{}, |x|<2^{}", frac, bits - frac);
}

/// "gelu(puma)", "trunc(16)", "pw_linear(3 weights)": kernel plus the
/// attribute that names its protocol variant; with \p scales, nonlinear
/// ops' formats too: "gelu(accurate; fx20, |x|<2^6)".
static std::string protocolLabel(const rt::OpDesc &op, bool scales) {
  std::string k = op.kernelName().str();
  std::string scale = scales ? scaleLabel(op) : "";
  if (op.kernel->id() == rt::KernelId::Relu && !scale.empty())
    return fmt::format("{}({})", k, scale);
  if (op.hasAttr("approx"))
    return fmt::format("{}({}{})", k, op.attrStr("approx"),
                       scale.empty() ? "" : "; " + scale);
  if (op.kernel->id() == rt::KernelId::Trunc)
    return fmt::format("{}({} bits)", k, op.attrInt("bits"));
  if (op.kernel->id() == rt::KernelId::PwLinear)
    return fmt::format("{}({} weight{})", k, op.in.size() - 1,
                       op.in.size() > 2 ? "s" : "");
  return k;
}

double mpc::networkSeconds(const rt::Cost &c, const NetworkModel &net) {
  // The dealer's answers to embedding lookups follow party 1's keys to the
  // dealer on the dealer's links, within the parties' round of keys.
  uint64_t bytes = std::max({c.bytes01, c.bytes10, c.bytes1D + c.bytesD0});
  return c.rounds * net.rttSeconds / 2 + double(bytes) / net.bytesPerSecond;
}

/// Local work at the rates alone.
static double uncalibratedSeconds(double macs, double elemOps,
                                  const LocalRates &rates) {
  double s = 0;
  if (rates.macsPerSecond > 0)
    s += macs / rates.macsPerSecond;
  if (rates.elemOpsPerSecond > 0)
    s += elemOps / rates.elemOpsPerSecond;
  return s;
}

double mpc::localSeconds(const rt::Cost &c, const LocalRates &rates,
                         llvm::StringRef kernel) {
  double s = uncalibratedSeconds(c.macs, c.elemOps, rates);
  if (rates.kernelFactor.empty())
    return s;
  auto it = rates.kernelFactor.find(kernel.str());
  return s * (it == rates.kernelFactor.end() ? rates.otherKernels : it->second);
}

llvm::Error mpc::calibrateByProfile(LocalRates &rates, llvm::StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return error("--work-profile {}: {}", path.str(), buf.getError().message());
  auto measured = rt::profileFromJson((*buf)->getBuffer());
  if (!measured)
    return addContext(measured.takeError(),
                      "--work-profile " + path.str() + ": ");
  return calibrateRates(rates, *measured, path);
}

LocalRates mpc::referenceRates() {
  // Near what `mpcc report` measures on this 2-core machine; once
  // calibrated, only their ratio matters (see the header).
  LocalRates r;
  r.macsPerSecond = 30e9;
  r.elemOpsPerSecond = 0.8e9;
  return r;
}

std::string mpc::pricingName(const NetworkModel &net, const LocalRates &rates) {
  if (rates.kernelFactor.empty())
    return net.name;
  return fmt::format("{}; local work calibrated by {}", net.name,
                     rates.calibratedBy);
}

double mpc::offlineSeconds(const rt::Cost &c, const NetworkModel &net,
                           const LocalRates &rates, llvm::StringRef kernel) {
  double bytes = double(std::max(c.dealerBytes0, c.dealerBytes1));
  auto it = rates.kernelOfflinePerByte.find(kernel.str());
  double perByte = it == rates.kernelOfflinePerByte.end()
                       ? rates.otherOfflinePerByte
                       : it->second;
  return std::max(bytes / net.bytesPerSecond, bytes * perByte);
}

double mpc::predictSeconds(const rt::Cost &c, const NetworkModel &net,
                           const LocalRates &rates, llvm::StringRef kernel) {
  return networkSeconds(c, net) + localSeconds(c, rates, kernel);
}

llvm::Error mpc::calibrateRates(LocalRates &rates,
                                const rt::RunProfile &measured,
                                llvm::StringRef source) {
  auto fail = [&](const std::string &what) {
    return error("--work-profile {}: {}", source.str(), what);
  };
  if (!(rates.macsPerSecond > 0) || !(rates.elemOpsPerSecond > 0))
    return fail("the local work rates are not set");
  if (measured.network.empty())
    return fail("the profile does not say which links it was measured on "
                "(a role's own profile on separate machines); calibrate from "
                "`mpc-run local --profile`, on loopback or with --emulate-net");
  auto net = parseNetworkModel(measured.network, "the profile's network");
  if (!net)
    return fail(llvm::toString(net.takeError()));
  if (measured.ops.empty())
    return fail("the profile has no ops");
  // Times a run can have taken (a day at most) and work counts a plan can
  // have: anything else is not a measurement, and would price every plan
  // at nonsense (or at infinity, which JSON cannot hold).
  auto time = [](double s) { return s >= 0 && s <= 86400; };
  auto count = [](double w) { return w >= 0 && w <= 1e18; };
  for (const auto &[what, s] : {std::pair<const char *, double>{
                                    "online_seconds", measured.onlineSeconds},
                                {"offline_seconds", measured.offlineSeconds},
                                {"setup_seconds", measured.setupSeconds}})
    if (!time(s))
      return fail(fmt::format("its total's {} {} is not a run's time (0 to "
                              "86400 s)",
                              what, s));
  double opSeconds = 0, work = 0;
  for (const rt::OpProfile &op : measured.ops) {
    if (!time(op.seconds) || !time(op.offlineSeconds))
      return fail(fmt::format("op {} ({}): seconds {} / offline_seconds {} "
                              "are not a run's time (0 to 86400 s)",
                              op.index, op.node, op.seconds,
                              op.offlineSeconds));
    if (!count(op.macs) || !count(op.elemOps))
      return fail(fmt::format("op {} ({}): macs {} / element_ops {} are not "
                              "work counts (0 to 1e18)",
                              op.index, op.node, op.macs, op.elemOps));
    opSeconds += op.seconds;
    work += op.macs + op.elemOps;
  }
  if (!(work > 0))
    return fail("the profile has no work counts per op (macs, element_ops): "
                "it was written by an older mpc-run; profile the run again");
  if (!(opSeconds > 0) || !(measured.onlineSeconds > 0))
    return fail("the profile has no measured online time");
  // Each op's row holds the slower party's seconds, so the rows add up to
  // more than the run's online time: scale them to it.
  double scale = measured.onlineSeconds / opSeconds;
  // What the profile's network took of each row: as the executor splits a
  // step's communication among its ops, by bytes (ops of one step share
  // its rounds, so the step's are the most any of them has).
  struct StepTraffic {
    rt::Cost cost;
    uint64_t bytes = 0;
    int ops = 0;
  };
  std::map<int, StepTraffic> steps;
  for (const rt::OpProfile &op : measured.ops) {
    StepTraffic &st = steps[op.step];
    st.cost.rounds = std::max(st.cost.rounds, op.rounds);
    st.cost.bytes01 += op.bytes01;
    st.cost.bytes10 += op.bytes10;
    st.bytes += op.bytes01 + op.bytes10;
    st.ops += op.rounds > 0 ? 1 : 0;
  }
  auto networkShare = [&](const rt::OpProfile &op) {
    const StepTraffic &st = steps[op.step];
    double share = st.bytes > 0    ? double(op.bytes01 + op.bytes10) / st.bytes
                   : op.rounds > 0 ? 1.0 / st.ops
                                   : 0.0;
    return share * networkSeconds(st.cost, *net);
  };
  std::map<std::string, std::pair<double, double>> byKernel; // local, model
  double allLocal = 0, allModel = 0;
  for (const rt::OpProfile &op : measured.ops) {
    double model = uncalibratedSeconds(op.macs, op.elemOps, rates);
    if (!(model > 0))
      continue;
    double local = std::max(0.0, op.seconds * scale - networkShare(op));
    auto &[l, m] = byKernel[op.kernel];
    l += local;
    m += model;
    allLocal += local;
    allModel += model;
  }
  // The rows give each kernel's share of the local work; the whole is the
  // run's online time less what its rounds and bytes take on its network
  // (the row-by-row estimates drop the time rows spend waiting beyond
  // their share, and over a slow link the network is most of each row).
  // So the same plan on the same network is predicted at its measurement.
  rt::Cost runTraffic;
  runTraffic.rounds = measured.onlineRounds;
  runTraffic.bytes01 = measured.onlineBytes01;
  runTraffic.bytes10 = measured.onlineBytes10;
  runTraffic.bytes1D = measured.onlineBytes1D;
  runTraffic.bytesD0 = measured.onlineBytesD0;
  double network = networkSeconds(runTraffic, *net);
  double localTotal = measured.onlineSeconds - network;
  if (!(localTotal > 0.02 * measured.onlineSeconds))
    return fail(fmt::format(
        "its online time, {:.3f} s, is almost all what its rounds and bytes "
        "take on {} ({:.3f} s): too little is left to calibrate local work "
        "by; profile a run whose links are faster (loopback)",
        measured.onlineSeconds, net->name, network));
  if (!(allLocal > 0)) { // every row within its network share: even split
    for (auto &[kernel, lm] : byKernel)
      lm.first = lm.second;
    allLocal = allModel;
  }
  double toRun = localTotal / allLocal;
  rates.kernelFactor.clear();
  for (const auto &[kernel, lm] : byKernel)
    if (lm.first > 0)
      rates.kernelFactor[kernel] = lm.first / lm.second * toRun;
  rates.otherKernels = allLocal / allModel * toRun;

  // Offline: the rows' offline seconds scaled to the run's, per dealer
  // byte (ops without material deal nothing worth timing).
  double offlineRows = 0, dealt = 0;
  for (const rt::OpProfile &op : measured.ops)
    if (op.dealerBytes > 0) {
      offlineRows += op.offlineSeconds;
      dealt += double(op.dealerBytes);
    }
  rates.kernelOfflinePerByte.clear();
  rates.otherOfflinePerByte = 0;
  if (offlineRows > 0 && measured.offlineSeconds > 0) {
    double offlineScale = measured.offlineSeconds / offlineRows;
    std::map<std::string, std::pair<double, double>> perKernel; // s, bytes
    for (const rt::OpProfile &op : measured.ops)
      if (op.dealerBytes > 0) {
        auto &[s, b] = perKernel[op.kernel];
        s += op.offlineSeconds * offlineScale;
        b += double(op.dealerBytes);
      }
    for (const auto &[kernel, sb] : perKernel)
      rates.kernelOfflinePerByte[kernel] = sb.first / sb.second;
    rates.otherOfflinePerByte = measured.offlineSeconds / dealt;
  }
  rates.setupPerByte =
      measured.setupBytes01 > 0
          ? measured.setupSeconds / double(measured.setupBytes01)
          : 0;
  rates.calibratedBy = source.str();
  rates.calibratedOn = net->name;
  return llvm::Error::success();
}

void mpc::printCostReport(const rt::LoadedPlan &plan, const NetworkModel &net,
                          const LocalRates &rates, ReportFormat format,
                          llvm::raw_ostream &os) {
  const auto &options = plan.proto->options();
  auto option = [&](const char *key) {
    auto it = options.find(key);
    return it == options.end() ? std::string() : it->second;
  };
  bool autoScales = option("scales") == "auto";
  std::vector<Row> rows;
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const rt::OpDesc &op = plan.ops[i];
    Row r{op.onnxNode().str(), op.kernelName().str(),
          protocolLabel(op, autoScales), rt::opCost(plan, i)};
    r.local = localSeconds(r.cost, rates, r.op);
    r.seconds = networkSeconds(r.cost, net) + r.local;
    rows.push_back(std::move(r));
  }
  std::vector<rt::Cost> opCosts;
  for (const Row &r : rows)
    opCosts.push_back(r.cost);
  rt::Cost total = rt::planCost(plan, opCosts);
  rt::Cost setup = rt::setupCost(plan);
  // Rounds and bytes of the whole plan (ops of a step share rounds), local
  // work op by op (each at its kernel's calibration).
  double online = networkSeconds(total, net);
  for (const Row &r : rows)
    online += r.local;
  // Offline: each op's material over the link, or made and taken in at the
  // calibrated pace, whichever is longer.
  double offline = 0;
  for (const Row &r : rows)
    offline += offlineSeconds(r.cost, net, rates, r.op);
  double setupSeconds =
      std::max(setup.rounds * net.rttSeconds / 2 +
                   double(setup.setupBytes01) / net.bytesPerSecond,
               double(setup.setupBytes01) * rates.setupPerByte);

  // What shaped the plan's costs: its approximations (a preset, or auto's
  // budget and errors), exact truncation, fractional bits.
  std::string approx = approxSummary(options);
  bool exact = option("exact_truncation") == "1";
  std::string fracBits = option("frac_bits");
  llvm::json::Value fracBitsNumber = nullptr;
  if (int f = 0; !llvm::StringRef(fracBits).getAsInteger(10, f))
    fracBitsNumber = f;

  switch (format) {
  case ReportFormat::Json: {
    llvm::json::Array ops;
    for (const Row &r : rows)
      ops.push_back(llvm::json::Object{
          {"node", r.node},
          {"op", r.op},
          {"protocol", r.protocol},
          {"rounds", int64_t(r.cost.rounds)},
          {"bytes_p0_to_p1", int64_t(r.cost.bytes01)},
          {"bytes_p1_to_p0", int64_t(r.cost.bytes10)},
          {"dealer_bytes", int64_t(r.cost.dealerBytes0 + r.cost.dealerBytes1)},
          {"bytes_p1_to_dealer", int64_t(r.cost.bytes1D)},
          {"bytes_dealer_to_p0", int64_t(r.cost.bytesD0)},
          {"macs", r.cost.macs},
          {"element_ops", r.cost.elemOps},
          {"seconds", r.seconds}});
    llvm::json::Value calibration = nullptr;
    if (!rates.kernelFactor.empty()) {
      llvm::json::Object factors;
      for (const auto &[kernel, f] : rates.kernelFactor)
        factors[kernel] = f;
      calibration = llvm::json::Object{{"profile", rates.calibratedBy},
                                       {"network", rates.calibratedOn},
                                       {"kernels", std::move(factors)},
                                       {"other_kernels", rates.otherKernels}};
    }
    llvm::json::Object doc{
        {"plan", plan.name},
        {"network", net.name},
        {"calibration", std::move(calibration)},
        {"approx", approx},
        {"exact_truncation", exact},
        {"frac_bits", fracBitsNumber},
        {"ops", std::move(ops)},
        {"total",
         llvm::json::Object{
             {"rounds", int64_t(total.rounds)},
             {"bytes_p0_to_p1", int64_t(total.bytes01)},
             {"bytes_p1_to_p0", int64_t(total.bytes10)},
             {"dealer_bytes", int64_t(total.dealerBytes0 + total.dealerBytes1)},
             {"bytes_p1_to_dealer", int64_t(total.bytes1D)},
             {"bytes_dealer_to_p0", int64_t(total.bytesD0)},
             {"online_seconds", online},
             {"offline_seconds", offline},
             {"setup_bytes", int64_t(setup.setupBytes01)},
             {"setup_seconds", setupSeconds},
             {"macs", total.macs},
             {"element_ops", total.elemOps}}}};
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(doc))) << "\n";
    return;
  }
  case ReportFormat::Csv: {
    // RFC 4180 quoting: node names and an auto plan's approx string may
    // hold commas and quotes.
    auto quote = [](llvm::StringRef text) {
      std::string q = "\"";
      for (char c : text)
        q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    // The plan's options and the network (of the JSON report's top level;
    // the plan's name and a work-profile calibration are not columns), and
    // the offline and set-up figures (the JSON total's), are columns of the
    // total row only.
    os << "node,op,protocol,rounds,bytes_p0_to_p1,bytes_p1_to_p0,"
          "dealer_bytes,macs,element_ops,seconds,bytes_p1_to_dealer,"
          "bytes_dealer_to_p0,approx,exact_truncation,frac_bits,network,"
          "offline_seconds,setup_bytes,setup_seconds\n";
    for (const Row &r : rows)
      os << fmt::format(
          "{},{},{},{},{},{},{},{:.0f},{:.0f},{:.6g},{},{},,,,,,,\n",
          quote(r.node), r.op, quote(r.protocol), r.cost.rounds, r.cost.bytes01,
          r.cost.bytes10, r.cost.dealerBytes0 + r.cost.dealerBytes1,
          r.cost.macs, r.cost.elemOps, r.seconds, r.cost.bytes1D,
          r.cost.bytesD0);
    os << fmt::format("\"total\",,,{},{},{},{},{:.0f},{:.0f},{:.6g},{},{},{},"
                      "{},{},{},{:.6g},{},{:.6g}\n",
                      total.rounds, total.bytes01, total.bytes10,
                      total.dealerBytes0 + total.dealerBytes1, total.macs,
                      total.elemOps, online, total.bytes1D, total.bytesD0,
                      quote(approx), exact ? 1 : 0, fracBits, quote(net.name),
                      offline, setup.setupBytes01, setupSeconds);
    return;
  }
  case ReportFormat::Text:
    break;
  }
  auto mb = [](uint64_t b) { return double(b) / 1e6; };
  os << fmt::format("plan {} — {} ops; network {}; ring work {:.2f} GMAC/s "
                    "(matrix), {:.2f} G/s (element-wise)\n",
                    plan.name, rows.size(), net.name, rates.macsPerSecond / 1e9,
                    rates.elemOpsPerSecond / 1e9);
  if (!rates.kernelFactor.empty()) {
    std::string factors;
    for (const auto &[kernel, f] : rates.kernelFactor)
      factors +=
          fmt::format("{}{} x{:.2f}", factors.empty() ? "" : ", ", kernel, f);
    os << fmt::format("local work calibrated by {} (measured on {}; "
                      "measured / predicted at the rates above): {}; "
                      "other kernels x{:.2f}\n",
                      rates.calibratedBy, rates.calibratedOn, factors,
                      rates.otherKernels);
  }
  if (!approx.empty())
    os << fmt::format("approximations: {}; {} fractional bits{}{}\n", approx,
                      fracBits.empty() ? "?" : fracBits,
                      autoScales ? " (nonlinear ops: their own, --frac-bits "
                                   "auto)"
                                 : "",
                      exact ? "; exact truncation" : "");
  // Wide enough for the longest protocol ("gelu(accurate; fx17, |x|<2^6)").
  size_t width = 22;
  for (const Row &r : rows)
    width = std::max(width, r.protocol.size());
  os << fmt::format("{:<48} {:<{}} {:>6} {:>10} {:>10} {:>10} {:>9}\n",
                    "onnx node", "protocol", width, "rounds", "P0->P1 MB",
                    "P1->P0 MB", "dealer MB", "pred ms");
  for (const Row &r : rows) {
    if (r.cost.rounds == 0 && r.cost.macs == 0 &&
        r.cost.dealerBytes0 + r.cost.dealerBytes1 == 0)
      continue; // local element work (reshape, add): its time is in the total
    std::string node =
        r.node.size() > 47 ? "…" + r.node.substr(r.node.size() - 46) : r.node;
    os << fmt::format("{:<48} {:<{}} {:>6} {:>10.3f} {:>10.3f} {:>10.3f} "
                      "{:>9.3f}\n",
                      node, r.protocol, width, r.cost.rounds,
                      mb(r.cost.bytes01), mb(r.cost.bytes10),
                      mb(r.cost.dealerBytes0 + r.cost.dealerBytes1),
                      r.seconds * 1e3);
  }
  uint64_t rowRounds = 0;
  for (const Row &r : rows)
    rowRounds += r.cost.rounds;
  os << fmt::format("\nonline : {} rounds, {:.3f} MB P0->P1, {:.3f} MB P1->P0, "
                    "{:.3f} s predicted\n",
                    total.rounds, mb(total.bytes01), mb(total.bytes10), online);
  os << rt::sharedRoundsNote(rowRounds, total.rounds);
  if (total.bytes1D || total.bytesD0)
    os << fmt::format("         embedding lookups, on the dealer's links: "
                      "{:.3f} MB P1->dealer (DPF keys), {:.3f} MB dealer->P0 "
                      "(answers)\n",
                      mb(total.bytes1D), mb(total.bytesD0));
  os << fmt::format("offline: {:.3f} MB dealer->P1, {:.3f} MB dealer->P0, "
                    "{:.3f} s predicted\n",
                    mb(total.dealerBytes1), mb(total.dealerBytes0), offline);
  os << fmt::format("set-up : {:.3f} MB P0->P1 (W - B, once per client "
                    "session), {:.3f} s predicted\n",
                    mb(setup.setupBytes01), setupSeconds);
  if (!rates.kernelFactor.empty())
    os << fmt::format("one request, set-up + offline + online: {:.3f} s "
                      "predicted\n",
                      setupSeconds + offline + online);
}
