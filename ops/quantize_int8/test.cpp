// quantize_int8: opcheck over every mode, one negative test per constraint.
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
using testing::NamedArgs;
using Err = std::pair<std::string, std::string>;

const op::OpDef& def() { return registry().get("quantize_int8"); }

Tensor act(tensor::Shape shape, DType d, std::uint64_t seed, float lo = -4.f, float hi = 4.f) {
  Tensor x = Tensor::empty(std::move(shape), d);
  x.fill_random(seed, lo, hi);
  return x;
}

TEST(QuantizeInt8, OpcheckSamples) {
  const op::OpcheckReport r = op::opcheck(def(), 2);
  EXPECT_TRUE(r.ok()) << r.str();
}

TEST(QuantizeInt8, EveryDynamicModeOnAwkwardShapes) {
  const std::vector<std::pair<std::string, NamedArgs>> modes = {
      {"tensor", {{"granularity", std::string("tensor")}}},
      {"token", {}},
      {"token_asym", {{"symmetric", false}}},
      {"group128", {{"granularity", std::string("group")}}},
      {"group7", {{"granularity", std::string("group")}, {"group", sym::SymInt(7)}}},
  };
  for (const auto& [label, named] : modes)
    for (DType d : {DType::kBF16, DType::kF16, DType::kF32})
      for (const tensor::Shape& s :
           std::vector<tensor::Shape>{{7}, {3, 17}, {2, 5, 130}, {2, 1, 3, 257}, {0, 8}}) {
        // Shifted ranges make the asymmetric zero point non-trivial.
        const auto f = check_call(def(), {act(s, d, 3, -1.f, 6.f)}, named);
        EXPECT_TRUE(f.empty()) << label << ": " << ::testing::PrintToString(f);
      }
}

TEST(QuantizeInt8, StaticAsymmetric) {
  const auto f =
      check_call(def(),
                 {act({4, 33}, DType::kBF16, 5), Tensor::from_f32({1}, std::vector<float>{0.03f}),
                  Tensor::from_f32({1}, std::vector<float>{-17.f}, DType::kI32)},
                 {{"symmetric", false}});
  EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
}

TEST(QuantizeInt8, C1_RejectsIntegerInput) {
  EXPECT_EQ(fake_error(def(), {Tensor::zeros({2, 4}, DType::kI32)}), (Err{"dtype", "C1"}));
}
TEST(QuantizeInt8, C2_RejectsUnknownGranularity) {
  EXPECT_EQ(
      fake_error(def(), {act({2, 4}, DType::kBF16, 1)}, {{"granularity", std::string("row")}}),
      (Err{"argument", "C2"}));
}
TEST(QuantizeInt8, C3_RejectsPerTokenStaticScale) {
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1), Tensor::zeros({2, 1}, DType::kF32)}),
            (Err{"scale-layout", "C3"}));
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1), Tensor::zeros({1}, DType::kF16)}),
            (Err{"scale-dtype", "C3"}));
}
TEST(QuantizeInt8, C4_RejectsZeroPointMismatch) {
  const Tensor x = act({2, 4}, DType::kBF16, 1), s = Tensor::zeros({1}, DType::kF32);
  EXPECT_EQ(fake_error(def(), {x, s, Tensor::zeros({1}, DType::kI32)}), (Err{"argument", "C4"}));
  EXPECT_EQ(fake_error(def(), {x, s}, {{"symmetric", false}}), (Err{"argument", "C4"}));
  EXPECT_EQ(fake_error(def(), {x, s, Tensor::zeros({1}, DType::kI8)}, {{"symmetric", false}}),
            (Err{"dtype", "C4"}));
}
TEST(QuantizeInt8, C5_RejectsAsymmetricGroups) {
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1)},
                       {{"symmetric", false}, {"granularity", std::string("group")}}),
            (Err{"argument", "C5"}));
}
TEST(QuantizeInt8, C6_RejectsNonPositiveGroup) {
  EXPECT_EQ(fake_error(def(), {act({2, 4}, DType::kBF16, 1)},
                       {{"granularity", std::string("group")}, {"group", sym::SymInt(-2)}}),
            (Err{"argument", "C6"}));
}

}  // namespace
}  // namespace symtrace::ops
