//===- runtime/plan/Profile.cpp - Measured profiles: JSON and table -------===//
//
// JSON in both directions (children of `mpc-run local` hand their profiles
// to the parent as files), merging of the three processes' views, and the
// text table mpc-run prints.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/Profile.h"
#include "support/Diag.h"

#include "llvm/Support/Format.h"

#include <algorithm>

using namespace mpc;
using namespace mpc::rt;
namespace json = llvm::json;

json::Value mpc::rt::profileToJson(const RunProfile &p, const Cost *predicted,
                                   const PeakRss *rss) {
  json::Array ops;
  for (const OpProfile &o : p.ops)
    ops.push_back(json::Object{{"index", o.index},
                               {"node", o.node},
                               {"op", o.onnxOp},
                               {"protocol", o.kernel},
                               {"step", o.step},
                               {"rounds", int64_t(o.rounds)},
                               {"bytes_p0_to_p1", int64_t(o.bytes01)},
                               {"bytes_p1_to_p0", int64_t(o.bytes10)},
                               {"dealer_bytes", int64_t(o.dealerBytes)},
                               {"seconds", o.seconds},
                               {"offline_seconds", o.offlineSeconds},
                               {"macs", o.macs},
                               {"element_ops", o.elemOps}});
  json::Object total{{"rounds", int64_t(p.onlineRounds)},
                     {"bytes_p0_to_p1", int64_t(p.onlineBytes01)},
                     {"bytes_p1_to_p0", int64_t(p.onlineBytes10)},
                     {"dealer_bytes", int64_t(p.dealerBytes1)},
                     {"bytes_p1_to_dealer", int64_t(p.onlineBytes1D)},
                     {"bytes_dealer_to_p0", int64_t(p.onlineBytesD0)},
                     {"online_seconds", p.onlineSeconds},
                     {"offline_seconds", p.offlineSeconds},
                     {"setup_seconds", p.setupSeconds},
                     {"setup_rounds", int64_t(p.setupRounds)},
                     {"setup_bytes_p0_to_p1", int64_t(p.setupBytes01)},
                     {"handshake_seconds", p.handshakeSeconds},
                     {"output_rounds", int64_t(p.outputRounds)},
                     {"output_bytes_p1_to_p0", int64_t(p.outputBytes10)},
                     {"peak_rss_bytes", int64_t(p.peakRssBytes)}};
  if (!p.network.empty())
    total["network"] = p.network;
  if (rss)
    total["peak_rss_bytes"] = json::Object{{"party0", int64_t(rss->party0)},
                                           {"party1", int64_t(rss->party1)},
                                           {"dealer", int64_t(rss->dealer)}};
  if (predicted)
    total["predicted"] = json::Object{
        {"rounds", int64_t(predicted->rounds)},
        {"bytes_p0_to_p1", int64_t(predicted->bytes01)},
        {"bytes_p1_to_p0", int64_t(predicted->bytes10)},
        {"dealer_bytes", int64_t(predicted->dealerBytes1)},
        {"bytes_p1_to_dealer", int64_t(predicted->bytes1D)},
        {"bytes_dealer_to_p0", int64_t(predicted->bytesD0)},
        {"setup_bytes_p0_to_p1", int64_t(predicted->setupBytes01)}};
  json::Object root{
      {"party", p.party}, {"ops", std::move(ops)}, {"total", std::move(total)}};
  if (!p.requests.empty()) {
    json::Array requests;
    for (const RunProfile::Request &r : p.requests)
      requests.push_back(
          json::Object{{"online_seconds", r.onlineSeconds},
                       {"rounds", int64_t(r.onlineRounds)},
                       {"bytes_p0_to_p1", int64_t(r.onlineBytes01)},
                       {"bytes_p1_to_p0", int64_t(r.onlineBytes10)}});
    root["requests"] = std::move(requests);
  }
  return root;
}

namespace {

uint64_t getU(const json::Object &o, llvm::StringRef k) {
  auto v = o.getInteger(k);
  return v ? uint64_t(*v) : 0;
}
double getF(const json::Object &o, llvm::StringRef k) {
  auto v = o.getNumber(k);
  return v ? *v : 0;
}
std::string getS(const json::Object &o, llvm::StringRef k) {
  auto v = o.getString(k);
  return v ? v->str() : "";
}

/// A field present with the wrong type, named (a value read as 0 or ""
/// would pass for a measurement).
llvm::Error checkTypes(const json::Object &o, llvm::StringRef where) {
  for (const auto &[key, value] : o) {
    bool number = value.getAsNumber().hasValue();
    bool string = value.getAsString().hasValue();
    llvm::StringRef k(key);
    bool wantString =
        k == "node" || k == "op" || k == "protocol" || k == "network";
    if (k == "peak_rss_bytes" || k == "predicted")
      continue; // a number, or an object per process (merged profiles)
    if (wantString ? !string : !number)
      return mpc::error("profile: {}'s '{}' is not a {}", where.str(), k.str(),
                        wantString ? "string" : "number");
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<RunProfile> mpc::rt::profileFromJson(llvm::StringRef text) {
  llvm::Expected<json::Value> v = json::parse(text);
  if (!v)
    return addContext(v.takeError(), "profile: ");
  const json::Object *root = v->getAsObject();
  if (root && root->getString("plan") && root->get("network"))
    return mpc::error("profile: this is `mpcc report`'s output, a "
                      "prediction; a profile is what mpc-run --profile "
                      "writes");
  const json::Array *ops = root ? root->getArray("ops") : nullptr;
  const json::Object *total = root ? root->getObject("total") : nullptr;
  if (!ops || !total)
    return mpc::error("profile: expected an object with 'ops' and 'total'");
  if (llvm::Error e = checkTypes(*total, "the total"))
    return e;
  RunProfile p;
  p.party = int(getU(*root, "party"));
  for (const json::Value &e : *ops) {
    const json::Object *o = e.getAsObject();
    if (!o)
      return mpc::error("profile: an op row is not an object");
    if (llvm::Error e = checkTypes(*o, fmt::format("op row {}", p.ops.size())))
      return e;
    OpProfile r;
    r.index = int(getU(*o, "index"));
    r.node = getS(*o, "node");
    r.onnxOp = getS(*o, "op");
    r.kernel = getS(*o, "protocol");
    r.step = int(getU(*o, "step"));
    r.rounds = getU(*o, "rounds");
    r.bytes01 = getU(*o, "bytes_p0_to_p1");
    r.bytes10 = getU(*o, "bytes_p1_to_p0");
    r.dealerBytes = getU(*o, "dealer_bytes");
    r.seconds = getF(*o, "seconds");
    r.offlineSeconds = getF(*o, "offline_seconds");
    r.macs = getF(*o, "macs");
    r.elemOps = getF(*o, "element_ops");
    p.ops.push_back(std::move(r));
  }
  p.onlineRounds = getU(*total, "rounds");
  p.onlineBytes01 = getU(*total, "bytes_p0_to_p1");
  p.onlineBytes10 = getU(*total, "bytes_p1_to_p0");
  p.dealerBytes1 = getU(*total, "dealer_bytes");
  p.onlineBytes1D = getU(*total, "bytes_p1_to_dealer");
  p.onlineBytesD0 = getU(*total, "bytes_dealer_to_p0");
  p.onlineSeconds = getF(*total, "online_seconds");
  p.offlineSeconds = getF(*total, "offline_seconds");
  p.setupSeconds = getF(*total, "setup_seconds");
  p.setupRounds = getU(*total, "setup_rounds");
  p.setupBytes01 = getU(*total, "setup_bytes_p0_to_p1");
  p.handshakeSeconds = getF(*total, "handshake_seconds");
  p.outputRounds = getU(*total, "output_rounds");
  p.outputBytes10 = getU(*total, "output_bytes_p1_to_p0");
  p.peakRssBytes = getU(*total, "peak_rss_bytes");
  p.network = getS(*total, "network");
  if (const json::Value *list = root->get("requests")) {
    const json::Array *requests = list->getAsArray();
    if (!requests)
      return mpc::error("profile: 'requests' is not a list");
    for (const json::Value &e : *requests) {
      const json::Object *o = e.getAsObject();
      if (!o)
        return mpc::error("profile: a request's figures are not an object");
      if (llvm::Error e =
              checkTypes(*o, fmt::format("request {}", p.requests.size() + 1)))
        return e;
      p.requests.push_back({getF(*o, "online_seconds"), getU(*o, "rounds"),
                            getU(*o, "bytes_p0_to_p1"),
                            getU(*o, "bytes_p1_to_p0")});
    }
  }
  return p;
}

RunProfile mpc::rt::mergeProfiles(const RunProfile &p0, const RunProfile &p1) {
  RunProfile m = p1;
  m.party = -1;
  for (size_t i = 0; i < m.ops.size() && i < p0.ops.size(); ++i) {
    m.ops[i].seconds = std::max(m.ops[i].seconds, p0.ops[i].seconds);
    m.ops[i].offlineSeconds =
        std::max(m.ops[i].offlineSeconds, p0.ops[i].offlineSeconds);
  }
  m.onlineSeconds = std::max(p0.onlineSeconds, p1.onlineSeconds);
  // Party 1 measures its keys to the dealer, party 0 the dealer's answers.
  m.onlineBytesD0 = p0.onlineBytesD0;
  m.offlineSeconds = std::max(p0.offlineSeconds, p1.offlineSeconds);
  m.setupSeconds = std::max(p0.setupSeconds, p1.setupSeconds);
  m.handshakeSeconds = std::max(p0.handshakeSeconds, p1.handshakeSeconds);
  m.peakRssBytes = std::max(p0.peakRssBytes, p1.peakRssBytes);
  for (size_t i = 0; i < m.requests.size() && i < p0.requests.size(); ++i)
    m.requests[i].onlineSeconds =
        std::max(m.requests[i].onlineSeconds, p0.requests[i].onlineSeconds);
  return m;
}

// --- Table -------------------------------------------------------------------

namespace {

/// At most \p w characters, keeping the end ("...er.0/attention/Softmax").
std::string fit(llvm::StringRef s, size_t w) {
  if (s.size() <= w)
    return s.str();
  return "..." + s.take_back(w - 3).str();
}

std::string mib(uint64_t bytes) {
  return fmt::format("{:.1f} MiB", double(bytes) / (1024.0 * 1024.0));
}

} // namespace

std::string mpc::rt::sharedRoundsNote(uint64_t rowRounds,
                                      uint64_t totalRounds) {
  if (rowRounds == totalRounds)
    return "";
  return fmt::format("          (the rows' rounds add up to {}: ops of one "
                     "step that open together share their rounds)\n",
                     rowRounds);
}

void mpc::rt::printProfile(llvm::raw_ostream &os, const RunProfile &p,
                           const Cost *predicted, const PeakRss *rss) {
  os << fmt::format("{:<40} {:<11} {:>6} {:>14} {:>14} {:>14} {:>10}\n",
                    "onnx node", "kernel", "rounds", "bytes P0->P1",
                    "bytes P1->P0", "dealer bytes", "seconds");
  for (const OpProfile &o : p.ops)
    os << fmt::format("{:<40} {:<11} {:>6} {:>14} {:>14} {:>14} {:>10.4f}\n",
                      fit(o.node.empty() ? "-" : o.node, 40), o.kernel,
                      o.rounds, o.bytes01, o.bytes10, o.dealerBytes, o.seconds);
  os << fmt::format("online:   {:.3f} s, {} rounds, {} B P0->P1, {} B "
                    "P1->P0\n",
                    p.onlineSeconds, p.onlineRounds, p.onlineBytes01,
                    p.onlineBytes10);
  uint64_t rowRounds = 0;
  for (const OpProfile &o : p.ops)
    rowRounds += o.rounds;
  os << sharedRoundsNote(rowRounds, p.onlineRounds);
  if (p.onlineBytes1D || p.onlineBytesD0)
    os << fmt::format("          embedding lookups on the dealer's links: {} "
                      "B P1->dealer, {} B dealer->P0\n",
                      p.onlineBytes1D, p.onlineBytesD0);
  // A party alone measures one of the dealer's links: party 0 the answers
  // it receives, party 1 the keys it sends; and only party 1 (or a merged
  // profile) receives the dealer's material for party 1.
  bool dealerLinksMatch =
      predicted && (p.party == 0 || predicted->bytes1D == p.onlineBytes1D) &&
      (p.party == 1 || predicted->bytesD0 == p.onlineBytesD0) &&
      (p.party == 0 || predicted->dealerBytes1 == p.dealerBytes1);
  if (predicted)
    os << fmt::format("          predicted: {} rounds, {} B P0->P1, {} B "
                      "P1->P0, {} dealer bytes{}{}\n",
                      predicted->rounds, predicted->bytes01, predicted->bytes10,
                      predicted->dealerBytes1,
                      predicted->bytes1D || predicted->bytesD0
                          ? fmt::format(", {} B P1->dealer, {} B dealer->P0",
                                        predicted->bytes1D, predicted->bytesD0)
                          : "",
                      predicted->rounds == p.onlineRounds &&
                              predicted->bytes01 == p.onlineBytes01 &&
                              predicted->bytes10 == p.onlineBytes10 &&
                              dealerLinksMatch
                          ? " (measured = predicted)"
                          : " (MISMATCH)");
  if (p.party == 0) // party 0 draws its material from its dealer seed
    os << fmt::format("offline:  {:.3f} s\n", p.offlineSeconds);
  else
    os << fmt::format("offline:  {:.3f} s, {} B dealer -> party 1\n",
                      p.offlineSeconds, p.dealerBytes1);
  os << fmt::format("set-up:   {:.3f} s, {} round(s), {} B P0->P1 (W - B, "
                    "once per session)\n",
                    p.setupSeconds, p.setupRounds, p.setupBytes01);
  if (p.outputRounds)
    os << fmt::format("outputs to party 0: {} round(s), {} B P1->P0\n",
                      p.outputRounds, p.outputBytes10);
  if (rss)
    os << fmt::format("peak RSS: party 0 {}, party 1 {}, dealer {}\n",
                      mib(rss->party0), mib(rss->party1), mib(rss->dealer));
  else if (p.peakRssBytes)
    os << fmt::format("peak RSS: {}\n", mib(p.peakRssBytes));
}
