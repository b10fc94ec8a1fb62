// fp8_gemm: every variant against the reference on awkward shapes and every ISA path,
// refdata (torch._scaled_mm tensorwise/rowwise, bf16 and f32 out), one negative test per
// constraint.
#include <cmath>
#include <cstring>

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

const op::OpDef& def() { return registry().get("fp8_gemm"); }

struct Shape {
  tensor::Shape lead;
  std::int64_t K, N;
};

// Operands with scales != 1 and a nonzero bias (OPS.md §14 item 17).
std::vector<op::Value> call(const Shape& s, DType out, bool per_token, std::uint64_t seed) {
  tensor::Shape as = s.lead, ss = s.lead;
  as.push_back(s.K);
  ss.push_back(1);
  return {random(as, DType::kF8E4M3FN, seed, -6.f, 6.f),
          random({s.N, s.K}, DType::kF8E4M3FN, seed + 1, -6.f, 6.f),
          per_token ? random_scale({s.N, 1}, seed + 2, 0.01f, 0.1f) : gemm_op::scalar_f32(0.013f),
          per_token ? random_scale(ss, seed + 3, 0.05f, 0.5f) : gemm_op::scalar_f32(0.7f),
          out,
          random({s.N}, out, seed + 4, -3.f, 3.f)};
}

TEST(Fp8Gemm, OpcheckSamples) {
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const op::OpcheckReport r = op::opcheck(def(), 4);
    EXPECT_TRUE(r.ok()) << isa << ": " << r.str();
  }
}

TEST(Fp8Gemm, EveryVariantOnAwkwardShapes) {
  const std::vector<Shape> shapes = {{{0}, 40, 24},    {{1}, 257, 33},    {{3}, 100, 130},
                                     {{17}, 129, 65},  {{128}, 64, 70},   {{257}, 72, 19},
                                     {{}, 33, 7},      {{2, 3}, 515, 31}, {{2, 1, 5}, 17, 200},
                                     {{5}, 1030, 300}, {{16}, 260, 1000}};
  std::uint64_t seed = 20;
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    for (const Shape& s : shapes)
      for (bool per_token : {false, true}) {
        const DType out = seed % 3 == 0 ? DType::kBF16 : seed % 3 == 1 ? DType::kF16 : DType::kF32;
        const auto f = check_call(def(), call(s, out, per_token, seed += 7));
        EXPECT_TRUE(f.empty()) << isa << " lead" << s.lead.size() << " K" << s.K << " N" << s.N
                               << ": " << ::testing::PrintToString(f);
      }
  }
}

Tensor as_fp8(const Tensor& bits) {
  Tensor t = Tensor::empty(bits.sizes(), DType::kF8E4M3FN);
  std::memcpy(t.data_ptr(), bits.contiguous().data_ptr(), bits.nbytes());
  return t;
}

// refdata: symtrace's f32 output equals the f64 reference to ~1e-6 relative, and its bf16
// output is within one bf16 ulp of torch._scaled_mm's (OPS.md §5).
TEST(Fp8Gemm, RefdataScaledMmTensorwiseAndRowwise) {
  const auto& v = testing::gemm_vectors();
  for (const char* c : {"c0", "c1", "c2", "c3"}) {
    const Tensor a = as_fp8(v.at(fmt::format("{}.a_bits", c)));
    const Tensor b = as_fp8(v.at(fmt::format("{}.b_bits", c)));
    const std::int64_t N = b.size(0);
    tensor::Shape sshape(a.sizes().begin(), a.sizes().end() - 1);
    sshape.push_back(1);
    for (const char* mode : {"tensorwise", "rowwise"}) {
      const bool row = std::string(mode) == "rowwise";
      const Tensor sa = row ? v.at(fmt::format("{}.scale_a_row", c)).view(sshape)
                            : v.at(fmt::format("{}.scale_a_tensor", c));
      // PyTorch's rowwise B scale is [1, N] for B passed as b.t(); the NK bundle binds [N, 1].
      const Tensor sb = row ? v.at(fmt::format("{}.scale_b_col", c)).view({N, 1})
                            : v.at(fmt::format("{}.scale_b_tensor", c));
      const std::vector<double> ref = v.at(fmt::format("{}.ref_{}_f64", c, mode)).to_f64();
      const std::vector<double> torch_bf16 =
          v.at(fmt::format("{}.scaled_mm_{}_bf16", c, mode)).to_f64();
      // The f32 summation bound of OPS.md §15.7 from the operands: K * 2^-24 * s * sum|a*b|.
      const std::vector<double> av = a.to_f64(), bv = b.to_f64(),
                                sav = gemm_op::expand(&sa, a.numel() / a.size(-1)),
                                sbv = gemm_op::expand(&sb, N);
      const std::int64_t K = b.size(1);
      std::vector<double> bound(ref.size());
      for (std::size_t i = 0; i < ref.size(); ++i) {
        const std::int64_t m = static_cast<std::int64_t>(i) / N,
                           n = static_cast<std::int64_t>(i) % N;
        double abs_sum = 0;
        for (std::int64_t k = 0; k < K; ++k) abs_sum += std::fabs(av[m * K + k] * bv[n * K + k]);
        bound[i] = (K + 2) * std::ldexp(1.0, -24) * std::fabs(sav[m] * sbv[n]) * abs_sum;
      }
      auto ulp = [](double v) {
        return std::ldexp(1.0, std::ilogb(std::max(std::fabs(v), 1e-30)) - 7);
      };
      for (const char* isa : testing::isa_paths()) {
        ScopedIsa scope(isa);
        const auto f32 = boost::variant2::get<Tensor>(
                             op::call(def(), {a, b, sb, sa, DType::kF32, op::None{}})[0])
                             .to_f64();
        const auto bf16 = boost::variant2::get<Tensor>(
                              op::call(def(), {a, b, sb, sa, DType::kBF16, op::None{}})[0])
                              .to_f64();
        ASSERT_EQ(f32.size(), ref.size());
        for (std::size_t i = 0; i < ref.size(); ++i) {
          ASSERT_NEAR(f32[i], ref[i], bound[i]) << c << mode << isa << i;
          ASSERT_LE(std::fabs(bf16[i] - ref[i]), ulp(ref[i]) + bound[i]) << c << mode << isa << i;
          // torch._scaled_mm's bf16 output is itself further from the f64 result than one ulp
          // (cuBLAS accumulation): symtrace must be at least as close as it is.
          ASSERT_LE(std::fabs(bf16[i] - ref[i]),
                    std::max(std::fabs(torch_bf16[i] - ref[i]), ulp(ref[i])) + bound[i])
              << c << mode << isa << i;
        }
      }
    }
  }
}

const Shape kS{{3}, 16, 8};

TEST(Fp8Gemm, C1_RejectsBf16Activation) {
  auto c = call(kS, DType::kF32, true, 1);
  c[0] = random({3, 16}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C1"}));
}
TEST(Fp8Gemm, C2_RejectsE5m2Weight) {
  auto c = call(kS, DType::kF32, true, 1);
  c[1] = random({8, 16}, DType::kF8E5M2, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C2"}));
}
TEST(Fp8Gemm, C3_RejectsOneDimensionalChannelScale) {
  auto c = call(kS, DType::kF32, true, 1);
  c[2] = random_scale({8}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C3"}));
  c[2] = random({8, 1}, DType::kBF16, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-dtype", "C3"}));
}
TEST(Fp8Gemm, C4_RejectsKMismatch) {
  auto c = call(kS, DType::kF32, true, 1);
  c[0] = random({3, 17}, DType::kF8E4M3FN, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape", "C4"}));
}
TEST(Fp8Gemm, C5_RejectsTransposedRowScale) {
  auto c = call(kS, DType::kF32, true, 1);
  c[3] = random_scale({1, 3}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C5"}));
}
TEST(Fp8Gemm, C6_RejectsFp8Output) {
  auto c = call(kS, DType::kF32, true, 1);
  c[4] = DType::kF8E4M3FN;
  c[5] = op::None{};
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C6"}));
}
TEST(Fp8Gemm, C7_RejectsBiasOfOtherDtype) {
  auto c = call(kS, DType::kBF16, true, 1);
  c[5] = random({8}, DType::kF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C7"}));
}

}  // namespace
}  // namespace symtrace::ops
