// Recursive-descent parser for the syntax in parser.hpp. Builds canonical Exprs directly;
// errors carry the 1-based column of the offending token.
#include <symtrace/sym/parser.hpp>

#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <symtrace/sym/shape_env.hpp>

namespace symtrace::sym {
namespace {

enum class Tok { kEnd, kInt, kName, kPlus, kMinus, kStar, kSlash2, kPercent, kLParen, kRParen, kComma, kCmp };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  std::size_t column = 1;
};

[[noreturn]] void error(std::size_t column, std::string code, std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.message = fmt::format("column {}: {}", column, message);
  throw ParseError(std::move(d), column);
}

std::string describe(const Token& t) {
  return t.kind == Tok::kEnd ? "end of input" : fmt::format("'{}'", t.text);
}

class Parser {
 public:
  Parser(std::string_view text, const SymbolResolver& resolve) : text_(text), resolve_(resolve) { next(); }

  ParsedExpr expr_only() {
    Expr e = expr();
    expect_end();
    return {e, std::move(divisors_)};
  }

  ParsedFact fact() {
    Expr lhs = expr();
    if (tok_.kind != Tok::kCmp)
      error(tok_.column, "syntax", fmt::format("expected a comparison (== != < <= > >=), found {}", describe(tok_)));
    const std::string_view op = tok_.text;
    next();
    Expr rhs = expr();
    expect_end();
    CondOp cop = op == "==" ? CondOp::kEq : op == "!=" ? CondOp::kNe : op == "<" ? CondOp::kLt
               : op == "<=" ? CondOp::kLe : op == ">" ? CondOp::kGt : CondOp::kGe;
    return {Cond(cop, lhs, rhs), std::move(divisors_)};
  }

 private:
  void next() {
    std::size_t i = pos_;
    while (i < text_.size() && std::isspace(static_cast<unsigned char>(text_[i]))) ++i;
    tok_.column = i + 1;
    if (i == text_.size()) {
      tok_ = {Tok::kEnd, {}, i + 1};
      pos_ = i;
      return;
    }
    const char c = text_[i];
    auto take = [&](Tok k, std::size_t n) {
      tok_ = {k, text_.substr(i, n), i + 1};
      pos_ = i + n;
    };
    auto is_name_char = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.'; };
    if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t j = i;
      while (j < text_.size() && std::isdigit(static_cast<unsigned char>(text_[j]))) ++j;
      if (j < text_.size() && is_name_char(text_[j])) error(j + 1, "syntax", "a name cannot start with a digit");
      return take(Tok::kInt, j - i);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i;
      while (j < text_.size() && is_name_char(text_[j])) ++j;
      return take(Tok::kName, j - i);
    }
    const std::string_view two = text_.substr(i, 2);
    if (two == "//") return take(Tok::kSlash2, 2);
    if (two == "==" || two == "!=" || two == "<=" || two == ">=") return take(Tok::kCmp, 2);
    switch (c) {
      case '+': return take(Tok::kPlus, 1);
      case '-': return take(Tok::kMinus, 1);
      case '*': return take(Tok::kStar, 1);
      case '%': return take(Tok::kPercent, 1);
      case '(': return take(Tok::kLParen, 1);
      case ')': return take(Tok::kRParen, 1);
      case ',': return take(Tok::kComma, 1);
      case '<':
      case '>': return take(Tok::kCmp, 1);
      case '/': error(i + 1, "syntax", "'/' is not an operator: use '//' (floor division)");
      case '=': error(i + 1, "syntax", "'=' is not an operator: use '==' to compare");
      default: error(i + 1, "syntax", fmt::format("unexpected character '{}'", c));
    }
  }

  void expect(Tok k, const char* what) {
    if (tok_.kind != k) error(tok_.column, "syntax", fmt::format("expected {}, found {}", what, describe(tok_)));
    next();
  }
  void expect_end() {
    if (tok_.kind != Tok::kEnd) error(tok_.column, "syntax", fmt::format("unexpected {}", describe(tok_)));
  }

  // Builds with the canonicalising constructors; their errors (overflow, division by a
  // constant zero) get the operator's column.
  template <class F>
  Expr build(std::size_t column, F&& f) {
    try {
      return f();
    } catch (const ParseError&) {
      throw;
    } catch (const diag::Error& e) {
      error(column, e.diagnostic().code, e.diagnostic().message);
    }
  }

  void divisor(Expr d, std::size_t column) {
    if (d == Expr(0)) error(column, "division-by-zero", fmt::format("division by zero: the divisor is 0"));
    divisors_.push_back({d, column});
  }

  Expr expr() {
    Expr e = term();
    while (tok_.kind == Tok::kPlus || tok_.kind == Tok::kMinus) {
      const bool plus = tok_.kind == Tok::kPlus;
      const std::size_t col = tok_.column;
      next();
      Expr r = term();
      e = build(col, [&] { return plus ? e + r : e - r; });
    }
    return e;
  }

  Expr term() {
    Expr e = unary();
    while (tok_.kind == Tok::kStar || tok_.kind == Tok::kSlash2 || tok_.kind == Tok::kPercent) {
      const Tok op = tok_.kind;
      const std::size_t col = tok_.column;
      next();
      const std::size_t rcol = tok_.column;
      Expr r = unary();
      if (op == Tok::kStar) {
        e = build(col, [&] { return e * r; });
      } else {
        divisor(r, rcol);
        e = build(col, [&] { return op == Tok::kSlash2 ? floordiv(e, r) : mod(e, r); });
      }
    }
    return e;
  }

  Expr unary() {
    if (tok_.kind == Tok::kMinus) {
      const std::size_t col = tok_.column;
      next();
      Expr e = unary();
      return build(col, [&] { return -e; });
    }
    return primary();
  }

  Expr primary() {
    const Token t = tok_;
    switch (t.kind) {
      case Tok::kInt: {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc()) error(t.column, "overflow", fmt::format("the integer {} does not fit in int64", t.text));
        next();
        return Expr(v);
      }
      case Tok::kLParen: {
        next();
        Expr e = expr();
        expect(Tok::kRParen, "')'");
        return e;
      }
      case Tok::kName: {
        next();
        if (tok_.kind != Tok::kLParen) return resolve_(t.text);
        return call(t);
      }
      default: error(t.column, "syntax", fmt::format("expected a number, a name or '(', found {}", describe(t)));
    }
  }

  Expr call(const Token& fn) {
    static constexpr std::string_view kFunctions[] = {"min", "max", "floordiv", "mod", "ceildiv"};
    if (std::find(std::begin(kFunctions), std::end(kFunctions), fn.text) == std::end(kFunctions))
      error(fn.column, "syntax", fmt::format("unknown function '{}' (known: min, max, floordiv, mod, ceildiv)", fn.text));
    next();  // '('
    Expr a = expr();
    expect(Tok::kComma, "','");
    const std::size_t bcol = tok_.column;
    Expr b = expr();
    expect(Tok::kRParen, "')'");
    const std::string_view f = fn.text;
    if (f == "min") return build(fn.column, [&] { return min(a, b); });
    if (f == "max") return build(fn.column, [&] { return max(a, b); });
    divisor(b, bcol);
    if (f == "floordiv") return build(fn.column, [&] { return floordiv(a, b); });
    if (f == "mod") return build(fn.column, [&] { return mod(a, b); });
    return build(fn.column, [&] { return ceildiv(a, b); });
  }

  std::string_view text_;
  const SymbolResolver& resolve_;
  std::size_t pos_ = 0;
  Token tok_;
  std::vector<ParsedDivisor> divisors_;
};

}  // namespace

ParsedExpr parse_expr(std::string_view text, const SymbolResolver& resolve) {
  return Parser(text, resolve).expr_only();
}

ParsedFact parse_fact(std::string_view text, const SymbolResolver& resolve) {
  return Parser(text, resolve).fact();
}

SymbolResolver resolver_for(ShapeEnv& env, std::string provenance) {
  return [&env, provenance = std::move(provenance)](std::string_view name) {
    if (auto s = env.find_symbol(name)) return *s;
    return env.new_symbol(std::string(name), provenance);
  };
}

}  // namespace symtrace::sym
