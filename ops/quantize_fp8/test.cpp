// quantize_fp8: opcheck over every granularity and layout, one negative test per constraint.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"

namespace symtrace::ops {
namespace {

using tensor::DType;
using tensor::Tensor;
using testing::check_call;
using testing::fake_error;

const op::OpDef& def() { return registry().get("quantize_fp8"); }

Tensor act(tensor::Shape shape, DType d, std::uint64_t seed) {
  Tensor x = Tensor::empty(std::move(shape), d);
  x.fill_random(seed, -4.f, 4.f);
  return x;
}

TEST(QuantizeFp8, OpcheckSamples) {
  const op::OpcheckReport r = op::opcheck(def(), 1);
  EXPECT_TRUE(r.ok()) << r.str();
}

TEST(QuantizeFp8, DynamicPerTokenKeepsLeadingDims) {
  for (DType d : {DType::kBF16, DType::kF16, DType::kF32})
    for (const tensor::Shape& s :
         std::vector<tensor::Shape>{{7}, {3, 17}, {2, 5, 130}, {2, 1, 3, 64}, {0, 8}}) {
      const auto f =
          check_call(def(), {act(s, d, 3), op::None{}}, {{"granularity", std::string("token")}});
      EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
    }
}

TEST(QuantizeFp8, DynamicPerTokenWithUpperBound) {
  const auto f = check_call(def(), {act({4, 33}, DType::kBF16, 5), op::None{}},
                            {{"granularity", std::string("token")}, {"scale_ub", 1.5}});
  EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
}

TEST(QuantizeFp8, GroupRaggedPow2AndColumnMajor) {
  for (std::int64_t g : {128, 16, 7})
    for (bool pow2 : {false, true})
      for (bool col : {false, true}) {
        const auto f = check_call(def(), {act({2, 3, 300}, DType::kBF16, 9), op::None{}},
                                  {{"granularity", std::string("group")},
                                   {"group", sym::SymInt(g)},
                                   {"scale_fmt", std::string(pow2 ? "f32_pow2" : "f32")},
                                   {"scale_col_major", col}});
        EXPECT_TRUE(f.empty()) << "g " << g << " pow2 " << pow2 << " col " << col << ": "
                               << ::testing::PrintToString(f);
      }
}

TEST(QuantizeFp8, ColumnMajorScaleStrides) {
  sym::ShapeEnv env;
  const op::Outputs out =
      op::bind_and_fake(def(), {act({2, 3, 300}, DType::kF32, 1).meta(), op::None{}}, env,
                        {{"granularity", std::string("group")}, {"scale_col_major", true}});
  const auto& s = boost::variant2::get<tensor::TensorMeta>(out[1]);
  EXPECT_EQ(s.shape_str(), "[2, 3, 3]");
  EXPECT_EQ(tensor::shape_str(s.strides), "[3, 1, 6]");
}

TEST(QuantizeFp8, C1_RejectsIntegerInput) {
  EXPECT_EQ(fake_error(def(), {Tensor::zeros({2, 4}, DType::kI8), op::None{}}),
            (std::pair<std::string, std::string>{"dtype", "C1"}));
}
TEST(QuantizeFp8, C2_RejectsOtherQdtype) {
  EXPECT_EQ(
      fake_error(def(), {act({2, 4}, DType::kBF16, 1), op::None{}}, {{"qdtype", DType::kF8E5M2}}),
      (std::pair<std::string, std::string>{"argument", "C2"}));
}
TEST(QuantizeFp8, C3_RejectsUnknownGranularity) {
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1), op::None{}},
                       {{"granularity", std::string("channel")}}),
            (std::pair<std::string, std::string>{"argument", "C3"}));
}
TEST(QuantizeFp8, C4_RejectsStaticScaleOfWrongShapeOrDtype) {
  const Tensor x = act({2, 4}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), {x, Tensor::zeros({2, 1}, DType::kF32)}),
            (std::pair<std::string, std::string>{"scale-layout", "C4"}));
  EXPECT_EQ(fake_error(def(), {x, Tensor::zeros({1}, DType::kBF16)}),
            (std::pair<std::string, std::string>{"scale-dtype", "C4"}));
  EXPECT_EQ(fake_error(def(), {x, Tensor::zeros({1}, DType::kF32)},
                       {{"granularity", std::string("token")}}),
            (std::pair<std::string, std::string>{"argument", "C4"}));
}
TEST(QuantizeFp8, C5_RejectsNonPositiveGroup) {
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1), op::None{}},
                       {{"granularity", std::string("group")}, {"group", sym::SymInt(0)}}),
            (std::pair<std::string, std::string>{"argument", "C5"}));
}
TEST(QuantizeFp8, C6_RejectsPackedOrPow2OutsideGroups) {
  const Tensor x = act({2, 4}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), {x, op::None{}},
                       {{"granularity", std::string("group")},
                        {"scale_fmt", std::string("ue8m0_packed4")}}),
            (std::pair<std::string, std::string>{"argument", "C6"}));
  EXPECT_EQ(
      fake_error(def(), {x, op::None{}},
                 {{"granularity", std::string("token")}, {"scale_fmt", std::string("f32_pow2")}}),
      (std::pair<std::string, std::string>{"argument", "C6"}));
}
TEST(QuantizeFp8, C7_RejectsUpperBoundOutsidePerToken) {
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1), op::None{}}, {{"scale_ub", 2.0}}),
            (std::pair<std::string, std::string>{"argument", "C7"}));
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1), op::None{}},
                       {{"granularity", std::string("token")}, {"scale_ub", -1.0}}),
            (std::pair<std::string, std::string>{"argument", "C7"}));
}

}  // namespace
}  // namespace symtrace::ops
