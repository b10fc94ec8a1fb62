// topk: fake with symbolic k, constraints, tie and NaN order of the kernel, opcheck.
#include <gtest/gtest.h>

#include <cmath>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(Topk, FakeReplacesDimByKAndGivesI64Indices) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"T", "E"}, DType::kBF16);
  const SymInt k(env.new_symbol("k", "router top-k", sym::SymbolKind::kConfig, {1, 8}));
  env.set_range(x.sizes[1].expr(), {64, 256});
  const op::Outputs out = fake("topk", env, {x, k});
  EXPECT_EQ(meta_of(out, 0).shape_str(), "[T, k]");
  EXPECT_EQ(meta_of(out, 0).dtype, DType::kBF16);
  EXPECT_EQ(meta_of(out, 1).dtype, DType::kI64);
  EXPECT_EQ(strides_str(meta_of(out, 1)), "[k, 1]");
  EXPECT_TRUE(env.guards().empty());  // k <= 8 < 64 <= E is proven
  // k = 0 keeps a zero-size dim with PyTorch's strides ([2, 3, 0] -> [3, 1, 1]).
  EXPECT_EQ(strides_str(meta_of(fake("topk", env, {meta({2, 3, 4}), SymInt(0)}))), "[3, 1, 1]");
}

TEST(Topk, C1_RejectsDimOutOfRange) {
  const Rejection r = rejection("topk", {meta({2, 3}), SymInt(1), SymInt(2)});
  EXPECT_EQ(r.code, "dim");
  EXPECT_EQ(r.constraint, "C1");
}

TEST(Topk, C2_RejectsKBeyondTheDim) {
  const Rejection r = rejection("topk", {meta({2, 3, 4}), SymInt(5)});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C2");
  EXPECT_EQ(r.argument, "k");
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"T", "E"});
  fake("topk", env, {x, SymInt(4)});  // E >= 4 unknown: a guard
  ASSERT_EQ(env.guards().size(), 1u);
}

TEST(Topk, C3_RejectsBool) {
  EXPECT_EQ(rejection("topk", {meta({4}, DType::kBool), SymInt(1)}).constraint, "C3");
}

TEST(Topk, TiesGoToTheLowerIndexAndNanIsLargest) {
  const Tensor x = Tensor::from_f32({6}, std::vector<float>{1.f, 3.f, std::nanf(""), 3.f, -1.f, 1.f});
  const op::Outputs big = op::call(def("topk"), {x, SymInt(4)});
  EXPECT_EQ(boost::variant2::get<Tensor>(big[1]).to_f64(), (std::vector<double>{2, 1, 3, 0}));
  const op::Outputs small = op::call(def("topk"), {x, SymInt(3), SymInt(0), false});
  EXPECT_EQ(boost::variant2::get<Tensor>(small[1]).to_f64(), (std::vector<double>{4, 0, 5}));
}

TEST(Topk, opcheck) {
  const op::OpcheckReport r = op::opcheck(def("topk"), 4);
  EXPECT_TRUE(r.ok()) << r.str();
}

}  // namespace
}  // namespace symtrace::ops
