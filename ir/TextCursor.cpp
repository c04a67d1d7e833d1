//===- ir/TextCursor.cpp - Lexing the textual IR ----------------------===//

#include "ir/TextCursor.h"

#include "support/Diag.h"

#include "llvm/ADT/StringExtras.h"

#include <charconv>

using namespace mpc;

void TextCursor::skipWs() {
  while (!atEnd()) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++pos_;
    } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
      while (!atEnd() && peek() != '\n')
        ++pos_;
    } else {
      return;
    }
  }
}

bool TextCursor::consume(llvm::StringRef s) {
  skipWs();
  if (!text_.substr(pos_).startswith(s))
    return false;
  pos_ += s.size();
  return true;
}

bool mpc::isIdentChar(char c) {
  return llvm::isAlnum(c) || c == '_' || c == '.';
}

bool TextCursor::consumeKeyword(llvm::StringRef kw) {
  skipWs();
  if (!text_.substr(pos_).startswith(kw))
    return false;
  size_t end = pos_ + kw.size();
  if (end < text_.size() && isIdentChar(text_[end]))
    return false;
  pos_ = end;
  return true;
}

llvm::Error TextCursor::errorAt(size_t pos, const std::string &msg) const {
  size_t line = 1, col = 1;
  for (size_t k = 0; k < pos && k < text_.size(); ++k) {
    if (text_[k] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return error("{}:{}:{}: {}", buffer_.str(), line, col, msg);
}

llvm::Error TextCursor::errorHere(const std::string &msg) const {
  return errorAt(pos_, msg);
}

llvm::Error TextCursor::expect(llvm::StringRef s) {
  if (consume(s))
    return llvm::Error::success();
  return errorHere("expected '" + s.str() + "'");
}

llvm::Expected<std::string> TextCursor::parseIdent(llvm::StringRef what) {
  skipWs();
  size_t start = pos_;
  if (!(llvm::isAlpha(peek()) || peek() == '_'))
    return errorHere("expected " + what.str());
  while (!atEnd() && isIdentChar(peek()))
    ++pos_;
  return text_.slice(start, pos_).str();
}

llvm::Expected<std::string> TextCursor::parseName() {
  size_t start = pos_;
  while (!atEnd() && isIdentChar(peek()))
    ++pos_;
  if (start == pos_)
    return errorHere("expected a value name");
  return text_.slice(start, pos_).str();
}

llvm::Expected<std::string> TextCursor::parseString() {
  skipWs();
  if (peek() != '"')
    return errorHere("expected a string");
  ++pos_;
  std::string s;
  while (true) {
    if (atEnd() || peek() == '\n')
      return errorHere("unterminated string");
    char c = text_[pos_++];
    if (c == '"')
      return s;
    if (c != '\\') {
      s += c;
      continue;
    }
    char e = peek();
    ++pos_;
    if (e == '"' || e == '\\') {
      s += e;
    } else if (e == 'n') {
      s += '\n';
    } else if (e == 't') {
      s += '\t';
    } else if (e == 'x' && pos_ + 2 <= text_.size() &&
               llvm::isHexDigit(text_[pos_]) &&
               llvm::isHexDigit(text_[pos_ + 1])) {
      s +=
          static_cast<char>(llvm::hexFromNibbles(text_[pos_], text_[pos_ + 1]));
      pos_ += 2;
    } else {
      return errorAt(pos_ - 2, "unknown escape in string");
    }
  }
}

llvm::Expected<Number> TextCursor::parseNumber() {
  skipWs();
  size_t start = pos_;
  while (!atEnd() && (llvm::isAlnum(peek()) || peek() == '-' || peek() == '+' ||
                      peek() == '.'))
    ++pos_;
  llvm::StringRef tok = text_.slice(start, pos_);
  if (tok.empty())
    return errorHere("expected a number");
  Number n;
  const char *b = tok.data(), *e = tok.data() + tok.size();
  bool isFloat = tok.find_first_of(".eEin") != llvm::StringRef::npos;
  if (isFloat) {
    n.isFloat = true;
    // from_chars takes no leading '+' and spells infinity "inf".
    auto [p, ec] = std::from_chars(b, e, n.f);
    if (ec == std::errc() && p == e)
      return n;
  } else {
    auto [p, ec] = std::from_chars(b, e, n.i);
    if (ec == std::errc() && p == e)
      return n;
  }
  return errorAt(start, "expected a number, got '" + tok.str() + "'");
}

llvm::Expected<int64_t> TextCursor::parseInt(llvm::StringRef what) {
  size_t start = (skipWs(), pos_);
  auto n = parseNumber();
  if (!n || n->isFloat) {
    llvm::consumeError(n.takeError());
    return errorAt(start, "expected " + what.str());
  }
  return n->i;
}

llvm::Expected<std::vector<Number>> TextCursor::parseNumberList() {
  if (auto e = expect("["))
    return e;
  std::vector<Number> res;
  if (consume("]"))
    return res;
  do {
    auto n = parseNumber();
    if (!n)
      return n.takeError();
    res.push_back(*n);
  } while (consume(","));
  if (auto e = expect("]"))
    return e;
  return res;
}
