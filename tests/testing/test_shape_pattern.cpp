// match_shape: binding, agreement and every failure message.
#include <gtest/gtest.h>

#include <symtrace/sym/shape_env.hpp>
#include <symtrace/testing.hpp>

namespace symtrace::testing {
namespace {

using sym::SymInt;
using tensor::SymShape;

class ShapePattern : public ::testing::Test {
 protected:
  sym::ShapeEnv env;
  SymInt B = env.new_symbol("batch", "input x dim 0");
  SymInt S = env.new_symbol("seq", "input x dim 1");
  SymInt H = env.new_symbol("hidden", "config.hidden_size", sym::SymbolKind::kConfig);
  ShapeBindings b;
};

TEST_F(ShapePattern, NamesBindOnFirstUseAndMustAgreeLater) {
  ASSERT_TRUE(match_shape(SymShape{B, S, H}, "[B, S, H]", b));
  EXPECT_TRUE(b.get("H")->identical(H));
  EXPECT_TRUE(match_shape(SymShape{B, S, H * 2}, "[B, S, 2*H]", b));
  EXPECT_TRUE(match_shape(SymShape{B * S, H}, "[B*S, H]", b));
  EXPECT_TRUE(match_shape(SymShape{sym::floordiv(H, 128)}, "[H // 128]", b));
}

TEST_F(ShapePattern, IntegersStarAndWildcard) {
  EXPECT_TRUE(match_shape(SymShape{B, S, 4096}, "[B, S, 4096]", b));
  EXPECT_TRUE(match_shape(SymShape{B, S, 4096}, "[*, 4096]", b));
  EXPECT_TRUE(match_shape(SymShape{4096}, "[*, 4096]", b));
  EXPECT_TRUE(match_shape(SymShape{B, 7, 4096}, "[B, _, 4096]", b));
  EXPECT_TRUE(match_shape(SymShape{}, "[]", b));
}

TEST_F(ShapePattern, FlattenedLeadingDimsReportRank) {
  auto r = match_shape(SymShape{B * S, 4096}, "[B, S, 4096]", b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "shape [batch*seq, 4096] does not match pattern [B, S, 4096]\n"
            "  rank: pattern has 3 dims, shape has 2");
  r = match_shape(SymShape{4096}, "[*, S, 4096]", b);
  EXPECT_NE(r.message.find("rank: pattern has at least 2 dims, shape has 1"), std::string::npos)
      << r.message;
}

TEST_F(ShapePattern, IntegerMismatchNamesTheDim) {
  auto r = match_shape(SymShape{B, S, 11008}, "[B, S, 4096]", b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "shape [batch, seq, 11008] does not match pattern [B, S, 4096]\n"
            "  dim 2: expected 4096, got 11008");
}

TEST_F(ShapePattern, BoundNameDisagreementSaysWhereItWasBound) {
  ASSERT_TRUE(match_shape(SymShape{B, S, H}, "[B, S, H]", b));
  auto r = match_shape(SymShape{S, B, H}, "[B, S, H]", b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "shape [seq, batch, hidden] does not match pattern [B, S, H]\n"
            "  dim 0: B is bound to batch (dim 0 of [B, S, H]), got seq");
}

TEST_F(ShapePattern, ExpressionMismatchShowsEachBinding) {
  ASSERT_TRUE(match_shape(SymShape{B, S, H}, "[B, S, H]", b));
  auto r = match_shape(SymShape{B, S, H * 3}, "[B, S, 2*H]", b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "shape [batch, seq, 3*hidden] does not match pattern [B, S, 2*H]\n"
            "  dim 2: expected 2*H = 2*hidden, got 3*hidden\n"
            "    H = hidden, dim 2 of [B, S, H]");
}

TEST_F(ShapePattern, ExpressionOverUnboundNameFails) {
  auto r = match_shape(SymShape{B, H * 2}, "[B, 2*H]", b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "shape [batch, 2*hidden] does not match pattern [B, 2*H]\n"
            "  dim 1: `2*H` uses H, which no bare dim binds (write it alone in this or an "
            "earlier pattern)");
}

TEST_F(ShapePattern, ExpressionMayUseANameBoundLaterInTheSamePattern) {
  EXPECT_TRUE(match_shape(SymShape{H * 2, H}, "[2*H, H]", b));
}

TEST_F(ShapePattern, FailedMatchBindsNothing) {
  ASSERT_FALSE(match_shape(SymShape{B, S, 11008}, "[B, S, 4096]", b));
  EXPECT_TRUE(b.names().empty());
  ASSERT_TRUE(match_shape(SymShape{S, B}, "[B, S]", b));  // B and S are still free
  EXPECT_TRUE(b.get("B")->identical(S));
}

TEST_F(ShapePattern, MalformedPatternsPointAtTheColumn) {
  auto r = match_shape(SymShape{B}, "B, S", b);
  EXPECT_NE(r.message.find("column 1: a shape pattern is a bracketed list like [B, S, 4096]"),
            std::string::npos)
      << r.message;
  r = match_shape(SymShape{B, S}, "[B, *]", b);
  EXPECT_NE(r.message.find("column 5: `*` (any leading dims) may only come first"),
            std::string::npos)
      << r.message;
  r = match_shape(SymShape{B, S}, "[B, 2*]", b);
  EXPECT_NE(r.message.find("column 7: cannot parse dim `2*`"), std::string::npos) << r.message;
  r = match_shape(SymShape{B, S}, "[B, ]", b);
  EXPECT_NE(r.message.find("empty dim"), std::string::npos) << r.message;
}

TEST_F(ShapePattern, EqualitiesProvenByTheEnvAgree) {
  SymInt T = env.new_symbol("kv_len", "input k dim 1");
  env.assume(sym::eq(T, S));
  ASSERT_TRUE(match_shape(SymShape{B, S}, "[B, S]", b));
  EXPECT_TRUE(match_shape(SymShape{B, T}, "[B, S]", b, &env));
}

}  // namespace
}  // namespace symtrace::testing
