//===- ir/Parser.cpp - Reading the textual form of a graph ----------------===//
//
// A recursive-descent parser, over the lexical layer of TextCursor.h, for
// the grammar documented at the top of Printer.cpp. It records what the text
// says (types included) and leaves checking to the verifier; it only rejects
// text it cannot turn into a graph (syntax, unknown op mnemonics, undefined or
// redefined values, constant data that does not match its type). Errors read
// "<buffer>:LINE:COL: expected ...".
//
//===----------------------------------------------------------------------===//

#include "ir/IR.h"

#include "ir/TextCursor.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

using namespace mpc;

namespace {

class Parser : TextCursor {
public:
  Parser(llvm::StringRef text, llvm::StringRef buffer)
      : TextCursor(text, buffer) {}

  llvm::Expected<std::unique_ptr<Graph>> parse();

private:
  llvm::Expected<TensorType> parseType();
  llvm::Expected<Attr> parseAttrValue();
  llvm::Expected<Location> parseLoc();
  /// A '%name' or '@name' reference as written (sigil included).
  llvm::Expected<std::string> parseRef();
  llvm::Expected<Value *> lookup(size_t pos, const std::string &ref);
  llvm::Error define(size_t pos, const std::string &ref, Value *v);

  llvm::Error parseHeader();
  llvm::Error parseConst();
  llvm::Error parseOp();
  llvm::Error parseReturn();

  std::unique_ptr<Graph> g_ = std::make_unique<Graph>();
  llvm::StringMap<Value *> values_;
};

} // namespace

llvm::Expected<TensorType> Parser::parseType() {
  skipWs();
  size_t start = pos_;
  auto vis = parseIdent("a type");
  if (!vis)
    return vis.takeError();
  TensorType t;
  if (*vis == "public") {
    t.vis = Vis::Public;
  } else if (*vis == "shared") {
    t.vis = Vis::Shared;
  } else if (*vis == "private0" || *vis == "private1") {
    t.vis = Vis::Private;
    t.owner = (*vis)[7] - '0';
  } else {
    return errorAt(start, "expected a type (public, private0, private1 or "
                          "shared), got '" +
                              *vis + "'");
  }
  if (auto e = expect("<"))
    return e;
  skipWs();
  if (llvm::isDigit(peek())) {
    while (true) {
      size_t dStart = pos_;
      while (llvm::isDigit(peek()))
        ++pos_;
      int64_t d;
      if (text_.slice(dStart, pos_).getAsInteger(10, d))
        return errorAt(dStart, "expected a dimension");
      t.shape.push_back(d);
      if (peek() != 'x')
        break;
      ++pos_;
      if (!llvm::isDigit(peek()))
        return errorHere("expected a dimension after 'x'");
    }
    if (auto e = expect(","))
      return e;
  }
  skipWs();
  size_t eStart = pos_;
  auto elem = parseIdent("an element type");
  if (!elem)
    return elem.takeError();
  llvm::StringRef es = *elem;
  int bits;
  if (es == "f32") {
    t.elem = ElemType::F32;
  } else if (es == "i64") {
    t.elem = ElemType::I64;
  } else if (es == "bool") {
    t.elem = ElemType::Bool;
  } else if (es.consume_front("fx") && !es.getAsInteger(10, bits) &&
             bits >= 0 && bits < 64) {
    t.elem = ElemType::Fixed;
    t.fracBits = bits;
  } else {
    return errorAt(eStart, "expected an element type (f32, i64, bool or "
                           "fxN), got '" +
                               *elem + "'");
  }
  if (auto e = expect(">"))
    return e;
  return t;
}

llvm::Expected<Attr> Parser::parseAttrValue() {
  skipWs();
  if (peek() == '"') {
    auto s = parseString();
    if (!s)
      return s.takeError();
    return Attr(*s);
  }
  if (peek() == '[') {
    auto list = parseNumberList();
    if (!list)
      return list.takeError();
    bool anyFloat =
        llvm::any_of(*list, [](const Number &n) { return n.isFloat; });
    if (anyFloat) {
      std::vector<double> v;
      for (const Number &n : *list)
        v.push_back(n.asDouble());
      return Attr(std::move(v));
    }
    std::vector<int64_t> v;
    for (const Number &n : *list)
      v.push_back(n.i);
    return Attr(std::move(v));
  }
  auto n = parseNumber();
  if (!n)
    return errorHere("expected an attribute value (number, string or list)");
  if (n->isFloat)
    return Attr(n->f);
  return Attr(n->i);
}

llvm::Expected<Location> Parser::parseLoc() {
  Location loc;
  loc.opset = g_->opset;
  if (auto e = expect("("))
    return e;
  auto node = parseString();
  if (!node)
    return node.takeError();
  loc.onnxNode = *node;
  skipWs();
  if (peek() == '"') {
    auto t = parseString();
    if (!t)
      return t.takeError();
    loc.onnxOpType = *t;
  } else if (peek() != ')' && !peekKeyword("by") && !peekKeyword("opset")) {
    auto t = parseIdent("an ONNX op type");
    if (!t)
      return t.takeError();
    loc.onnxOpType = *t;
  }
  if (consumeKeyword("opset")) {
    auto v = parseInt("an opset number");
    if (!v)
      return v.takeError();
    loc.opset = static_cast<int>(*v);
  }
  if (consumeKeyword("by")) {
    auto by = parseString();
    if (!by)
      return by.takeError();
    loc.derivedBy = *by;
  }
  if (auto e = expect(")"))
    return e;
  return loc;
}

llvm::Expected<std::string> Parser::parseRef() {
  skipWs();
  char sigil = peek();
  if (sigil != '%' && sigil != '@')
    return errorHere("expected a value ('%name' or '@name')");
  ++pos_;
  auto name = parseName();
  if (!name)
    return name.takeError();
  return std::string(1, sigil) + *name;
}

llvm::Expected<Value *> Parser::lookup(size_t pos, const std::string &ref) {
  auto it = values_.find(ref);
  if (it == values_.end())
    return errorAt(pos, "use of undefined value " + ref);
  return it->second;
}

llvm::Error Parser::define(size_t pos, const std::string &ref, Value *v) {
  if (!values_.try_emplace(ref, v).second)
    return errorAt(pos, "redefinition of " + ref);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Graph structure
//===----------------------------------------------------------------------===//

llvm::Error Parser::parseHeader() {
  if (!consumeKeyword("func"))
    return errorHere("expected 'func'");
  if (auto e = expect("@"))
    return e;
  auto name = parseName();
  if (!name)
    return name.takeError();
  g_->name = *name;
  if (auto e = expect("("))
    return e;
  if (!consume(")")) {
    do {
      skipWs();
      size_t at = pos_;
      auto ref = parseRef();
      if (!ref)
        return ref.takeError();
      if ((*ref)[0] != '%')
        return errorAt(at, "inputs are named '%name'");
      if (auto e = expect(":"))
        return e;
      auto type = parseType();
      if (!type)
        return type.takeError();
      Value *v = g_->addInput(llvm::StringRef(*ref).drop_front(), *type);
      if (auto e = define(at, *ref, v))
        return e;
    } while (consume(","));
    if (auto e = expect(")"))
      return e;
  }
  if (consumeKeyword("opset")) {
    if (auto e = expect("="))
      return e;
    auto v = parseInt("an opset number");
    if (!v)
      return v.takeError();
    g_->opset = static_cast<int>(*v);
  }
  return expect("{");
}

llvm::Error Parser::parseConst() {
  skipWs();
  size_t at = pos_;
  auto ref = parseRef();
  if (!ref)
    return ref.takeError();
  if (auto e = expect(":"))
    return e;
  skipWs();
  size_t typeAt = pos_;
  auto type = parseType();
  if (!type)
    return type.takeError();
  bool weight = type->isPrivateTo(0);
  if (weight != ((*ref)[0] == '@'))
    return errorAt(typeAt, weight ? "constants private to party 0 are "
                                    "weights and are named '@name'"
                                  : "only weights (constants private to "
                                    "party 0) are named '@name'");
  if (auto e = expect("="))
    return e;
  if (!consumeKeyword("dense"))
    return errorHere("expected 'dense'");
  if (auto e = expect("<"))
    return e;
  ConstData data;
  skipWs();
  size_t dataAt = pos_;
  if (consumeKeyword("elided")) {
    data.elided = true;
  } else {
    auto list = parseNumberList();
    if (!list)
      return list.takeError();
    if (static_cast<int64_t>(list->size()) != type->numElements())
      return errorAt(dataAt, fmt::format("constant {} has type {} ({} "
                                         "elements) but {} values",
                                         *ref, type->str(), type->numElements(),
                                         list->size()));
    bool anyFloat =
        llvm::any_of(*list, [](const Number &n) { return n.isFloat; });
    for (const Number &n : *list) {
      if (anyFloat)
        data.f.push_back(n.asDouble());
      else
        data.i.push_back(n.i);
    }
  }
  if (auto e = expect(">"))
    return e;
  Value *v = g_->addConstant(llvm::StringRef(*ref).drop_front(), *type,
                             std::move(data));
  return define(at, *ref, v);
}

llvm::Error Parser::parseOp() {
  // Results.
  std::vector<std::pair<size_t, std::string>> results;
  do {
    skipWs();
    size_t at = pos_;
    auto ref = parseRef();
    if (!ref)
      return ref.takeError();
    if ((*ref)[0] != '%')
      return errorAt(at, "op results are named '%name'");
    results.emplace_back(at, *ref);
  } while (consume(","));
  if (auto e = expect("="))
    return e;
  skipWs();
  size_t kindAt = pos_;
  auto mnemonic = parseIdent("an op name");
  if (!mnemonic)
    return mnemonic.takeError();
  std::optional<OpKind> kind = opKindFromName(*mnemonic);
  if (!kind)
    return errorAt(kindAt, "unknown op '" + *mnemonic + "'");
  // Operands.
  llvm::SmallVector<Value *, 4> operands;
  skipWs();
  if (peek() == '%' || peek() == '@') {
    do {
      skipWs();
      size_t at = pos_;
      auto ref = parseRef();
      if (!ref)
        return ref.takeError();
      auto v = lookup(at, *ref);
      if (!v)
        return v.takeError();
      operands.push_back(*v);
    } while (consume(","));
  }
  // Attributes.
  std::map<std::string, Attr> attrs;
  if (consume("{")) {
    do {
      skipWs();
      size_t at = pos_;
      std::string name;
      if (peek() == '"') {
        auto s = parseString();
        if (!s)
          return s.takeError();
        name = *s;
      } else {
        auto s = parseIdent("an attribute name");
        if (!s)
          return s.takeError();
        name = *s;
      }
      if (auto e = expect("="))
        return e;
      auto value = parseAttrValue();
      if (!value)
        return value.takeError();
      if (!attrs.emplace(name, std::move(*value)).second)
        return errorAt(at, "attribute '" + name + "' given twice");
    } while (consume(","));
    if (auto e = expect("}"))
      return e;
  }
  // Result types.
  if (auto e = expect(":"))
    return e;
  llvm::SmallVector<TensorType, 1> types;
  size_t extraAt = 0;
  do {
    skipWs();
    if (types.size() == results.size())
      extraAt = pos_;
    auto t = parseType();
    if (!t)
      return t.takeError();
    types.push_back(*t);
  } while (consume(","));
  if (types.size() != results.size())
    return errorAt(types.size() > results.size() ? extraAt : pos_,
                   fmt::format("expected {}, got {}",
                               counted(int64_t(results.size()), "result type"),
                               types.size()));
  Location loc;
  if (consumeKeyword("loc")) {
    auto l = parseLoc();
    if (!l)
      return l.takeError();
    loc = std::move(*l);
  }
  Op *op = g_->createOp(g_->end(), *kind, operands, types, std::move(loc));
  for (auto &[name, value] : attrs)
    op->setAttr(name, std::move(value));
  for (unsigned k = 0; k < results.size(); ++k)
    if (auto e = define(results[k].first, results[k].second, op->result(k)))
      return e;
  return llvm::Error::success();
}

llvm::Error Parser::parseReturn() {
  std::vector<Value *> outs;
  std::vector<std::string> names;
  skipWs();
  if (peek() == '%' || peek() == '@') {
    do {
      skipWs();
      size_t at = pos_;
      auto ref = parseRef();
      if (!ref)
        return ref.takeError();
      auto v = lookup(at, *ref);
      if (!v)
        return v.takeError();
      std::string outName;
      if (consumeKeyword("as")) {
        auto name = parseString();
        if (!name)
          return name.takeError();
        outName = *name;
        if ((*v)->definingOp())
          (*v)->setName(*name);
      }
      outs.push_back(*v);
      names.push_back(outName);
    } while (consume(","));
  }
  g_->setOutputs(outs, names);
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Graph>> Parser::parse() {
  if (auto e = parseHeader())
    return e;
  while (true) {
    skipWs();
    if (atEnd())
      return errorHere("expected 'return' before the end of the input");
    if (consumeKeyword("return"))
      break;
    if (consumeKeyword("const")) {
      if (auto e = parseConst())
        return e;
      continue;
    }
    if (peek() != '%')
      return errorHere("expected 'const', an op or 'return'");
    if (auto e = parseOp())
      return e;
  }
  if (auto e = parseReturn())
    return e;
  if (auto e = expect("}"))
    return e;
  skipWs();
  if (!atEnd())
    return errorHere("expected the end of the input after '}'");
  return std::move(g_);
}

llvm::Expected<std::unique_ptr<Graph>>
mpc::parseGraph(llvm::StringRef text, llvm::StringRef bufferName) {
  return Parser(text, bufferName).parse();
}
