// nvfp4_w4a16_moe: opcheck (every ISA within the stated relative bound of the f64
// reference), EP, the split w13 global scale, one negative test per constraint.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"
#include "ops/int8_moe_experts/testdata.hpp"
#include "ops/nvfp4_w4a16_gemm/testdata.hpp"

namespace symtrace::ops {
namespace {

using tensor::DType;
using tensor::Tensor;
using testing::check_call;
using testing::fake_error;
using Err = std::pair<std::string, std::string>;
namespace v2 = boost::variant2;

const op::OpDef& def() { return registry().get("nvfp4_w4a16_moe"); }

struct Parts {
  std::int64_t E = 2, H = 32, I = 16;
  nvfp4::Fp4Weight w13 = nvfp4::make_weight({2}, 32, 32, 1),
                   w2 = nvfp4::make_weight({2}, 32, 16, 2);
  Tensor g13 = Tensor::from_f32({2}, std::vector<float>{0.02f, 0.03f});
  Tensor g2 = Tensor::from_f32({2}, std::vector<float>{0.01f, 0.02f});
  moe::Routes r = moe::make_routes({3}, 2, 2, 3);
  Tensor x = [] {
    Tensor t = Tensor::empty({3, 32}, DType::kBF16);
    t.fill_random(4, -1.f, 1.f);
    return t;
  }();
  std::vector<op::Value> args() const {
    return {x, w13.packed, w13.scale, g13, w2.packed, w2.scale, g2, r.topk_w, r.topk_ids};
  }
};

TEST(Nvfp4W4a16Moe, OpcheckSamples) {
  const op::OpcheckReport r = op::opcheck(def(), 1);
  EXPECT_TRUE(r.ok()) << r.str();
}

TEST(Nvfp4W4a16Moe, ExpertParallelMap) {
  Parts p;
  p.r = moe::make_routes({3}, 5, 2, 9);
  const Tensor map = Tensor::from_f32({5}, std::vector<float>{-1, 1, -1, 0, -1}, DType::kI32);
  const auto f = check_call(def(), p.args(), {{"expert_map", map}});
  EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
}

// Splitting the shared global into [E, 2] with equal halves changes nothing; doubling the
// up half doubles every up-projection (checked against the reference by opcheck).
TEST(Nvfp4W4a16Moe, SplitGlobalScaleEqualsSharedWhenEqual) {
  Parts p;
  const auto shared = v2::get<Tensor>(op::call(def(), p.args())[0]).to_f64();
  p.g13 = Tensor::from_f32({2, 2}, std::vector<float>{0.02f, 0.02f, 0.03f, 0.03f});
  const auto split = v2::get<Tensor>(op::call(def(), p.args())[0]).to_f64();
  EXPECT_EQ(shared, split);
}

TEST(Nvfp4W4a16Moe, C1_RejectsHiddenNotMultipleOf16) {
  Parts p;
  p.x = Tensor::zeros({3, 24}, DType::kBF16);
  EXPECT_EQ(fake_error(def(), p.args()), (Err{"shape", "C1"}));
}
TEST(Nvfp4W4a16Moe, C2_RejectsUnpackedWeights) {
  Parts p;
  p.w13.packed = Tensor::zeros({2, 32, 32}, DType::kU8);
  EXPECT_EQ(fake_error(def(), p.args()), (Err{"shape", "C2"}));
}
TEST(Nvfp4W4a16Moe, C3_RejectsRoutesOfOtherTokens) {
  Parts p;
  p.r = moe::make_routes({4}, 2, 2, 5);
  EXPECT_EQ(fake_error(def(), p.args()), (Err{"shape", "C3"}));
}
TEST(Nvfp4W4a16Moe, C4_RejectsScaleGridOfAnotherBlockSize) {
  Parts p;
  p.w2.scale = Tensor::zeros({2, 32, 2}, DType::kF8E4M3FN);  // I/8 instead of I/16
  EXPECT_EQ(fake_error(def(), p.args()), (Err{"scale-layout", "C4"}));
}
TEST(Nvfp4W4a16Moe, C5_RejectsGlobalScalesOfWrongShape) {
  Parts p;
  p.g2 = Tensor::zeros({2, 1}, DType::kF32);
  EXPECT_EQ(fake_error(def(), p.args()), (Err{"scale-layout", "C5"}));
}
TEST(Nvfp4W4a16Moe, C6_RejectsExpertMapDtype) {
  Parts p;
  EXPECT_EQ(fake_error(def(), p.args(), {{"expert_map", Tensor::zeros({2}, DType::kF32)}}),
            (Err{"dtype", "C6"}));
}
TEST(Nvfp4W4a16Moe, C7_RejectsOtherActivations) {
  Parts p;
  EXPECT_EQ(fake_error(def(), p.args(), {{"act", std::string("relu")}}), (Err{"argument", "C7"}));
}

}  // namespace
}  // namespace symtrace::ops
