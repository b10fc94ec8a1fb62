// The text syntax: precedence, functions, comparisons, and errors with columns.
#include <random>

#include <gtest/gtest.h>
#include <symtrace/sym/format.hpp>
#include <symtrace/sym/parser.hpp>
#include <symtrace/sym/shape_env.hpp>

namespace symtrace::sym {
namespace {

struct Parsed {
  ShapeEnv env;
  Expr parse(std::string_view s) { return parse_expr(s, resolver_for(env)).expr; }
  std::size_t error_column(std::string_view s, bool fact = false) {
    try {
      if (fact) {
        parse_fact(s, resolver_for(env));
      } else {
        parse(s);
      }
    } catch (const ParseError& e) {
      return e.column();
    }
    return 0;
  }
};

TEST(Parser, ReadsExpressionsWithPrecedence) {
  Parsed p;
  EXPECT_EQ(p.parse("1 + 2 * 3").str(), "7");
  EXPECT_EQ(p.parse("(a + b) * c - c*b").str(), "a*c");
  EXPECT_EQ(p.parse("-a // 2").str(), "floordiv(-a, 2)");
  EXPECT_EQ(p.parse("-7 % 3").str(), "2");
  EXPECT_EQ(p.parse("a // 4 * 4 + a % 4").str(), "4*floordiv(a, 4) + mod(a, 4)");
  EXPECT_EQ(p.parse("ceildiv(config.hidden_size, 128)").str(), "ceildiv(config.hidden_size, 128)");
  EXPECT_EQ(p.parse("max(min(a, 3), floordiv(b, 2)) + mod(a, b)").str(), "mod(a, b) + max(floordiv(b, 2), min(a, 3))");
  EXPECT_EQ(p.env.info(*p.env.find_symbol("a")).range.str(), "[1, inf)");  // sizes by default
}

TEST(Parser, ReadsFactsAndRecordsDivisors) {
  Parsed p;
  auto f = parse_fact("mod(N * 64, d) >= x // (k - 1)", resolver_for(p.env));
  EXPECT_EQ(f.cond.str(), "mod(64*N, d) >= floordiv(x, k - 1)");
  ASSERT_EQ(f.divisors.size(), 2u);
  EXPECT_EQ(f.divisors[0].divisor.str(), "d");
  EXPECT_EQ(f.divisors[0].column, 13u);
  EXPECT_EQ(f.divisors[1].divisor.str(), "k - 1");
  EXPECT_EQ(f.divisors[1].column, 24u);
  for (const char* op : {"==", "!=", "<", "<=", ">", ">="}) EXPECT_NO_THROW(parse_fact(std::string("a ") + op + " b", resolver_for(p.env)));
}

TEST(Parser, ErrorsCarryTheColumn) {
  Parsed p;
  EXPECT_EQ(p.error_column("x + )"), 5u);
  EXPECT_EQ(p.error_column("x / 2"), 3u);
  EXPECT_EQ(p.error_column("foo(1, 2)"), 1u);
  EXPECT_EQ(p.error_column("min(1 2)"), 7u);
  EXPECT_EQ(p.error_column("(a + b"), 7u);
  EXPECT_EQ(p.error_column("a $ b"), 3u);
  EXPECT_EQ(p.error_column("2x"), 2u);
  EXPECT_EQ(p.error_column("x // (y - y)"), 6u);  // division by a constant zero
  EXPECT_EQ(p.error_column("99999999999999999999"), 1u);
  EXPECT_EQ(p.error_column("9223372036854775807 + 1"), 21u);  // overflow at the operator
  EXPECT_EQ(p.error_column("a = b", true), 3u);
  EXPECT_EQ(p.error_column("a + b", true), 6u);
  EXPECT_EQ(p.error_column("a < b < c", true), 7u);
}

TEST(Parser, ErrorCodes) {
  Parsed p;
  auto code = [&](std::string_view s) {
    try {
      p.parse(s);
    } catch (const ParseError& e) {
      return e.diagnostic().code;
    }
    return std::string("none");
  };
  EXPECT_EQ(code("x +"), "syntax");
  EXPECT_EQ(code("mod(x, 0)"), "division-by-zero");
  EXPECT_EQ(code("9223372036854775807 * 2"), "overflow");
}

TEST(Parser, RandomTextEitherParsesOrFailsWithAColumn) {
  // A small in-test fuzzer: token soup from the grammar's alphabet. Every outcome is a
  // parse or a ParseError inside the text (a division by a symbol that is 0 is fine).
  static constexpr std::string_view kPieces[] = {"a", "b", "x1", "7", "0", "-", "+", "*", "//", "%", "(", ")", ",",
                                                 "min(", "max(", "floordiv(", "mod(", "ceildiv(", " ", "==", "<",
                                                 "9223372036854775807", "$"};
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const int n = static_cast<int>(rng() % 12) + 1;
    for (int k = 0; k < n; ++k) text += kPieces[rng() % std::size(kPieces)];
    Parsed p;
    try {
      if (i % 2) {
        parse_fact(text, resolver_for(p.env));
      } else {
        p.parse(text);
      }
    } catch (const ParseError& e) {
      EXPECT_GE(e.column(), 1u) << text;
      EXPECT_LE(e.column(), text.size() + 1) << text;
    }
  }
}

}  // namespace
}  // namespace symtrace::sym
