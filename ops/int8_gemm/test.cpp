// int8_gemm: every variant against the reference on awkward shapes and every ISA path,
// refdata (_int_mm and W8A8 scaled references), one negative test per constraint.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/gemm_op.hpp"
#include "ops/common/gemm_testing.hpp"

namespace symtrace::ops {
namespace {

using gemm_op::random;
using gemm_op::random_scale;
using tensor::DType;
using tensor::Tensor;
using testing::check_call;
using testing::fake_error;
using testing::ScopedIsa;
using Err = std::pair<std::string, std::string>;

const op::OpDef& def() { return registry().get("int8_gemm"); }

struct Shape {
  tensor::Shape lead;
  std::int64_t K, N;
};

std::string label(const Shape& s) {
  std::int64_t m = 1;
  for (auto d : s.lead) m *= d;
  return fmt::format("M{}_N{}_K{}_lead{}", m, s.N, s.K, s.lead.size());
}

// Operands with scales != 1 and a nonzero bias (OPS.md §14 item 17).
std::vector<op::Value> call(const Shape& s, DType out, bool azp, std::uint64_t seed) {
  tensor::Shape as = s.lead, ss = s.lead;
  as.push_back(s.K);
  ss.push_back(1);
  op::Value z = op::None{};
  if (azp) z = random(ss, DType::kI32, seed + 5, -30.f, 30.f);
  return {random(as, DType::kI8, seed, -128.f, 128.f),
          random({s.N, s.K}, DType::kI8, seed + 1, -128.f, 128.f),
          random_scale({s.N, 1}, seed + 2, 0.002f, 0.02f),
          random_scale(ss, seed + 3, 0.01f, 0.1f),
          out,
          z,
          random({s.N}, out, seed + 4, -3.f, 3.f)};
}

TEST(Int8Gemm, OpcheckSamples) {
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const op::OpcheckReport r = op::opcheck(def(), 3);
    EXPECT_TRUE(r.ok()) << isa << ": " << r.str();
  }
}

TEST(Int8Gemm, EveryVariantOnAwkwardShapes) {
  const std::vector<Shape> shapes = {{{0}, 40, 24},    {{1}, 257, 33},    {{3}, 100, 130},
                                     {{17}, 129, 65},  {{128}, 64, 70},   {{257}, 72, 19},
                                     {{}, 33, 7},      {{2, 3}, 515, 31}, {{2, 1, 5}, 17, 200},
                                     {{5}, 4100, 300}, {{16}, 260, 1000}, {{2}, 70, 45}};
  std::uint64_t seed = 10;
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    for (const Shape& s : shapes)
      for (bool azp : {false, true}) {
        const DType out = seed % 3 == 0 ? DType::kBF16 : seed % 3 == 1 ? DType::kF16 : DType::kF32;
        const auto f = check_call(def(), call(s, out, azp, seed += 7));
        EXPECT_TRUE(f.empty()) << isa << " " << label(s) << (azp ? " azp" : "") << ": "
                               << ::testing::PrintToString(f);
      }
  }
}

TEST(Int8Gemm, PerTensorScalesAndStaticZeroPoint) {
  const Shape s{{4, 9}, 300, 77};
  std::vector<op::Value> c = call(s, DType::kBF16, false, 99);
  c[2] = gemm_op::scalar_f32(0.0071f);
  c[3] = gemm_op::scalar_f32(0.043f);
  c[5] = Tensor::from_f32({1}, std::vector<float>{-11.f}, DType::kI32);
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const auto f = check_call(def(), c);
    EXPECT_TRUE(f.empty()) << isa << ": " << ::testing::PrintToString(f);
  }
}

// refdata: exact int32 products (torch._int_mm) and the W8A8 per-token/per-channel f64 result.
TEST(Int8Gemm, RefdataIntMmAndScaled) {
  const auto& v = testing::gemm_vectors();
  for (const char* c : {"c0", "c1", "c2", "c3"}) {
    const Tensor a = v.at(fmt::format("{}.int8_a", c));
    const Tensor bkn = v.at(fmt::format("{}.int8_b", c));  // [K, N] row-major in the file
    const Tensor b = bkn.transpose(0, 1).contiguous();
    const std::int64_t N = b.size(0);
    const std::vector<double> exact = v.at(fmt::format("{}.int_ref_i64", c)).to_f64();
    const Tensor sa = v.at(fmt::format("{}.int8_scale_a_row", c));
    const Tensor sb = v.at(fmt::format("{}.int8_scale_b_col", c)).view({N, 1});  // [1,N] -> [N,1]
    tensor::Shape lead(a.sizes().begin(), a.sizes().end() - 1);
    tensor::Shape sshape = lead;
    sshape.push_back(1);
    const Tensor sa_lead = sa.view(sshape);
    const std::vector<double> scaled = v.at(fmt::format("{}.int8_scaled_ref_f64", c)).to_f64();
    for (const char* isa : testing::isa_paths()) {
      ScopedIsa scope(isa);
      // |acc| < 2^24 here, so the f32 output holds the int32 accumulator exactly.
      const auto out = op::call(def(), {a, b, gemm_op::scalar_f32(1.f), gemm_op::scalar_f32(1.f),
                                        DType::kF32, op::None{}, op::None{}});
      const std::vector<double> got = boost::variant2::get<Tensor>(out[0]).to_f64();
      ASSERT_EQ(got.size(), exact.size());
      for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], exact[i]) << c << " " << isa << " element " << i;
      const auto out2 = op::call(def(), {a, b, sb, sa_lead, DType::kF32, op::None{}, op::None{}});
      const std::vector<double> got2 = boost::variant2::get<Tensor>(out2[0]).to_f64();
      for (std::size_t i = 0; i < got2.size(); ++i)
        ASSERT_NEAR(got2[i], scaled[i], 1e-6 * std::fabs(scaled[i]) + 1e-9) << c << " " << isa;
    }
  }
}

TEST(Int8Gemm, FakeKeepsLeadingDims) {
  sym::ShapeEnv env;
  const auto out = op::bind_and_fake(
      def(), op::metas_of(call({{2, 3, 5}, 64, 48}, DType::kBF16, false, 1)), env);
  EXPECT_EQ(boost::variant2::get<tensor::TensorMeta>(out[0]).shape_str(), "[2, 3, 5, 48]");
}

const Shape kS{{3}, 16, 8};

TEST(Int8Gemm, C1_RejectsFloatActivation) {
  auto c = call(kS, DType::kF32, false, 1);
  c[0] = random({3, 16}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C1"}));
}
TEST(Int8Gemm, C2_RejectsFloatWeight) {
  auto c = call(kS, DType::kF32, false, 1);
  c[1] = random({8, 16}, DType::kF8E4M3FN, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C2"}));
}
TEST(Int8Gemm, C3_RejectsOneDimensionalChannelScale) {
  auto c = call(kS, DType::kF32, false, 1);
  c[2] = random_scale({8}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C3"}));
  c[2] = random_scale({1, 8}, 1, 0.1f, 1.f);  // the KN binding on an NK weight
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C3"}));
  c[2] = random({8, 1}, DType::kBF16, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-dtype", "C3"}));
}
TEST(Int8Gemm, C4_RejectsKMismatch) {
  auto c = call(kS, DType::kF32, false, 1);
  c[0] = random({3, 15}, DType::kI8, 1, -5.f, 5.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape", "C4"}));
}
TEST(Int8Gemm, C5_RejectsFlattenedTokenScale) {
  auto c = call({{2, 3}, 16, 8}, DType::kF32, false, 1);
  c[3] = random_scale({6, 1}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C5"}));
}
TEST(Int8Gemm, C6_RejectsZeroPointOfOtherShape) {
  auto c = call(kS, DType::kF32, true, 1);
  c[5] = Tensor::zeros({1}, DType::kI32);  // per-token scale, per-tensor zero point
  EXPECT_EQ(fake_error(def(), c), (Err{"shape", "C6"}));
  c[5] = Tensor::zeros({3, 1}, DType::kF32);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C6"}));
}
TEST(Int8Gemm, C7_RejectsIntegerOutput) {
  auto c = call(kS, DType::kF32, false, 1);
  c[4] = DType::kI32;
  c[6] = op::None{};
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C7"}));
}
TEST(Int8Gemm, C8_RejectsBiasOfWrongLength) {
  auto c = call(kS, DType::kF32, false, 1);
  c[6] = random({9}, DType::kF32, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape", "C8"}));
}

}  // namespace
}  // namespace symtrace::ops
