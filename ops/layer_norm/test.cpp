// layer_norm: fake, constraints, opcheck.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(LayerNorm, FakeKeepsShapeContiguous) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"B", "S", "H"}, DType::kBF16);
  const TensorMeta w = sym_meta(env, {"H"}, DType::kBF16);
  const TensorMeta y = meta_of(fake("layer_norm", env, {x, w, w}));
  EXPECT_EQ(y.shape_str(), "[B, S, H]");
  EXPECT_TRUE(env.guards().empty());
}

TEST(LayerNorm, C1_RejectsScalar) { EXPECT_EQ(rejection("layer_norm", {meta({})}).constraint, "C1"); }

TEST(LayerNorm, C2_RejectsWeightOfWrongSize) {
  const Rejection r = rejection("layer_norm", {meta({2, 8}), meta({7})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C2");
  EXPECT_EQ(r.argument, "w");
}

TEST(LayerNorm, C3_RejectsMixedDtypes) {
  EXPECT_EQ(rejection("layer_norm", {meta({2, 8}), op::None{}, meta({8}, DType::kBF16)}).constraint, "C3");
}

TEST(LayerNorm, opcheck) {
  const op::OpcheckReport r = op::opcheck(def("layer_norm"), 7);
  EXPECT_TRUE(r.ok()) << r.str();
}

}  // namespace
}  // namespace symtrace::ops
