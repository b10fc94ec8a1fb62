// dequantize: opcheck over every format and granularity, and one negative test per constraint.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"

namespace symtrace::ops {
namespace {

using sym::SymInt;
using tensor::DType;
using tensor::Tensor;
using testing::fake_error;
using Err = std::pair<std::string, std::string>;
namespace v2 = boost::variant2;

const op::OpDef& def() { return registry().get("dequantize"); }

std::vector<op::Value> call(Tensor q, Tensor s, std::string g,
                            std::vector<SymInt> block = {128, 128}, op::Value azp = op::None{},
                            op::Value gs = op::None{}, DType out = DType::kF32) {
  return {std::move(q),   std::move(s),  std::move(g), std::move(block),
          std::move(azp), std::move(gs), out};
}

TEST(Dequantize, OpcheckSamples) {
  for (std::uint64_t seed : {1, 2}) {
    const op::OpcheckReport r = op::opcheck(def(), seed);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

TEST(Dequantize, GroupSizesNotMultipleOfTheVectorWidth) {
  Tensor q = Tensor::empty({3, 70}, DType::kF32);
  q.fill_random(5, -300, 300);
  Tensor s = Tensor::empty({3, 10}, DType::kF32);
  s.fill_random(6, 0.01f, 1.f);
  for (DType out : {DType::kF32, DType::kBF16}) {
    const auto f = testing::check_call(
        def(), call(q.to(DType::kF8E4M3FN), s, "group", {1, 7}, op::None{}, op::None{}, out));
    EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
  }
}

TEST(Dequantize, PackedFp4DoublesTheLastDim) {
  const Tensor q = Tensor::from_f32({1, 2}, std::vector<float>{0x71, 0x9A}, DType::kU8);
  const Tensor s = Tensor::from_f32({1, 1}, std::vector<float>{2.f}, DType::kF8E4M3FN);
  const auto y = v2::get<Tensor>(op::call(def(), call(q, s, "group", {1, 16}))[0]);
  EXPECT_EQ(y.sizes(), (tensor::Shape{1, 4}));
  EXPECT_EQ(y.to_f64(), (std::vector<double>{1, 12, -2, -1}));
}

Tensor f32(tensor::Shape s) { return Tensor::zeros(std::move(s), DType::kF32); }
Tensor fp8(tensor::Shape s) { return Tensor::zeros(std::move(s), DType::kF8E4M3FN); }

TEST(Dequantize, C1_RejectsFloatCodes) {
  EXPECT_EQ(fake_error(def(), call(f32({4, 8}), f32({1}), "tensor")), (Err{"dtype", "C1"}));
}
TEST(Dequantize, C2_RejectsUnknownGranularityAndBlocklessBlock) {
  EXPECT_EQ(fake_error(def(), call(fp8({4, 8}), f32({1}), "row")), (Err{"argument", "C2"}));
  EXPECT_EQ(fake_error(def(), call(fp8({8}), f32({1, 1}), "block")), (Err{"shape", "C2"}));
}
TEST(Dequantize, C3_RejectsTransposedGridAndOneDimensionalChannelScale) {
  EXPECT_EQ(fake_error(def(), call(fp8({256, 384}), f32({3, 2}), "block")),
            (Err{"scale-layout", "C3"}));
  EXPECT_EQ(fake_error(def(), call(fp8({9, 8}), f32({9}), "channel")), (Err{"scale-layout", "C3"}));
}
TEST(Dequantize, C4_RejectsBf16Scales) {
  EXPECT_EQ(fake_error(def(), call(fp8({4, 8}), Tensor::zeros({1}, DType::kBF16), "tensor")),
            (Err{"scale-dtype", "C4"}));
}
TEST(Dequantize, C5_RejectsZeroPointForFp8) {
  EXPECT_EQ(fake_error(def(), call(fp8({4, 8}), f32({4, 1}), "token", {128, 128},
                                   Tensor::zeros({4, 1}, DType::kI32))),
            (Err{"argument", "C5"}));
}
TEST(Dequantize, C6_RejectsGlobalScaleOfTwo) {
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({2, 8}, DType::kU8), fp8({2, 1}), "group", {1, 16},
                                   op::None{}, f32({2}))),
            (Err{"scale-layout", "C6"}));
}
TEST(Dequantize, C7_RejectsIntegerOutput) {
  EXPECT_EQ(fake_error(def(), call(fp8({4, 8}), f32({1}), "tensor", {128, 128}, op::None{},
                                   op::None{}, DType::kI32)),
            (Err{"argument", "C7"}));
}

}  // namespace
}  // namespace symtrace::ops
