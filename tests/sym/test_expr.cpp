// Expr and SymInt: interning, canonical forms, printing, Python semantics, overflow.
#include <thread>

#include <gtest/gtest.h>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/format.hpp>

namespace symtrace::sym {
namespace {

struct Syms {
  Expr a = Expr::symbol(0, "a"), b = Expr::symbol(1, "b"), c = Expr::symbol(2, "c");
  Expr batch = Expr::symbol(3, "batch"), seq = Expr::symbol(4, "seq"), hidden = Expr::symbol(5, "hidden");
};

std::string code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const diag::Error& e) {
    return e.diagnostic().code;
  }
  return "no error";
}

TEST(Expr, StructurallyEqualExpressionsAreTheSameNode) {
  Syms s;
  EXPECT_EQ((s.a + s.b).node(), (s.b + s.a).node());
  EXPECT_EQ((s.a * s.b + 1).node(), (1 + s.b * s.a).node());
  EXPECT_EQ(floordiv(s.a, 4).node(), floordiv(s.a, 4).node());
  EXPECT_EQ(Expr::symbol(0, "a"), s.a);
  EXPECT_NE(Expr::symbol(0, "other"), s.a);  // same id, other name: another symbol
  EXPECT_EQ((s.a + s.b).hash(), (s.b + s.a).hash());
}

TEST(Expr, CanonicalFormCollectsAndCancels) {
  Syms s;
  EXPECT_EQ((s.a + s.b) * s.c - s.c * s.b, s.a * s.c);
  EXPECT_EQ(s.a - s.a, Expr(0));
  EXPECT_EQ(s.b * 4 + floordiv(s.b * 64, 32), s.b * 6);
  EXPECT_EQ(mod(s.a * 128, 64), Expr(0));
  EXPECT_EQ((s.a + 1) * (s.a + 1), s.a * s.a + s.a * 2 + 1);
  EXPECT_EQ(min(s.a, s.b), min(s.b, s.a));
  EXPECT_EQ(max(s.a + 3, s.a), s.a + 3);
  for (Expr e : {(s.a + s.b) * (s.a - s.c) * 3, floordiv(s.a * 6 + 5, 4), mod(s.a - 7, 3), ceildiv(s.b, 128),
                 min(s.a + 1, s.c * 2) - max(s.b, 4)})
    EXPECT_NO_THROW(verify(e)) << e;
}

TEST(Expr, AccessorsDescribeTheNode) {
  Syms s;
  const Expr e = s.a * s.b * 3 + s.c + 7;
  EXPECT_EQ(e.kind(), ExprKind::kAdd);
  EXPECT_EQ(e.coefficient(), 7);
  ASSERT_EQ(e.children().size(), 2u);
  EXPECT_EQ(e.children()[0].kind(), ExprKind::kMul);
  EXPECT_EQ(e.children()[0].coefficient(), 3);
  EXPECT_EQ(e.free_symbols(), (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(Expr(5).constant(), 5);
  EXPECT_FALSE(s.a.constant());
  EXPECT_EQ(s.a.symbol_name(), "a");
  EXPECT_THROW(Expr(5).symbol_id(), diag::InternalError);
}

TEST(Expr, PrintsReadableForms) {
  Syms s;
  EXPECT_EQ((s.batch * s.seq + 4).str(), "batch*seq + 4");
  EXPECT_EQ(floordiv(s.hidden, 128).str(), "floordiv(hidden, 128)");
  EXPECT_EQ(ceildiv(s.hidden, 128).str(), "ceildiv(hidden, 128)");
  EXPECT_EQ((s.a - s.b * 2 - 1).str(), "a - 2*b - 1");
  EXPECT_EQ((-s.a).str(), "-a");
  EXPECT_EQ(mod(s.a, 64).str(), "mod(a, 64)");
  EXPECT_EQ(fmt::format("{}", min(s.a, 10) * 2), "2*min(a, 10)");
  EXPECT_EQ(Expr(INT64_MIN).str(), "-9223372036854775808");
  EXPECT_EQ((s.a + Expr(INT64_MIN)).str(), "a - 9223372036854775808");
}

TEST(Expr, FollowsPythonDivisionSemantics) {
  EXPECT_EQ(floordiv(Expr(-7), 2), Expr(-4));
  EXPECT_EQ(mod(Expr(-7), 2), Expr(1));
  EXPECT_EQ(mod(Expr(7), -2), Expr(-1));
  EXPECT_EQ(floordiv(Expr(7), -2), Expr(-4));
  EXPECT_EQ(ceildiv(Expr(-7), 2), Expr(-3));
  Syms s;
  auto at = [&](Expr e, std::int64_t v) { return evaluate(e, [&](std::uint32_t) { return std::optional(v); }); };
  EXPECT_EQ(at(floordiv(s.a, -4), 7), -2);
  EXPECT_EQ(at(mod(s.a, -4), 7), -1);
  EXPECT_EQ(at(mod(s.a, 4), -7), 1);
}

TEST(Expr, ConstantOverflowIsAnError) {
  Syms s;
  EXPECT_EQ(code_of([] { (void)(Expr(INT64_MAX) + 1); }), "overflow");
  EXPECT_EQ(code_of([] { (void)(Expr(INT64_MAX / 2 + 1) * 2); }), "overflow");
  EXPECT_EQ(code_of([&] { (void)(s.a * INT64_MAX * 2); }), "overflow");
  EXPECT_EQ(code_of([] { (void)(-Expr(INT64_MIN)); }), "overflow");
  EXPECT_EQ(code_of([] { (void)floordiv(Expr(INT64_MIN), -1); }), "overflow");
  EXPECT_EQ(code_of([&] { (void)evaluate(s.a * s.a, [](std::uint32_t) { return std::optional<std::int64_t>(1LL << 32); }); }),
            "overflow");
}

TEST(Expr, DivisionByConstantZeroIsAnError) {
  Syms s;
  EXPECT_EQ(code_of([&] { (void)floordiv(s.a, 0); }), "division-by-zero");
  EXPECT_EQ(code_of([&] { (void)mod(s.a, s.b - s.b); }), "division-by-zero");
  EXPECT_EQ(code_of([&] { (void)evaluate(floordiv(s.a, s.b), [](std::uint32_t id) { return std::optional<std::int64_t>(id == 1 ? 0 : 5); }); }),
            "division-by-zero");
}

TEST(Expr, EvaluateNeedsEverySymbol) {
  Syms s;
  EXPECT_EQ(code_of([&] { (void)evaluate(s.a + s.b, [](std::uint32_t id) { return id == 0 ? std::optional<std::int64_t>(1) : std::nullopt; }); }),
            "unbound");
}

TEST(Expr, SubstituteRecanonicalises) {
  Syms s;
  const Expr e = floordiv(s.a * 2 + s.b, 4);
  const Expr r = substitute(e, [&](std::uint32_t id) -> std::optional<Expr> {
    if (id == 1) return s.a * 2;  // b := 2a
    return std::nullopt;
  });
  EXPECT_EQ(r, s.a);  // (2a + 2a) // 4
}

TEST(Expr, InterningIsThreadSafe) {
  Syms s;
  std::vector<const detail::Node*> seen[2];
  auto work = [&](int t) {
    for (int i = 0; i < 2000; ++i) seen[t].push_back((s.a * (i + 100000) + floordiv(s.b, i % 7 + 2) + i).node());
  };
  std::thread t0(work, 0), t1(work, 1);
  t0.join();
  t1.join();
  EXPECT_EQ(seen[0], seen[1]);
}

TEST(Expr, NodesStayWithin128Bytes) {
  Syms s;
  const InternStats before = intern_stats();
  for (int i = 0; i < 20000; ++i) (void)(s.a * (3000000 + i) + s.b);  // a new product and a new sum each
  const InternStats after = intern_stats();
  const double per_node = static_cast<double>(after.bytes - before.bytes) / static_cast<double>(after.nodes - before.nodes);
  EXPECT_GE(after.nodes - before.nodes, 40000u);
  EXPECT_LE(per_node, 128.0);
}

TEST(SymInt, ConcreteArithmeticStaysAnInteger) {
  const std::size_t nodes = intern_stats().nodes;
  SymInt x = 7;
  SymInt y = x * 3 + 5 - 2;
  EXPECT_TRUE(y.is_concrete());
  EXPECT_EQ(y.value(), 24);
  EXPECT_EQ(floordiv(SymInt(-7), SymInt(2)).value(), -4);
  EXPECT_EQ(mod(SymInt(-7), SymInt(2)).value(), 1);
  EXPECT_EQ(ceildiv(SymInt(7), SymInt(2)).value(), 4);
  EXPECT_EQ(min(SymInt(3), SymInt(9)).value(), 3);
  EXPECT_EQ(intern_stats().nodes, nodes);  // the int path interned nothing
  EXPECT_EQ(code_of([] { (void)(SymInt(INT64_MAX) + SymInt(1)); }), "overflow");
  EXPECT_EQ(code_of([] { (void)(SymInt(INT64_MIN) - SymInt(1)); }), "overflow");
}

TEST(SymInt, PromotesAndDemotes) {
  Syms s;
  SymInt n = s.a;
  EXPECT_TRUE(n.is_symbolic());
  EXPECT_FALSE(n.maybe_value());
  EXPECT_THROW((void)n.value(), diag::InternalError);
  SymInt z = n * 2 - s.a - s.a;  // folds back to the int 0
  EXPECT_TRUE(z.is_concrete());
  EXPECT_EQ(z.value(), 0);
  EXPECT_TRUE((n + 1).identical(SymInt(s.a + 1)));
  EXPECT_FALSE(SymInt(3).identical(SymInt(4)));
  EXPECT_EQ(fmt::format("{}", floordiv(n * 8, SymInt(4))), "2*a");
  EXPECT_EQ(SymInt(5).expr(), Expr(5));
}

TEST(Cond, PrintsAndCombines) {
  Syms s;
  const Cond c = eq(mod(s.a, 64), 0) && le(s.b, 8192);
  EXPECT_EQ(c.str(), "mod(a, 64) == 0 and b <= 8192");
  EXPECT_EQ((!lt(s.a, 3)).str(), "not (a < 3)");
  EXPECT_EQ((c || gt(s.a, 1)).str(), "(mod(a, 64) == 0 and b <= 8192) or a > 1");
  EXPECT_EQ(divisible(s.a, 64).str(), "mod(a, 64) == 0");
  EXPECT_EQ((Cond::constant(true) && ge(s.a, 1)).str(), "a >= 1");
  EXPECT_EQ(truth_and(Truth::kTrue, Truth::kUnknown), Truth::kUnknown);
  EXPECT_EQ(truth_or(Truth::kFalse, Truth::kTrue), Truth::kTrue);
  EXPECT_EQ(truth_not(Truth::kUnknown), Truth::kUnknown);
}

}  // namespace
}  // namespace symtrace::sym
