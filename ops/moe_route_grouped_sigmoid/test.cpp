// moe_route_grouped_sigmoid: opcheck, group-limited selection, bias used only to choose,
// one negative test per constraint.
#include <cmath>

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

const op::OpDef& def() { return registry().get("moe_route_grouped_sigmoid"); }

TEST(MoeRouteGroupedSigmoid, OpcheckSamples) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const op::OpcheckReport r = op::opcheck(def(), seed);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

// 8 experts in 4 groups of 2; expert 6 alone is the best, but its group (6, 7) scores
// lowest as a pair, so with topk_group = 2 it is never chosen.
TEST(MoeRouteGroupedSigmoid, GroupLimitedAndBiasOnlyChooses) {
  const Tensor logits =
      Tensor::from_f32({1, 8}, std::vector<float>{1, 1, 0.5f, 0.4f, 0.9f, 0.9f, 3, -6});
  const Tensor bias = Tensor::from_f32({8}, std::vector<float>{0, 0, 0, 0, 0, 0.5f, 0, 0});
  const op::Outputs out =
      op::call(def(), {logits, bias, SymInt(3), SymInt(4), SymInt(2), false, 1.0});
  const auto ids = boost::variant2::get<Tensor>(out[1]).to_f64();
  const auto w = boost::variant2::get<Tensor>(out[0]).to_f64();
  // Groups: (0,1) 2*s(1); (2,3) low; (4,5) s(.9)+s(.9)+.5 best; (6,7) s(3)+s(-6) ~ 0.95.
  EXPECT_EQ(ids, (std::vector<double>{5, 0, 1}));
  // The weight of expert 5 is its unbiased sigmoid, not the biased score.
  EXPECT_NEAR(w[0], 1.0 / (1.0 + std::exp(-0.9)), 1e-7);
}

TEST(MoeRouteGroupedSigmoid, RenormalizeAndScale) {
  const Tensor logits = Tensor::from_f32({1, 4}, std::vector<float>{0, 1, 2, 3});
  const Tensor bias = Tensor::zeros({4}, DType::kF32);
  const op::Outputs out =
      op::call(def(), {logits, bias, SymInt(2), SymInt(1), SymInt(1), true, 2.5});
  const auto w = boost::variant2::get<Tensor>(out[0]).to_f64();
  EXPECT_NEAR(w[0] + w[1], 2.5, 1e-6);
}

std::vector<op::Value> call(Tensor logits, Tensor bias, int k, int ng, int tg, double scale = 1.0) {
  return {std::move(logits), std::move(bias), SymInt(k), SymInt(ng), SymInt(tg), true, scale};
}

TEST(MoeRouteGroupedSigmoid, C1_RejectsIntegerLogits) {
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({2, 8}, DType::kI8),
                                   Tensor::zeros({8}, DType::kF32), 2, 2, 1)),
            (Err{"dtype", "C1"}));
}
TEST(MoeRouteGroupedSigmoid, C2_RejectsBiasOfWrongLength) {
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({2, 8}, DType::kF32),
                                   Tensor::zeros({8, 1}, DType::kF32), 2, 2, 1)),
            (Err{"shape", "C2"}));
}
TEST(MoeRouteGroupedSigmoid, C3_RejectsGroupsThatDoNotDivideE) {
  const Tensor x = Tensor::zeros({2, 8}, DType::kF32), b = Tensor::zeros({8}, DType::kF32);
  EXPECT_EQ(fake_error(def(), call(x, b, 2, 3, 1)), (Err{"shape", "C3"}));
  EXPECT_EQ(fake_error(def(), call(x, b, 2, 8, 1)), (Err{"shape", "C3"}));  // groups of one
}
TEST(MoeRouteGroupedSigmoid, C4_RejectsTopkGroupAboveNGroup) {
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({2, 8}, DType::kF32),
                                   Tensor::zeros({8}, DType::kF32), 2, 2, 3)),
            (Err{"argument", "C4"}));
}
TEST(MoeRouteGroupedSigmoid, C5_RejectsKAboveKeptExperts) {
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({2, 8}, DType::kF32),
                                   Tensor::zeros({8}, DType::kF32), 5, 4, 2)),
            (Err{"shape", "C5"}));
}
TEST(MoeRouteGroupedSigmoid, C6_RejectsNonFiniteScale) {
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({2, 8}, DType::kF32),
                                   Tensor::zeros({8}, DType::kF32), 2, 2, 1, std::nan(""))),
            (Err{"argument", "C6"}));
}

}  // namespace
}  // namespace symtrace::ops
