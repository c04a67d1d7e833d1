//===- ir/Printer.cpp - The deterministic textual form of a graph ---------===//
//
// Prints a Graph in the one grammar that Parser.cpp reads back; for every
// printed text s, print(parse(s)) == s. The grammar:
//
//   graph   := 'func' '@' NAME '(' [arg (',' arg)*] ')' ['opset' '=' INT]
//              '{' (const | op)* return '}'
//   arg     := '%' NAME ':' type
//   const   := 'const' ('@'|'%') NAME ':' type '=' 'dense' '<' data '>'
//   data    := 'elided' | '[' [number (',' number)*] ']'
//   op      := '%' NAME (',' '%' NAME)* '=' MNEMONIC [ref (',' ref)*]
//              ['{' attr (',' attr)* '}'] ':' type (',' type)* [loc]
//   attr    := NAME '=' (INT | FLOAT | STRING | '[' [number (',' number)*] ']')
//   loc     := 'loc' '(' STRING [OPTYPE] ['opset' INT] ['by' STRING] ')'
//   return  := 'return' [ref ['as' STRING] (',' ref ['as' STRING])*]
//   type    := ('public'|'private0'|'private1'|'shared')
//              '<' [INT ('x' INT)* ','] ('f32'|'i64'|'bool'|'fx'INT) '>'
//   ref     := '%' NAME | '@' NAME          NAME := [A-Za-z0-9_.]+
//
// Example (the loc of %0 is on the same line in real output):
//   func @main(%input_ids: private1<1x8, i64>) opset=17 {
//     const @emb.weight : private0<256x32, f32> = dense<elided>
//     const %cst : public<2, f32> = dense<[1.0, 2.5]>
//     %0 = embedding @emb.weight, %input_ids : shared<1x8x32, f32>
//          loc("/emb/Gather" Gather)
//     %1 = gelu %0 {form = "erf"} : shared<1x8x32, f32>
//     return %1 as "logits"
//   }
//
// Conventions: inputs and constants keep their names (see ValueNames.h),
// weights (constants private to party 0) print as @name, op results are
// numbered in op order. Constants come first, in graph order, then ops.
// Attributes are sorted by name. Floats print with the shortest text that
// reads back to the same double and always contain '.', 'e', "inf" or "nan",
// so they never read back as integers; an empty list `[]` reads back as an
// integer list (Op::getFloats widens it). Integer, boolean and fixed-point
// constants whose data is in ConstData::i print integers. Constants with
// more than PrintOptions::maxInlineElements elements, or whose data is
// already elided, print `dense<elided>`. A location prints its opset only
// when it differs from the graph's; the parser gives `loc(...)` the graph's
// opset otherwise. Outputs that are op results with a name print `as`.
// `//` starts a comment that runs to the end of the line (lit RUN lines).
//
//===----------------------------------------------------------------------===//

#include "ir/IR.h"

#include "ir/ValueNames.h"

#include "llvm/ADT/StringExtras.h"

#include <fmt/format.h>

using namespace mpc;

/// A double as the shortest round-trip text, marked as a float.
static std::string floatStr(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".ein") == std::string::npos)
    s += ".0";
  return s;
}

/// \returns true when \p s lexes as one bare identifier.
static bool isIdent(llvm::StringRef s) {
  if (s.empty() || !(llvm::isAlpha(s[0]) || s[0] == '_'))
    return false;
  return llvm::all_of(
      s, [](char c) { return llvm::isAlnum(c) || c == '_' || c == '.'; });
}

/// \p s as a quoted string literal with escapes.
static std::string quoted(llvm::StringRef s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

template <typename T, typename F>
static std::string listStr(const std::vector<T> &v, F fmtOne) {
  std::string s = "[";
  for (size_t k = 0; k < v.size(); ++k)
    s += (k ? ", " : "") + fmtOne(v[k]);
  return s + "]";
}

static std::string intStr(int64_t v) { return std::to_string(v); }

static std::string attrStr(const Attr &a) {
  if (auto *i = std::get_if<int64_t>(&a))
    return intStr(*i);
  if (auto *f = std::get_if<double>(&a))
    return floatStr(*f);
  if (auto *s = std::get_if<std::string>(&a))
    return quoted(*s);
  if (auto *is = std::get_if<std::vector<int64_t>>(&a))
    return listStr(*is, intStr);
  return listStr(std::get<std::vector<double>>(a), floatStr);
}

static std::string constDataStr(const Value &c, const PrintOptions &opts) {
  const ConstData &d = c.constData();
  if (d.elided || c.type().numElements() > opts.maxInlineElements)
    return "dense<elided>";
  if (!d.f.empty())
    return "dense<" + listStr(d.f, floatStr) + ">";
  return "dense<" + listStr(d.i, intStr) + ">";
}

static std::string locStr(const Location &l, int graphOpset) {
  bool printOpset = l.opset != 0 && l.opset != graphOpset;
  if (l.onnxNode.empty() && l.onnxOpType.empty() && l.derivedBy.empty() &&
      !printOpset)
    return "";
  std::string s = " loc(" + quoted(l.onnxNode);
  if (!l.onnxOpType.empty()) {
    bool bare = isIdent(l.onnxOpType) && l.onnxOpType != "by" &&
                l.onnxOpType != "opset";
    s += " " + (bare ? l.onnxOpType : quoted(l.onnxOpType));
  }
  if (printOpset)
    s += fmt::format(" opset {}", l.opset);
  if (!l.derivedBy.empty())
    s += " by " + quoted(l.derivedBy);
  return s + ")";
}

void mpc::printGraph(const Graph &g, llvm::raw_ostream &os,
                     const PrintOptions &opts) {
  ValueNames names(g);
  os << "func @" << sanitizeValueName(g.name.empty() ? "main" : g.name) << "(";
  for (size_t k = 0; k < g.inputs().size(); ++k) {
    const Value *v = g.inputs()[k];
    os << (k ? ", " : "") << names(v) << ": " << v->type().str();
  }
  os << ")";
  if (g.opset)
    os << " opset=" << g.opset;
  os << " {\n";
  for (const Value *c : g.constants())
    os << "  const " << names(c) << " : " << c->type().str() << " = "
       << constDataStr(*c, opts) << "\n";
  for (const auto &op : g.ops()) {
    os << "  " << names.opRef(*op);
    for (unsigned k = 0; k < op->numOperands(); ++k)
      os << (k ? ", " : " ") << names(op->operand(k));
    if (!op->attrs().empty()) {
      os << " {";
      bool first = true;
      for (const auto &[name, value] : op->attrs()) {
        os << (first ? "" : ", ") << (isIdent(name) ? name : quoted(name))
           << " = " << attrStr(value);
        first = false;
      }
      os << "}";
    }
    os << " :";
    for (unsigned k = 0; k < op->numResults(); ++k)
      os << (k ? ", " : " ") << op->result(k)->type().str();
    if (opts.printLocations)
      os << locStr(op->loc(), g.opset);
    os << "\n";
  }
  os << "  return";
  for (size_t k = 0; k < g.outputs().size(); ++k) {
    const Value *v = g.outputs()[k];
    llvm::StringRef name = g.outputName(k);
    os << (k ? ", " : " ") << names(v);
    if ((v->definingOp() && !name.empty()) || name != v->name())
      os << " as " << quoted(name);
  }
  os << "\n}\n";
}

std::string mpc::printGraphToString(const Graph &g, const PrintOptions &opts) {
  std::string s;
  llvm::raw_string_ostream os(s);
  printGraph(g, os, opts);
  os.flush();
  return s;
}
