// embedding: [*ids, H] with ids' symbols, constraints, id range checks, opcheck.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(Embedding, FakeAppendsHToTheIdsDims) {
  sym::ShapeEnv env;
  const TensorMeta ids = sym_meta(env, {"B", "S"}, DType::kI64);
  const TensorMeta table = sym_meta(env, {"V", "H"}, DType::kBF16);
  const TensorMeta y = meta_of(fake("embedding", env, {ids, table}));
  EXPECT_EQ(y.shape_str(), "[B, S, H]");
  EXPECT_EQ(y.dtype, DType::kBF16);
  EXPECT_EQ(strides_str(y), "[S*H, H, 1]");
}

TEST(Embedding, C1_RejectsA1dTable) {
  const Rejection r = rejection("embedding", {meta({3}, DType::kI64), meta({16})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C1");
  EXPECT_EQ(r.argument, "table");
}

TEST(Embedding, C2_RejectsBoolIdsAndFractionalValues) {
  EXPECT_EQ(rejection("embedding", {meta({3}, DType::kBool), meta({4, 8})}).constraint, "C2");
  const Tensor ids = Tensor::from_f32({2}, std::vector<float>{1.f, 2.5f});
  try {
    op::call(def("embedding"), {ids, Tensor::zeros({4, 8}, DType::kF32)});
    FAIL() << "a fractional id was accepted";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().constraint, "C2");
  }
}

TEST(Embedding, C3_RejectsIdsOutsideTheTable) {
  const Tensor ids = Tensor::from_f32({3}, std::vector<float>{0, 4, 1}, DType::kI64);
  try {
    op::call(def("embedding"), {ids, Tensor::zeros({4, 8}, DType::kF32)});
    FAIL() << "id 4 of a 4-row table was accepted";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "index");
    EXPECT_EQ(e.diagnostic().constraint, "C3");
  }
}

TEST(Embedding, opcheck) {
  const op::OpcheckReport r = op::opcheck(def("embedding"), 6);
  EXPECT_TRUE(r.ok()) << r.str();
}

}  // namespace
}  // namespace symtrace::ops
