// int8_fused_moe: opcheck, equality with moe_route_softmax followed by int8_moe_experts,
// biases and EP, one negative test per constraint.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"
#include "ops/int8_moe_experts/testdata.hpp"

namespace symtrace::ops {
namespace {

using sym::SymInt;
using tensor::DType;
using tensor::Tensor;
using testing::check_call;
using testing::fake_error;
using Err = std::pair<std::string, std::string>;
namespace v2 = boost::variant2;

const op::OpDef& def() { return registry().get("int8_fused_moe"); }

Tensor rnd(tensor::Shape s, DType d, std::uint64_t seed, float lo = -2.f, float hi = 2.f) {
  Tensor x = Tensor::empty(std::move(s), d);
  x.fill_random(seed, lo, hi);
  return x;
}

std::vector<op::Value> call(const Tensor& x, const Tensor& logits, const moe::Int8Weights& w,
                            std::int64_t k) {
  return {x, logits, w.w13, w.w13_scale, w.w2, w.w2_scale, SymInt(k), true};
}

TEST(Int8FusedMoe, OpcheckSamples) {
  const op::OpcheckReport r = op::opcheck(def(), 1);
  EXPECT_TRUE(r.ok()) << r.str();
}

TEST(Int8FusedMoe, EqualsRouteThenExperts) {
  const moe::Int8Weights w = moe::make_int8_weights(6, 40, 24, 3);
  const Tensor x = rnd({3, 4, 40}, DType::kBF16, 4), logits = rnd({3, 4, 6}, DType::kF32, 5, -3, 3);
  const op::Outputs routes =
      op::call(registry().get("moe_route_softmax"), {logits, SymInt(3), true});
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    testing::ScopedIsa scoped(isa);
    const auto fused = v2::get<Tensor>(op::call(def(), call(x, logits, w, 3))[0]).to_f64();
    const auto two = v2::get<Tensor>(op::call(registry().get("int8_moe_experts"),
                                              {x, w.w13, w.w13_scale, w.w2, w.w2_scale, routes[0],
                                               routes[1]})[0])
                         .to_f64();
    EXPECT_EQ(fused, two) << isa;
  }
}

TEST(Int8FusedMoe, BiasesAndExpertParallel) {
  const moe::Int8Weights w = moe::make_int8_weights(3, 32, 16, 7);
  const Tensor map = Tensor::from_f32({6}, std::vector<float>{2, -1, 0, -1, 1, -1}, DType::kI32);
  const auto f =
      check_call(def(), call(rnd({9, 32}, DType::kF16, 8), rnd({9, 6}, DType::kF32, 9), w, 2),
                 {{"w13_bias", w.w13_bias}, {"w2_bias", w.w2_bias}, {"expert_map", map}});
  EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
}

struct Parts {
  moe::Int8Weights w = moe::make_int8_weights(4, 16, 8, 11);
  Tensor x = rnd({3, 16}, DType::kBF16, 12);
  Tensor logits = rnd({3, 4}, DType::kF32, 13);
};

TEST(Int8FusedMoe, C1_RejectsIntegerX) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({3, 16}, DType::kI32), p.logits, p.w, 2)),
            (Err{"dtype", "C1"}));
}
TEST(Int8FusedMoe, C2_RejectsHiddenMismatch) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({3, 17}, DType::kBF16), p.logits, p.w, 2)),
            (Err{"shape", "C2"}));
}
TEST(Int8FusedMoe, C3_RejectsLogitsOfOtherTokens) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(p.x, Tensor::zeros({4, 4}, DType::kF32), p.w, 2)),
            (Err{"shape", "C3"}));
}
TEST(Int8FusedMoe, C4_RejectsQuarkScaleLayout) {
  Parts p;
  p.w.w2_scale = p.w.w2_scale.view({4, 16});
  EXPECT_EQ(fake_error(def(), call(p.x, p.logits, p.w, 2)), (Err{"scale-layout", "C4"}));
}
TEST(Int8FusedMoe, C5_RejectsBiasOfWrongShape) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(p.x, p.logits, p.w, 2),
                       {{"w2_bias", Tensor::zeros({4, 17}, DType::kF32)}}),
            (Err{"shape", "C5"}));
}
TEST(Int8FusedMoe, C6_RejectsTwoDimensionalExpertMap) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(p.x, p.logits, p.w, 2),
                       {{"expert_map", Tensor::zeros({4, 1}, DType::kI32)}}),
            (Err{"shape", "C6"}));
}
TEST(Int8FusedMoe, C7_RejectsOtherActivations) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(p.x, p.logits, p.w, 2), {{"act", std::string("swigluoai")}}),
            (Err{"argument", "C7"}));
}
TEST(Int8FusedMoe, C8_RejectsKAboveExperts) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(p.x, p.logits, p.w, 5)), (Err{"shape", "C8"}));
}

}  // namespace
}  // namespace symtrace::ops
