// Every simplification rule as a table row: before, after, preconditions (STYLE.md 8).
// Each row checks that simplify(before) is exactly `after` (same interned node), and that
// before and after agree on random bindings satisfying the preconditions (the naive
// evaluator reads the text, independent of the canonical form). Failures print all three.
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/format.hpp>
#include <symtrace/sym/parser.hpp>

#include "sampling.hpp"

namespace symtrace::sym {
namespace {

struct Rule {
  const char* name;
  const char* before;
  const char* after;
  testing::Precondition pre = {};
};

const Range kAny = Range::unbounded();

// Context-free rules: they hold wherever `before` is defined, so no preconditions except
// the ranges that make the test bindings interesting (negative values included).
const Rule kContextFree[] = {
    {"constant folding", "3 + 4*5 - 2", "21"},
    {"python floordiv", "(-7) // 2", "-4"},
    {"python mod takes the divisor's sign", "(-7) % 2 + 7 % (-2)", "0"},
    {"polynomial normalisation", "(a + b)*c - c*b", "a*c", {{}, {{"a", kAny}, {"b", kAny}, {"c", kAny}}}},
    {"like terms collect", "3*a - 2*a + a*b - b*a", "a", {{}, {{"a", kAny}, {"b", kAny}}}},
    {"distribution", "(a + 1)*(a - 1)", "a*a - 1", {{}, {{"a", kAny}}}},
    {"floordiv of an exact multiple", "floordiv(64*a, 32)", "2*a", {{}, {{"a", kAny}}}},
    {"floordiv pulls out multiples", "floordiv(5*x + 7, 4)", "x + floordiv(x + 3, 4) + 1", {{}, {{"x", kAny}}}},
    {"floordiv divides by the content", "floordiv(2*x + 2, 4)", "floordiv(x + 1, 2)", {{}, {{"x", kAny}}}},
    {"floordiv by one", "x // 1", "x", {{}, {{"x", kAny}}}},
    {"floordiv by a negative constant", "floordiv(x, -4)", "floordiv(-x, 4)", {{}, {{"x", kAny}}}},
    {"nested floordiv", "floordiv(floordiv(x, 4), 8)", "floordiv(x, 32)", {{}, {{"x", kAny}}}},
    {"floordiv of a smaller mod", "floordiv(mod(x, 4), 8)", "0", {{}, {{"x", kAny}}}},
    {"mod of an exact multiple", "mod(128*a, 64)", "0", {{}, {{"a", kAny}}}},
    {"mod drops multiples", "mod(x + 64*y + 65, 64)", "mod(x + 1, 64)", {{}, {{"x", kAny}, {"y", kAny}}}},
    {"mod divides by the content", "mod(6*x, 4)", "2*mod(x, 2)", {{}, {{"x", kAny}}}},
    {"mod by a negative constant", "mod(x, -4)", "-mod(-x, 4)", {{}, {{"x", kAny}}}},
    {"mod by one", "x % 1", "0", {{}, {{"x", kAny}}}},
    {"mod of a mod by a divisor", "mod(mod(x, 64), 8)", "mod(x, 8)", {{}, {{"x", kAny}}}},
    {"mod of a smaller mod", "mod(mod(x, 4), 8)", "mod(x, 4)", {{}, {{"x", kAny}}}},
    {"mod of itself", "mod(x, x)", "0", {{}, {{"x", kAny}}}},
    {"ceildiv", "ceildiv(x, 4)", "-floordiv(-x, 4)", {{}, {{"x", kAny}}}},
    {"min of equals", "min(x, x)", "x", {{}, {{"x", kAny}}}},
    {"min of a constant offset", "min(x + 3, x)", "x", {{}, {{"x", kAny}}}},
    {"max of a constant offset", "max(x + 3, x)", "x + 3", {{}, {{"x", kAny}}}},
    {"min is symmetric", "min(y, x) - min(x, y)", "0", {{}, {{"x", kAny}, {"y", kAny}}}},
    {"min pulls out the common offset", "min(x + 3, y + 5)", "min(x, y + 2) + 3", {{}, {{"x", kAny}, {"y", kAny}}}},
    {"max pulls out the common offset", "max(x - 1, 7)", "max(x, 8) - 1", {{}, {{"x", kAny}}}},
    {"min of constants", "min(3, 9) + max(3, 9)", "12"},
};

// Fact-dependent rules (ShapeEnv::simplify).
const Rule kWithFacts[] = {
    {"equality substitutes", "x + y", "3*y", {{"x == 2*y"}, {}}},
    {"equality renames to the older symbol", "b - a", "0", {{"b == a"}, {}}},
    {"equality eliminates the newer symbol", "n*n - m", "n*n - n + 1", {{"n == m + 1"}, {}}},
    {"(m*e + r) // m == e for 0 <= r < m", "floordiv(64*i + j, 64)", "i", {{}, {{"i", kAny}, {"j", Range{0, 63}}}}},
    {"(m*e + r) % m == r for 0 <= r < m", "mod(64*i + j, 64)", "j", {{}, {{"i", kAny}, {"j", Range{0, 63}}}}},
    {"floordiv by the block of the remainder", "floordiv(j, 64)", "1", {{}, {{"j", Range{64, 127}}}}},
    {"mod by the block of the remainder", "mod(j, 64)", "j - 64", {{}, {{"j", Range{64, 127}}}}},
    {"mod of a known multiple", "mod(n, 32)", "0", {{"mod(n, 64) == 0"}, {}}},
    {"mod of a known residue", "mod(n + 5, 64)", "5", {{"mod(n, 64) == 0"}, {}}},
    {"mod of a known odd number", "mod(n, 2)", "1", {{"mod(n, 4) == 3"}, {}}},
    {"floordiv ignores a small remainder", "floordiv(n + 5, 64)", "floordiv(n, 64)", {{"mod(n, 64) == 0"}, {}}},
    {"mod of a product with a known multiple", "mod(h*b, 64)", "0", {{"mod(h, 128) == 0"}, {}}},
    {"mod of a divisible sum fact", "mod(w*x + 64*y, 64)", "0", {{"mod(w*x, 64) == 0"}, {}}},
    {"min folded by ranges", "min(x, 100)", "x", {{}, {{"x", Range{0, 64}}}}},
    {"max folded by ranges", "max(x, 100)", "100", {{}, {{"x", Range{0, 64}}}}},
    {"min folded by a fact", "min(a, b)", "a", {{"a <= b"}, {}}},
    {"max folded by a fact", "max(a, b)", "a", {{"a > b"}, {}}},
    {"floordiv(a*b, b) == a for b > 0", "floordiv(a*b, b)", "a", {{}, {{"a", kAny}}}},
    {"floordiv(a*b, b) == a for b < 0", "floordiv(a*b, b)", "a", {{}, {{"a", kAny}, {"b", Range{std::nullopt, -1}}}}},
    {"floordiv(a*b, b) stays when b may be 0", "floordiv(a*b, b)", "floordiv(a*b, b)",
     {{}, {{"a", kAny}, {"b", Range{0, std::nullopt}}}}},
    {"floordiv(b*q + r, b) == q for 0 <= r < b", "floordiv(a*b + c, b)", "a", {{"c < b"}, {{"c", Range{0, std::nullopt}}}}},
    {"mod(b*q + r, b) == r for 0 <= r < b", "mod(a*b + c, b)", "c", {{"c < b"}, {{"c", Range{0, std::nullopt}}}}},
    {"mod(b*q + r, b) == mod(r, b)", "mod(a*b + c, b)", "mod(c, b)", {{}, {{"a", kAny}, {"c", kAny}}}},
    {"floordiv(b*q + r, b) == q + floordiv(r, b)", "floordiv(a*b + c, b)", "a + floordiv(c, b)", {{}, {{"a", kAny}, {"c", kAny}}}},
    {"floordiv of itself", "floordiv(a, a)", "1", {{}, {}}},
    {"floordiv of a smaller value", "floordiv(c, b)", "0", {{"c < b"}, {{"c", Range{0, std::nullopt}}}}},
};

std::vector<std::string> names_of(ShapeEnv& env) {
  std::vector<std::string> out;
  for (const auto* s : env.symbols()) out.push_back(s->name);
  return out;
}

void check_rule(const Rule& r, std::mt19937_64& rng) {
  SCOPED_TRACE(fmt::format("rule '{}': {}  ->  {}", r.name, r.before, r.after));
  ShapeEnv env;
  for (const auto& [n, range] : r.pre.ranges) env.new_symbol(n, "rule test", SymbolKind::kInputSize, range);
  auto resolve = resolver_for(env, "rule test");
  const Expr before = parse_expr(r.before, resolve).expr;
  const Expr after = parse_expr(r.after, resolve).expr;
  for (const auto& a : r.pre.assume) env.assume(parse_fact(a, resolve).cond);
  const Expr got = env.simplify(before);
  verify(got);
  EXPECT_EQ(got, after) << "before " << r.before << "\nwant   " << after << "\ngot    " << got;

  const auto bindings = testing::sample_bindings(names_of(env), r.pre, rng);
  if (names_of(env).empty()) {
    EXPECT_EQ(testing::naive_eval(r.before, {}), got.constant());
    return;
  }
  EXPECT_GE(bindings.size(), 10u) << "too few bindings satisfy the preconditions";
  int compared = 0;
  for (const auto& b : bindings) {
    const auto want = testing::naive_eval(r.before, b);
    if (!want) continue;
    const auto value = evaluate(got, [&](std::uint32_t id) -> std::optional<std::int64_t> {
      return b.at(env.info(id).name);
    });
    ++compared;
    if (value != *want) {
      std::string at;
      for (const auto& [n, v] : b) at += fmt::format("{}={} ", n, v);
      ADD_FAILURE() << "unsound at " << at << ": before = " << *want << ", after = " << value;
      return;
    }
  }
  EXPECT_GT(compared, 0);
}

TEST(SymRules, ContextFreeRulesAreExactAndSound) {
  std::mt19937_64 rng(1234);
  for (const Rule& r : kContextFree) check_rule(r, rng);
}

TEST(SymRules, FactDependentRulesAreExactAndSound) {
  std::mt19937_64 rng(5678);
  for (const Rule& r : kWithFacts) check_rule(r, rng);
}

}  // namespace
}  // namespace symtrace::sym
