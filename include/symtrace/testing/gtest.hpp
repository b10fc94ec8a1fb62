// GoogleTest glue for symtrace/testing.hpp.
//
//   symtrace::testing::ShapeBindings b;
//   EXPECT_THAT(x.meta(), MatchesShape("[B, S, H]", b));
//   EXPECT_SHAPE_AT(g, "model.mlp.up", "[B, S, 2*H]", b);
//   EXPECT_NO_FINDINGS(g);
//   EXPECT_FINDING(g, "scale-layout", "layers.3.mlp.experts");
//   EXPECT_KERNEL(g, "model.mlp.up", "linear.reference");
//   EXPECT_GOLDEN(g, SYMTRACE_SOURCE_DIR "/tests/golden/mlp.txt");
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <symtrace/testing.hpp>

namespace symtrace::testing {

// A gmock matcher on TensorMeta or SymShape; the failure explanation is match_shape's
// message. Bindings persist across uses (that is how `[B, S, H]` then `[B, S, 2*H]` agree).
class ShapeMatcher {
 public:
  using is_gtest_matcher = void;
  ShapeMatcher(std::string pattern, ShapeBindings* bindings, const sym::ShapeEnv* env)
      : pattern_(std::move(pattern)), bindings_(bindings), env_(env) {}

  bool MatchAndExplain(const tensor::TensorMeta& meta, std::ostream* os) const {
    return MatchAndExplain(meta.sizes, os);
  }
  bool MatchAndExplain(const tensor::SymShape& shape, std::ostream* os) const {
    CheckResult r = match_shape(shape, pattern_, *bindings_, env_);
    if (!r && os != nullptr) *os << r.message;
    return r.ok;
  }
  void DescribeTo(std::ostream* os) const { *os << "has shape " << pattern_; }
  void DescribeNegationTo(std::ostream* os) const { *os << "does not have shape " << pattern_; }

 private:
  std::string pattern_;
  ShapeBindings* bindings_;
  const sym::ShapeEnv* env_;
};

inline ShapeMatcher MatchesShape(std::string pattern, ShapeBindings& bindings,
                                 const sym::ShapeEnv* env = nullptr) {
  return ShapeMatcher(std::move(pattern), &bindings, env);
}

// A CheckResult as a gtest assertion result.
inline ::testing::AssertionResult as_assertion(const CheckResult& r) {
  if (r) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message;
}

}  // namespace symtrace::testing

#define EXPECT_NO_FINDINGS(g) EXPECT_TRUE(::symtrace::testing::as_assertion(::symtrace::testing::check_no_findings(g)))
#define ASSERT_NO_FINDINGS(g) ASSERT_TRUE(::symtrace::testing::as_assertion(::symtrace::testing::check_no_findings(g)))
#define EXPECT_NO_GUARDS(g) EXPECT_TRUE(::symtrace::testing::as_assertion(::symtrace::testing::check_no_guards(g)))
#define EXPECT_FINDING(g, code, path) \
  EXPECT_TRUE(::symtrace::testing::as_assertion(::symtrace::testing::check_finding(g, code, path)))
#define EXPECT_KERNEL(g, path, kernel) \
  EXPECT_TRUE(::symtrace::testing::as_assertion(::symtrace::testing::check_kernel(g, path, kernel)))
#define EXPECT_SHAPE_AT(g, path, pattern, bindings) \
  EXPECT_TRUE(::symtrace::testing::as_assertion(  \
      ::symtrace::testing::check_shape_at(g, path, pattern, bindings)))
#define EXPECT_GOLDEN(g, path) \
  EXPECT_TRUE(::symtrace::testing::as_assertion(::symtrace::testing::check_golden(g, path)))
