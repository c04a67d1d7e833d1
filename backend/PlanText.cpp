//===- backend/PlanText.cpp - A plan, readable ----------------------------===//

#include "backend/PlanText.h"

#include <fmt/format.h>

using namespace mpc;

static const char *visText(plan::Visibility v) {
  switch (v) {
  case plan::VIS_PUBLIC:
    return "public";
  case plan::VIS_PRIVATE0:
    return "private0";
  case plan::VIS_PRIVATE1:
    return "private1";
  case plan::VIS_SHARED:
    return "shared";
  default:
    return "?";
  }
}

static std::string attrText(const plan::Attr &a) {
  switch (a.value_case()) {
  case plan::Attr::kI:
    return std::to_string(a.i());
  case plan::Attr::kF:
    return fmt::format("{}", a.f());
  case plan::Attr::kS:
    return "\"" + a.s() + "\"";
  case plan::Attr::kInts: {
    const auto &v = a.ints().v();
    if (v.size() > 16)
      return fmt::format("[{} ints]", v.size());
    return fmt::format("[{}]", fmt::join(v.begin(), v.end(), ", "));
  }
  case plan::Attr::kFloats:
    return fmt::format(
        "[{}]", fmt::join(a.floats().v().begin(), a.floats().v().end(), ", "));
  default:
    return "?";
  }
}

std::string mpc::planToText(const plan::Plan &p) {
  std::string s = fmt::format("plan \"{}\" format_version={} compiler=\"{}\"\n",
                              p.model_name(), p.format_version(), p.compiler());
  for (const auto &[k, v] : p.options())
    s += fmt::format("option {} = \"{}\"\n", k, v);
  for (const plan::ValueInfo &v : p.values()) {
    std::string kind = v.weight_index() >= 0 ? " weight"
                       : v.public_data_size()
                           ? fmt::format(" constant[{}]", v.public_data_size())
                           : "";
    s += fmt::format(
        "value %{} \"{}\" : {}<{}, {}>{}\n", v.id(), v.name(), visText(v.vis()),
        fmt::join(v.shape().begin(), v.shape().end(), "x"),
        v.is_integer() ? "i64" : fmt::format("fx{}", v.frac_bits()), kind);
  }
  for (const plan::PlanInput &in : p.inputs())
    s += fmt::format("input \"{}\" = %{} ({}, from party {})\n", in.name(),
                     in.value(), in.dtype(), in.owner());
  int step = -1;
  for (const plan::PlanOp &op : p.ops()) {
    if (op.step() != step) {
      step = op.step();
      s += fmt::format("step {}:\n", step);
    }
    std::vector<std::string> outs, ins, attrs;
    for (int o : op.outputs())
      outs.push_back(fmt::format("%{}", o));
    for (int i : op.inputs())
      ins.push_back(fmt::format("%{}", i));
    std::map<std::string, std::string> sorted;
    for (const auto &[k, a] : op.attrs())
      sorted[k] = attrText(a);
    for (const auto &[k, a] : sorted)
      attrs.push_back(k + "=" + a);
    s += fmt::format(
        "  {} = {} {}{}    // {} ({})\n", fmt::join(outs, ", "), op.kernel(),
        fmt::join(ins, ", "),
        attrs.empty() ? "" : fmt::format(" {{{}}}", fmt::join(attrs, ", ")),
        op.onnx_node(), op.onnx_op());
  }
  for (const plan::PlanOutput &out : p.outputs())
    s += fmt::format("output \"{}\" = %{} (revealed to {})\n", out.name(),
                     out.value(),
                     out.reveal_to() == -1 ? "both parties" : "party 1");
  return s;
}
