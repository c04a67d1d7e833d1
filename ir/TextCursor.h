//===- ir/TextCursor.h - Lexing the textual IR ------------------*- C++ -*-===//
//
// The character-level layer of the IR parser: a cursor over the text that
// skips whitespace and `//` comments, reads identifiers, value names,
// strings and numbers, and builds "<buffer>:LINE:COL: message" errors.
// Parser.cpp builds the grammar on top of it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mpc {

/// \returns true for the characters of identifiers and value names.
bool isIdentChar(char c);

/// A number literal: integers stay exact; anything with '.', 'e', inf or
/// nan is a float.
struct Number {
  bool isFloat = false;
  int64_t i = 0;
  double f = 0;
  double asDouble() const { return isFloat ? f : static_cast<double>(i); }
};

/// A position in a text buffer with the lexical helpers of the IR grammar.
class TextCursor {
public:
  TextCursor(llvm::StringRef text, llvm::StringRef buffer)
      : text_(text), buffer_(buffer) {}

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool atEnd() const { return pos_ >= text_.size(); }
  /// Skips whitespace and `//` comments.
  void skipWs();
  /// Consumes \p s (after whitespace) if it is next.
  bool consume(llvm::StringRef s);
  /// Consumes the keyword \p kw if it is next as a whole identifier.
  bool consumeKeyword(llvm::StringRef kw);
  /// Whether the keyword \p kw is next, without consuming it.
  bool peekKeyword(llvm::StringRef kw) {
    size_t save = pos_;
    bool found = consumeKeyword(kw);
    pos_ = save;
    return found;
  }
  /// Consumes \p s or fails with "expected '<s>'".
  llvm::Error expect(llvm::StringRef s);
  llvm::Error errorHere(const std::string &msg) const;
  /// An error at byte offset \p pos: "<buffer>:LINE:COL: msg".
  llvm::Error errorAt(size_t pos, const std::string &msg) const;

  /// [A-Za-z_][A-Za-z0-9_.]*; \p what names it in the error.
  llvm::Expected<std::string> parseIdent(llvm::StringRef what);
  /// [A-Za-z0-9_.]+ right at the cursor (after a sigil).
  llvm::Expected<std::string> parseName();
  /// A double-quoted string with \" \\ \n \t \xHH escapes.
  llvm::Expected<std::string> parseString();
  llvm::Expected<Number> parseNumber();
  llvm::Expected<int64_t> parseInt(llvm::StringRef what);
  /// '[' [number (',' number)*] ']'.
  llvm::Expected<std::vector<Number>> parseNumberList();

protected:
  llvm::StringRef text_, buffer_;
  size_t pos_ = 0;
};

} // namespace mpc
