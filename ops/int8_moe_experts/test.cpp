// int8_moe_experts: opcheck (every ISA bit-identical to the reference), biases with scales
// != 1, structural identities of OPS.md §15.5 (k = E with shared weights and unit router
// weights equals the dense computation; EP routes contribute 0), one negative test per
// constraint.
#include <cmath>

#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"
#include "ops/int8_moe_experts/testdata.hpp"

namespace symtrace::ops {
namespace {

using tensor::DType;
using tensor::Tensor;
using testing::check_call;
using testing::fake_error;
using Err = std::pair<std::string, std::string>;
namespace v2 = boost::variant2;

const op::OpDef& def() { return registry().get("int8_moe_experts"); }

Tensor act(tensor::Shape s, DType d, std::uint64_t seed) {
  Tensor x = Tensor::empty(std::move(s), d);
  x.fill_random(seed, -2.f, 2.f);
  return x;
}

std::vector<op::Value> call(const Tensor& x, const moe::Int8Weights& w, const moe::Routes& r) {
  return {x, w.w13, w.w13_scale, w.w2, w.w2_scale, r.topk_w, r.topk_ids};
}

TEST(Int8MoeExperts, OpcheckSamples) {
  for (std::uint64_t seed : {1, 2}) {
    const op::OpcheckReport r = op::opcheck(def(), seed);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

// OPS.md §14 item 17: a bias scaled together with the accumulator is invisible to shapes,
// so every variant runs with nonzero biases and scales != 1.
TEST(Int8MoeExperts, BiasesWithScalesOnEveryVariant) {
  for (DType d : {DType::kBF16, DType::kF32}) {
    const moe::Int8Weights w = moe::make_int8_weights(5, 48, 20, 11);
    const moe::Routes r = moe::make_routes({2, 9}, 5, 3, 12);
    const auto f = check_call(def(), call(act({2, 9, 48}, d, 13), w, r),
                              {{"w13_bias", w.w13_bias}, {"w2_bias", w.w2_bias}});
    EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
  }
}

TEST(Int8MoeExperts, ExpertParallelMap) {
  const moe::Int8Weights w = moe::make_int8_weights(3, 32, 16, 21);  // 3 local of 8 global
  const moe::Routes r = moe::make_routes({11}, 8, 4, 22);
  const Tensor map =
      Tensor::from_f32({8}, std::vector<float>{-1, 0, -1, 1, -1, -1, 2, -1}, DType::kI32);
  const auto f = check_call(def(), call(act({11, 32}, DType::kBF16, 23), w, r),
                            {{"expert_map", map}, {"w13_bias", w.w13_bias}});
  EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
}

// With k = E, every router weight 1 and every expert holding the same weights, the output
// is E times one dense expert MLP of the token: compare against a single-route call.
TEST(Int8MoeExperts, AllExpertsSharedWeightsEqualDense) {
  const std::int64_t E = 4, H = 40, I = 24, M = 6;
  const moe::Int8Weights one = moe::make_int8_weights(1, H, I, 31);
  moe::Int8Weights all = moe::make_int8_weights(E, H, I, 99);
  for (std::int64_t e = 0; e < E; ++e) {
    all.w13.select(0, e).copy_from(one.w13.select(0, 0));
    all.w2.select(0, e).copy_from(one.w2.select(0, 0));
    all.w13_scale.select(0, e).copy_from(one.w13_scale.select(0, 0));
    all.w2_scale.select(0, e).copy_from(one.w2_scale.select(0, 0));
  }
  std::vector<float> ids, ones(static_cast<std::size_t>(M * E), 1.f);
  for (std::int64_t t = 0; t < M; ++t)
    for (std::int64_t e = 0; e < E; ++e) ids.push_back(static_cast<float>((e + t) % E));
  const Tensor x = act({M, H}, DType::kF32, 33);
  const Tensor tw = Tensor::from_f32({M, E}, ones), ti = Tensor::from_f32({M, E}, ids, DType::kI32);
  const Tensor w1 = Tensor::from_f32({M, 1}, std::vector<float>(M, 1.f));
  const Tensor i1 = Tensor::zeros({M, 1}, DType::kI32);
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    testing::ScopedIsa scoped(isa);
    const auto moe_out = v2::get<Tensor>(op::call(def(), {x, all.w13, all.w13_scale, all.w2,
                                                          all.w2_scale, tw, ti})[0])
                             .to_f64();
    const auto dense = v2::get<Tensor>(op::call(def(), {x, one.w13, one.w13_scale, one.w2,
                                                        one.w2_scale, w1, i1})[0])
                           .to_f64();
    for (std::size_t i = 0; i < dense.size(); ++i)
      EXPECT_NEAR(moe_out[i], E * dense[i], 1e-5 * std::fabs(E * dense[i]) + 1e-6)
          << isa << " at " << i;
  }
}

// Routes to experts of another rank contribute exactly 0: with every id mapped to -1 the
// output is zero, and with half the experts remote it equals the local routes alone.
TEST(Int8MoeExperts, RemoteExpertsContributeZero) {
  const moe::Int8Weights w = moe::make_int8_weights(2, 24, 8, 41);
  const moe::Routes r = moe::make_routes({5}, 4, 2, 42);
  const Tensor x = act({5, 24}, DType::kBF16, 43);
  const Tensor none = Tensor::from_f32({4}, std::vector<float>{-1, -1, -1, -1}, DType::kI32);
  const op::Outputs out = testing::call_named(def(), call(x, w, r), {{"expert_map", none}});
  for (double v : v2::get<Tensor>(out[0]).to_f64()) EXPECT_EQ(v, 0.0);
}

TEST(Int8MoeExperts, OutOfRangeIdIsAnError) {
  const moe::Int8Weights w = moe::make_int8_weights(2, 16, 8, 51);
  moe::Routes r = moe::make_routes({3}, 2, 1, 52);
  r.topk_ids = Tensor::from_f32({3, 1}, std::vector<float>{0, 2, 1}, DType::kI32);
  EXPECT_THROW(op::call(def(), call(act({3, 16}, DType::kBF16, 1), w, r)), diag::Error);
}

struct Parts {
  moe::Int8Weights w = moe::make_int8_weights(2, 16, 8, 61);
  moe::Routes r = moe::make_routes({3}, 2, 1, 62);
  Tensor x = act({3, 16}, DType::kBF16, 63);
};

TEST(Int8MoeExperts, C1_RejectsIntegerX) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(Tensor::zeros({3, 16}, DType::kI8), p.w, p.r)),
            (Err{"dtype", "C1"}));
}
TEST(Int8MoeExperts, C2_RejectsMismatchedWeights) {
  Parts p;
  p.w.w2 = Tensor::zeros({2, 16, 9}, DType::kI8);  // I = 9 but w13 has 2I = 16
  EXPECT_EQ(fake_error(def(), call(p.x, p.w, p.r)), (Err{"shape", "C2"}));
  Parts q;
  q.w.w13 = Tensor::zeros({2, 16, 16}, DType::kF32);
  EXPECT_EQ(fake_error(def(), call(q.x, q.w, q.r)), (Err{"dtype", "C2"}));
}
TEST(Int8MoeExperts, C3_RejectsFlattenedRoutes) {
  Parts p;
  p.r = moe::make_routes({1, 3}, 2, 1, 64);
  EXPECT_EQ(fake_error(def(), call(p.x, p.w, p.r)), (Err{"shape", "C3"}));
}
TEST(Int8MoeExperts, C4_RejectsQuarkScaleLayout) {
  Parts p;
  p.w.w13_scale = p.w.w13_scale.view({2, 16});
  EXPECT_EQ(fake_error(def(), call(p.x, p.w, p.r)), (Err{"scale-layout", "C4"}));
  Parts q;
  q.w.w2_scale = Tensor::zeros({2, 16, 1}, DType::kBF16);
  EXPECT_EQ(fake_error(def(), call(q.x, q.w, q.r)), (Err{"scale-dtype", "C4"}));
}
TEST(Int8MoeExperts, C5_RejectsBiasOfWrongShape) {
  Parts p;
  EXPECT_EQ(
      fake_error(def(), call(p.x, p.w, p.r), {{"w13_bias", Tensor::zeros({2, 15}, DType::kF32)}}),
      (Err{"shape", "C5"}));
}
TEST(Int8MoeExperts, C6_RejectsExpertMapDtype) {
  Parts p;
  EXPECT_EQ(
      fake_error(def(), call(p.x, p.w, p.r), {{"expert_map", Tensor::zeros({4}, DType::kI64)}}),
      (Err{"dtype", "C6"}));
}
TEST(Int8MoeExperts, C7_RejectsOtherActivations) {
  Parts p;
  EXPECT_EQ(fake_error(def(), call(p.x, p.w, p.r), {{"act", std::string("gelu")}}),
            (Err{"argument", "C7"}));
}

}  // namespace
}  // namespace symtrace::ops
