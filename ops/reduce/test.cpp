// sum / mean / amax / argmax: PyTorch's shape and dtype rules, constraints, opcheck.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;
using Ints = std::vector<SymInt>;

TEST(Reduce, FakeShapesAndDtypes) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"B", "S", "H"}, DType::kBF16);
  EXPECT_EQ(meta_of(fake("sum", env, {x, Ints{-1}, true})).shape_str(), "[B, S, 1]");
  EXPECT_EQ(meta_of(fake("mean", env, {x, Ints{0, 2}})).shape_str(), "[S]");
  EXPECT_EQ(meta_of(fake("amax", env, {x})).shape_str(), "[]");
  EXPECT_EQ(meta_of(fake("argmax", env, {x, SymInt(-1)})).dtype, DType::kI64);
  EXPECT_EQ(meta_of(fake("argmax", env, {x, op::None{}, true})).shape_str(), "[1, 1, 1]");
  EXPECT_EQ(meta_of(fake("sum", env, {meta({2, 3}, DType::kI8)})).dtype, DType::kI64);
  EXPECT_EQ(meta_of(fake("sum", env, {meta({2, 3}, DType::kBool), Ints{1}})).dtype, DType::kI64);
  EXPECT_EQ(meta_of(fake("sum", env, {x, Ints{}}, {{"dtype", DType::kF32}})).dtype, DType::kF32);
  EXPECT_EQ(strides_str(meta_of(fake("amax", env, {meta({2, 3, 4, 5}), Ints{1, 3}, true}))), "[4, 4, 1, 1]");
}

TEST(Reduce, C1_RejectsRepeatedAndOutOfRangeDims) {
  EXPECT_EQ(rejection("sum", {meta({2, 3}), Ints{1, -1}}).code, "dim");
  EXPECT_EQ(rejection("amax", {meta({2, 3}), Ints{2}}).constraint, "C1");
  EXPECT_EQ(rejection("argmax", {meta({2, 3}), SymInt(-3)}).constraint, "C1");
}

TEST(Reduce, C2_MeanNeedsAFloatResult) {
  const Rejection r = rejection("mean", {meta({2, 3}, DType::kI32), Ints{-1}});
  EXPECT_EQ(r.code, "dtype");
  EXPECT_EQ(r.constraint, "C2");
  EXPECT_EQ(rejection("mean", {meta({2, 3}, DType::kI32), Ints{-1}}, {{"dtype", DType::kF32}}).code, "");
}

TEST(Reduce, C3_MaxOfAnEmptyDimIsRejected) {
  EXPECT_EQ(rejection("amax", {meta({2, 0}), Ints{1}}).constraint, "C3");
  EXPECT_EQ(rejection("argmax", {meta({0})}).constraint, "C3");
  EXPECT_EQ(rejection("amax", {meta({2, 0}), Ints{0}}).code, "");  // the empty dim is kept
}

TEST(Reduce, ValuesOnSmallInputs) {
  const Tensor x = Tensor::from_f32({2, 3}, std::vector<float>{1, 5, 2, 7, -1, 7});
  const auto run = [&](std::string_view op, std::vector<op::Value> args) {
    args.insert(args.begin(), x);
    return boost::variant2::get<Tensor>(op::call(def(op), std::move(args))[0]).to_f64();
  };
  EXPECT_EQ(run("sum", {Ints{1}}), (std::vector<double>{8, 13}));
  EXPECT_EQ(run("mean", {Ints{0}}), (std::vector<double>{4, 2, 4.5}));
  EXPECT_EQ(run("amax", {}), (std::vector<double>{7}));
  EXPECT_EQ(run("argmax", {SymInt(1)}), (std::vector<double>{1, 0}));  // first of the tied 7s
  EXPECT_EQ(run("argmax", {}), (std::vector<double>{3}));
}

TEST(Reduce, opcheck) {
  for (const char* op : {"sum", "mean", "amax", "argmax"}) {
    const op::OpcheckReport r = op::opcheck(def(op), 5);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

}  // namespace
}  // namespace symtrace::ops
