// Text syntax of symbolic integers and facts (the `symtrace sym` command line, tests):
//
//   expr  := term (('+' | '-') term)*
//   term  := unary (('*' | '//' | '%') unary)*
//   unary := '-' unary | INT | NAME | NAME '(' expr ',' expr ')' | '(' expr ')'
//   fact  := expr ('==' | '!=' | '<' | '<=' | '>' | '>=') expr
//
// Functions: min, max, floordiv, mod, ceildiv. `//` and `%` follow Python (floor toward
// -inf). Names are letters, digits, '_' and '.', not starting with a digit.
//
//   ShapeEnv env;
//   Cond c = parse_fact("mod(N * 64, 128) == 0", resolver_for(env)).cond;
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/cond.hpp>
#include <symtrace/sym/expr.hpp>

namespace symtrace::sym {

class ShapeEnv;

// A syntax error (code "syntax"), or an overflow / division by a constant zero met while
// building the expression; the message starts with "column N: ". Columns are 1-based.
class ParseError : public diag::Error {
 public:
  ParseError(diag::Diagnostic d, std::size_t column) : diag::Error(std::move(d)), column_(column) {}
  std::size_t column() const noexcept { return column_; }

 private:
  std::size_t column_;
};

// Every divisor of // % floordiv mod ceildiv, with the column where it starts, so a caller
// holding facts can reject a division by a provable zero at the right place.
struct ParsedDivisor {
  Expr divisor;
  std::size_t column;
};

struct ParsedExpr {
  Expr expr;
  std::vector<ParsedDivisor> divisors;
};

struct ParsedFact {
  Cond cond = Cond::constant(true);
  std::vector<ParsedDivisor> divisors;
};

// Maps a name to its symbol (typically finding or creating it in a ShapeEnv).
using SymbolResolver = std::function<Expr(std::string_view name)>;

ParsedExpr parse_expr(std::string_view text, const SymbolResolver& resolve);
ParsedFact parse_fact(std::string_view text, const SymbolResolver& resolve);

// Finds a symbol by name in env, or creates it as a size ([1, inf)) with this provenance.
SymbolResolver resolver_for(ShapeEnv& env, std::string provenance = "expression");

}  // namespace symtrace::sym
