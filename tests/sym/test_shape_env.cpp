// ShapeEnv: symbols and provenance, facts, decisions, guards and binding.
#include <gtest/gtest.h>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/format.hpp>
#include <symtrace/sym/shape_env.hpp>

namespace symtrace::sym {
namespace {

diag::Diagnostic error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const diag::Error& e) {
    return e.diagnostic();
  }
  diag::Diagnostic none;
  none.code = "no error";
  return none;
}

bool has_note(const diag::Diagnostic& d, std::string_view text) {
  for (const auto& n : d.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

TEST(ShapeEnv, SymbolsCarryNameProvenanceKindAndRange) {
  ShapeEnv env;
  const Expr b = env.new_symbol("B", "input x dim 0");
  const Expr h = env.new_symbol("hidden", "config.hidden_size", SymbolKind::kConfig, Range{64, 65536});
  const Expr t = env.new_symbol("tokens", "tokens routed to expert 3", SymbolKind::kUnbacked, Range{0, std::nullopt});
  EXPECT_EQ(env.info(b).provenance, "input x dim 0");
  EXPECT_EQ(env.info(h).kind, SymbolKind::kConfig);
  EXPECT_EQ(env.info(h).range.str(), "[64, 65536]");
  EXPECT_EQ(env.info(b).range.str(), "[1, inf)");
  EXPECT_EQ(env.info(t).range.str(), "[0, inf)");
  EXPECT_EQ(symbol_kind_name(env.info(t).kind), "data-dependent");
  EXPECT_EQ(env.find_symbol("hidden"), h);
  EXPECT_FALSE(env.find_symbol("nope"));
  EXPECT_EQ(env.symbols().size(), 3u);
  EXPECT_EQ(env.provenance_notes(b * h),
            (std::vector<std::string>{"B from input x dim 0", "hidden from config.hidden_size"}));
  env.set_hint(h, 4096);
  EXPECT_EQ(env.provenance_notes(h), (std::vector<std::string>{"hidden = 4096 from config.hidden_size"}));
  EXPECT_EQ(error_of([&] { env.new_symbol("B", "again"); }).code, "symbol");
  EXPECT_EQ(error_of([&] { env.new_symbol("E", "empty", SymbolKind::kConfig, Range{5, 4}); }).code, "symbol");
}

TEST(ShapeEnv, DecidesFromRangesAndDivisibility) {
  ShapeEnv env;
  const Expr b = env.new_symbol("B", "input x dim 0");
  const Expr h = env.new_symbol("H", "config.hidden_size", SymbolKind::kConfig);
  env.assume(divisible(h, 128));
  EXPECT_EQ(env.decide(eq(mod(h * b, 64), 0)), Truth::kTrue);
  EXPECT_EQ(env.decide(eq(mod(h, 256), 0)), Truth::kUnknown);
  EXPECT_EQ(env.decide(ge(h, 128)), Truth::kTrue);  // a positive multiple of 128
  EXPECT_EQ(env.decide(eq(mod(h + 1, 2), 0)), Truth::kFalse);
  EXPECT_EQ(env.decide(le(b, 4096)), Truth::kUnknown);
  EXPECT_EQ(env.decide(gt(b, 0) && ne(h, 0)), Truth::kTrue);
  EXPECT_EQ(env.decide(lt(b, 1) || lt(h, 1)), Truth::kFalse);
  EXPECT_EQ(env.modulus(h * 3 + 5), (std::pair<std::int64_t, std::int64_t>{384, 5}));
  EXPECT_EQ(env.bounds(floordiv(h, 64)).str(), "[2, inf)");
}

TEST(ShapeEnv, EqualitiesSubstitute) {
  ShapeEnv env;
  const Expr n = env.new_symbol("N", "weight dim 0");
  const Expr k = env.new_symbol("K", "weight dim 1");
  env.assume(eq(n, k * 2));
  EXPECT_EQ(env.simplify(n - k), k);
  EXPECT_EQ(env.decide(eq(mod(n, 2), 0)), Truth::kTrue);
  const Expr m = env.new_symbol("M", "x dim 0");
  env.assume(eq(m, k));
  EXPECT_EQ(env.simplify(m + n), k * 3);  // M follows K, the older symbol
  env.assume(eq(k, 64));
  EXPECT_EQ(env.simplify(m * n), Expr(64 * 128));
  EXPECT_EQ(env.info(k).range.str(), "[64, 64]");
}

TEST(ShapeEnv, FactsNarrowRanges) {
  ShapeEnv env;
  const Expr a = env.new_symbol("a", "t");
  const Expr b = env.new_symbol("b", "t");
  env.assume(le(a + b, 10));
  EXPECT_EQ(env.info(a).range.str(), "[1, 9]");
  EXPECT_EQ(env.decide(lt(a, 10)), Truth::kTrue);
  env.assume(ne(a, 1));
  EXPECT_EQ(env.info(a).range.str(), "[2, 9]");
  env.set_range(b, Range{5, 5});
  EXPECT_EQ(env.decide(le(a, 5)), Truth::kTrue);  // facts replayed over the new range
  EXPECT_EQ(error_of([&] { env.set_range(b, Range{20, 30}); }).code, "contradiction");  // a + b <= 10
  EXPECT_EQ(env.info(b).range.str(), "[5, 5]");  // unchanged
  EXPECT_EQ(env.decide(le(a, 5)), Truth::kTrue);
}

TEST(ShapeEnv, ContradictionsAreErrorsAndLeaveTheFactsAlone) {
  ShapeEnv env;
  const Expr a = env.new_symbol("a", "input a dim 0");
  env.assume(le(a, 10));
  const auto d = error_of([&] { env.assume(gt(a, 20)); });
  EXPECT_EQ(d.code, "contradiction");
  EXPECT_TRUE(has_note(d, "a from input a dim 0"));
  EXPECT_EQ(error_of([&] { env.assume(eq(mod(a, 2), 3)); }).code, "contradiction");
  env.assume(eq(mod(a, 4), 1));
  EXPECT_EQ(error_of([&] { env.assume(eq(mod(a, 2), 0)); }).code, "contradiction");
  EXPECT_EQ(env.decide(le(a, 10)), Truth::kTrue);  // still the old facts
  EXPECT_EQ(env.decide(le(a, 9)), Truth::kTrue);   // 10 is not ≡ 1 (mod 4)
}

TEST(ShapeEnv, SimplifyUsesFacts) {
  ShapeEnv env;
  const Expr i = env.new_symbol("i", "loop", SymbolKind::kInputSize, Range::unbounded());
  const Expr j = env.new_symbol("j", "lane", SymbolKind::kInputSize, Range{0, 63});
  EXPECT_EQ(env.simplify(floordiv(i * 64 + j, 64)), i);
  EXPECT_EQ(env.simplify(mod(i * 64 + j, 64)), j);
  EXPECT_EQ(env.simplify(min(j, 100)), j);
  const SymInt s = SymInt(max(j, 64));
  EXPECT_EQ(env.simplify(s).maybe_value(), 64);
}

TEST(ShapeEnv, RequireRecordsGuardsWithReasons) {
  ShapeEnv env;
  const Expr n = env.new_symbol("N", "weight dim 0");
  EXPECT_EQ(env.require(le(n, 1 << 20), "fits the workspace"), Truth::kUnknown);
  EXPECT_EQ(env.require(ge(n, 1), "non-empty"), Truth::kTrue);  // proven: no guard
  EXPECT_EQ(env.require(gt(n, 1 << 21), "impossible now"), Truth::kFalse);
  ASSERT_EQ(env.guards().size(), 1u);
  EXPECT_EQ(env.guards()[0].reason, "fits the workspace");
  EXPECT_EQ(env.guards()[0].cond.str(), "N <= 1048576");
  EXPECT_EQ(env.decide(le(n, 1 << 20)), Truth::kTrue);  // a recorded guard is assumed from then on
}

TEST(ShapeEnv, StrictPolicyRaisesTheReason) {
  ShapeEnv env;
  const Expr n = env.new_symbol("N", "weight dim 0");
  env.set_guard_policy(GuardPolicy::kStrict);
  EXPECT_EQ(env.guard_policy(), GuardPolicy::kStrict);
  const auto d = error_of([&] { env.require(eq(mod(n, 64), 0), "block_fp8_gemm.deepgemm: N % 64 == 0"); });
  EXPECT_EQ(d.code, "guard");
  EXPECT_FALSE(d.proven);
  EXPECT_NE(d.message.find("block_fp8_gemm.deepgemm"), std::string::npos);
  EXPECT_TRUE(has_note(d, "N from weight dim 0"));
  EXPECT_TRUE(env.guards().empty());
}

TEST(ShapeEnv, BindChecksEveryFactAndNamesProvenance) {
  ShapeEnv env;
  const Expr b = env.new_symbol("B", "input x dim 0");
  const Expr h = env.new_symbol("hidden", "config.hidden_size", SymbolKind::kConfig);
  const Expr k = env.new_symbol("K", "weight dim 1");
  env.assume(divisible(h, 128));
  env.assume(eq(k, h));
  env.require(le(b, 4096), "kernel tile limit");
  const Bindings ok = env.bind({{"B", 8}, {"hidden", 4096}});
  EXPECT_EQ(ok.get(k.symbol_id()), 4096);  // K follows hidden
  EXPECT_EQ(env.evaluate(b * k + 1, ok), 8 * 4096 + 1);
  EXPECT_EQ(env.evaluate(SymInt(7), ok), 7);

  auto d = error_of([&] { env.bind({{"B", 8}, {"hidden", 4000}}); });
  EXPECT_EQ(d.code, "bind");
  EXPECT_NE(d.message.find("mod(hidden, 128) == 0"), std::string::npos);
  EXPECT_TRUE(has_note(d, "hidden = 4000 from config.hidden_size"));

  d = error_of([&] { env.bind({{"B", 5000}, {"hidden", 4096}}); });
  EXPECT_NE(d.message.find("kernel tile limit"), std::string::npos);
  EXPECT_TRUE(has_note(d, "B = 5000 from input x dim 0"));

  d = error_of([&] { env.bind({{"B", 0}}); });
  EXPECT_NE(d.message.find("outside its range [1, inf)"), std::string::npos);

  d = error_of([&] { env.bind({{"hidden", 128}, {"K", 256}}); });
  EXPECT_NE(d.message.find("K == hidden"), std::string::npos);
  EXPECT_TRUE(has_note(d, "K = 256 from weight dim 1"));

  EXPECT_EQ(error_of([&] { env.bind({{"nope", 1}}); }).code, "bind");
  EXPECT_EQ(error_of([&] { (void)env.evaluate(b, env.bind({})); }).code, "unbound");
}

TEST(ShapeEnv, BindSolvesLinearEqualities) {
  ShapeEnv env;
  const Expr k = env.new_symbol("k", "blocks");
  const Expr h = env.new_symbol("hidden", "config.hidden_size", SymbolKind::kConfig);
  env.assume(eq(h, k * 128 + 64));  // eliminates hidden (the newer symbol)
  const Bindings b = env.bind({{"hidden", 64 + 128 * 7}});
  EXPECT_EQ(b.get(k.symbol_id()), 7);
  const auto d = error_of([&] { env.bind({{"hidden", 100}}); });
  EXPECT_EQ(d.code, "bind");  // no integer k: the equality cannot hold
  EXPECT_NE(d.message.find("hidden == 128*k + 64"), std::string::npos);
}

TEST(ShapeEnv, BindOfTwentyGuards) {
  ShapeEnv env;
  std::vector<Expr> s;
  for (int i = 0; i < 5; ++i) s.push_back(env.new_symbol("s" + std::to_string(i), "input dim " + std::to_string(i)));
  for (int i = 0; i < 20; ++i) env.require(le(s[i % 5] * (i + 1), 100000 + i), "guard " + std::to_string(i));
  EXPECT_EQ(env.guards().size(), 20u);
  EXPECT_NO_THROW(env.bind({{"s0", 1}, {"s1", 2}, {"s2", 3}, {"s3", 4}, {"s4", 5}}));
  EXPECT_EQ(error_of([&] { env.bind({{"s0", 1}, {"s1", 2}, {"s2", 3}, {"s3", 4}, {"s4", 6000}}); }).code, "bind");
}

TEST(ShapeEnv, SymbolsOfAnotherEnvAreNotConfused) {
  ShapeEnv env, other;
  const Expr x = env.new_symbol("x", "t");
  const Expr y = env.new_symbol("y", "t");
  const Expr z = other.new_symbol("z", "u");  // the same id as x
  ASSERT_EQ(z.symbol_id(), x.symbol_id());
  env.assume(eq(x, y * 2));
  env.assume(le(y, 5));
  EXPECT_EQ(env.simplify(z + 1), z + 1);         // not rewritten as x would be
  EXPECT_EQ(env.decide(le(z, 10)), Truth::kUnknown);
  EXPECT_EQ(error_of([&] { env.assume(le(z, 3)); }).code, "symbol");
}

TEST(ShapeEnv, MovesKeepTheFacts) {
  ShapeEnv env;
  const Expr a = env.new_symbol("a", "t");
  env.assume(le(a, 3));
  ShapeEnv moved = std::move(env);
  EXPECT_EQ(moved.decide(lt(a, 4)), Truth::kTrue);
}

}  // namespace
}  // namespace symtrace::sym
