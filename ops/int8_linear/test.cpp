// int8_linear: quantize + int8_gemm on every ISA path against the reference (which quantizes
// with the scalar quantizer, bit-identical to the vector ones), all four quantization modes,
// one negative test per constraint.
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

const op::OpDef& def() { return registry().get("int8_linear"); }

// mode: 0 dynamic symmetric, 1 dynamic asymmetric, 2 static symmetric, 3 static asymmetric.
std::vector<op::Value> call(tensor::Shape lead, std::int64_t K, std::int64_t N, DType x, int mode,
                            std::uint64_t seed) {
  lead.push_back(K);
  op::Value is = op::None{}, zp = op::None{};
  if (mode >= 2) is = gemm_op::scalar_f32(0.02f);
  if (mode == 3) zp = Tensor::from_f32({1}, std::vector<float>{-37.f}, DType::kI32);
  return {random(lead, x, seed, -1.f, 3.f),
          random({N, K}, DType::kI8, seed + 1, -128.f, 128.f),
          random_scale({N, 1}, seed + 2, 0.001f, 0.01f),
          is,
          zp,
          mode % 2 == 0,
          random({N}, x, seed + 3, -2.f, 2.f)};
}

TEST(Int8Linear, OpcheckSamples) {
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const op::OpcheckReport r = op::opcheck(def(), 7);
    EXPECT_TRUE(r.ok()) << isa << ": " << r.str();
  }
}

TEST(Int8Linear, EveryModeAndVariantOnAwkwardShapes) {
  struct S {
    tensor::Shape lead;
    std::int64_t K, N;
  };
  const std::vector<S> shapes = {{{0}, 40, 24},   {{1}, 257, 33},    {{17}, 129, 65},
                                 {{128}, 64, 70}, {{2, 3}, 515, 31}, {{5}, 1030, 300}};
  std::uint64_t seed = 50;
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    for (const S& s : shapes)
      for (int mode = 0; mode < 4; ++mode) {
        seed += 5;
        const DType x = mode == 1 ? DType::kF16 : mode == 2 ? DType::kF32 : DType::kBF16;
        const auto f = check_call(def(), call(s.lead, s.K, s.N, x, mode, seed));
        EXPECT_TRUE(f.empty()) << isa << " mode " << mode << " K" << s.K << " N" << s.N << ": "
                               << ::testing::PrintToString(f);
      }
  }
}

TEST(Int8Linear, C1_RejectsInt8Input) {
  auto c = call({3}, 16, 8, DType::kBF16, 0, 1);
  c[0] = random({3, 16}, DType::kI8, 1, -5.f, 5.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C1"}));
}
TEST(Int8Linear, C2_RejectsFp8Weight) {
  auto c = call({3}, 16, 8, DType::kBF16, 0, 1);
  c[1] = random({8, 16}, DType::kF8E4M3FN, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C2"}));
}
TEST(Int8Linear, C3_RejectsQuarkStyleOneDimensionalScale) {
  auto c = call({3}, 16, 8, DType::kBF16, 0, 1);
  c[2] = random_scale({8}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C3"}));
}
TEST(Int8Linear, C4_RejectsKMismatch) {
  auto c = call({3}, 16, 8, DType::kBF16, 0, 1);
  c[0] = random({3, 12}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape", "C4"}));
}
TEST(Int8Linear, C5_RejectsPerTokenStaticScale) {
  auto c = call({3}, 16, 8, DType::kBF16, 2, 1);
  c[3] = random_scale({3, 1}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C5"}));
}
TEST(Int8Linear, C6_RejectsZeroPointWithoutScale) {
  auto c = call({3}, 16, 8, DType::kBF16, 1, 1);
  c[4] = Tensor::zeros({1}, DType::kI32);
  EXPECT_EQ(fake_error(def(), c), (Err{"argument", "C6"}));
}
TEST(Int8Linear, C7_RejectsBiasOfWrongLength) {
  auto c = call({3}, 16, 8, DType::kBF16, 0, 1);
  c[6] = random({7}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape", "C7"}));
}

}  // namespace
}  // namespace symtrace::ops
