// scaled_mm: PyTorch 2.11's meta rules (one negative test per constraint), every scaling
// layout with symbolic sizes, the reference against refdata gemm_vectors (f64 products of the
// same fp8 operands), and opcheck.
#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TensorMeta colmajor(std::int64_t K, std::int64_t N, DType d = DType::kF8E4M3FN) {
  TensorMeta m = meta({K, N}, d);
  m.strides = {SymInt(1), SymInt(K)};
  return m;
}
TensorMeta scale(tensor::Shape s) { return meta(std::move(s)); }
std::vector<std::pair<std::string, op::Value>> bf16_out() { return {{"out_dtype", DType::kBF16}}; }

TEST(ScaledMm, FakeOutputAndDtype) {
  sym::ShapeEnv env;
  EXPECT_EQ(meta_of(fake("scaled_mm", env, {meta({16, 32}, DType::kF8E4M3FN), colmajor(32, 48), scale({}), scale({})},
                         bf16_out())).str(),
            meta({16, 48}, DType::kBF16).str());
  // Without out_dtype the output keeps a's fp8 dtype (PyTorch's meta rule).
  EXPECT_EQ(meta_of(fake("scaled_mm", env, {meta({16, 32}, DType::kF8E4M3FN), colmajor(32, 48), scale({1}), scale({1, 1})})).dtype,
            DType::kF8E4M3FN);
}

TEST(ScaledMm, SymbolicMWithRowwiseScales) {
  sym::ShapeEnv env;
  const SymInt M(env.new_symbol("M", "tokens"));
  TensorMeta a = TensorMeta::contiguous({M, SymInt(4096)}, DType::kF8E4M3FN);
  const TensorMeta y = meta_of(fake("scaled_mm", env, {a, colmajor(4096, 1024), TensorMeta::contiguous({M, SymInt(1)}, DType::kF32),
                                                       scale({1, 1024})}, bf16_out()));
  EXPECT_EQ(y.shape_str(), "[M, 1024]");
}

TEST(ScaledMm, BlockScaleLayouts) {
  sym::ShapeEnv env;
  const TensorMeta a = meta({16, 256}, DType::kF8E4M3FN), b = colmajor(256, 256);
  TensorMeta sa = meta({16, 2});
  sa.strides = {SymInt(1), SymInt(16)};  // M-major, as PyTorch's probe passes it
  EXPECT_EQ(rejection("scaled_mm", {a, b, sa, scale({2, 2})}, bf16_out()).code, "");      // 1x128 x 128x128
  EXPECT_EQ(rejection("scaled_mm", {a, b, sa, scale({2, 256})}, bf16_out()).code, "");    // 1x128 x 1x128
  EXPECT_EQ(rejection("scaled_mm", {a, b, scale({1, 2}), scale({2, 256})}, bf16_out()).code, "");  // 128x128 x 1x128
  EXPECT_EQ(rejection("scaled_mm", {a, b, scale({2, 16}), scale({2, 256})}, bf16_out()).constraint, "C6");
}

TEST(ScaledMm, C1_RejectsLeadingDims) {
  const Rejection r = rejection("scaled_mm", {meta({2, 8, 32}, DType::kF8E4M3FN), colmajor(32, 48), scale({}), scale({})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C1");
}

TEST(ScaledMm, C2_RejectsBf16Operands) {
  EXPECT_EQ(rejection("scaled_mm", {meta({16, 32}, DType::kBF16), colmajor(32, 48, DType::kBF16), scale({}), scale({})}).constraint, "C2");
}

TEST(ScaledMm, C3_RejectsRowMajorB) {
  const Rejection r = rejection("scaled_mm", {meta({16, 32}, DType::kF8E4M3FN), meta({32, 48}, DType::kF8E4M3FN), scale({}), scale({})});
  EXPECT_EQ(r.constraint, "C3");
  EXPECT_EQ(r.argument, "b");
  TensorMeta a = meta({32, 16}, DType::kF8E4M3FN);
  a.sizes = {SymInt(16), SymInt(32)};
  a.strides = {SymInt(1), SymInt(16)};
  EXPECT_EQ(rejection("scaled_mm", {a, colmajor(32, 48), scale({}), scale({})}).argument, "a");
}

TEST(ScaledMm, C4_RejectsKNotAMultipleOf16) {
  EXPECT_EQ(rejection("scaled_mm", {meta({16, 40}, DType::kF8E4M3FN), colmajor(40, 48), scale({}), scale({})}).constraint, "C4");
  sym::ShapeEnv env;  // an unknown alignment is a guard, not an error
  const SymInt K(env.new_symbol("K", "in_features"));
  TensorMeta b = TensorMeta::contiguous({K, SymInt(48)}, DType::kF8E4M3FN);
  b.strides = {SymInt(1), K};
  env.assume(sym::gt(K, 1));
  fake("scaled_mm", env, {TensorMeta::contiguous({SymInt(16), K}, DType::kF8E4M3FN), b, scale({}), scale({})});
  EXPECT_FALSE(env.guards().empty());
}

TEST(ScaledMm, C5_RejectsBf16Scales) {
  const Rejection r = rejection("scaled_mm", {meta({16, 32}, DType::kF8E4M3FN), colmajor(32, 48), meta({}, DType::kBF16), scale({})});
  EXPECT_EQ(r.code, "scale-dtype");
  EXPECT_EQ(r.constraint, "C5");
}

TEST(ScaledMm, C6_RejectsOneDimAndMixedScales) {
  const auto a = meta({16, 32}, DType::kF8E4M3FN);
  EXPECT_EQ(rejection("scaled_mm", {a, colmajor(32, 48), scale({16}), scale({48})}).constraint, "C6");
  EXPECT_EQ(rejection("scaled_mm", {a, colmajor(32, 48), scale({16, 1}), scale({})}).code, "scale-layout");
  EXPECT_EQ(rejection("scaled_mm", {a, colmajor(32, 48), scale({48, 1}), scale({1, 16})}).constraint, "C6");
}

TEST(ScaledMm, C7_RejectsKMismatch) {
  EXPECT_EQ(rejection("scaled_mm", {meta({16, 32}, DType::kF8E4M3FN), colmajor(64, 48), scale({}), scale({})}).constraint, "C7");
}

TEST(ScaledMm, C8_RejectsBiasOfWrongLength) {
  EXPECT_EQ(rejection("scaled_mm", {meta({16, 32}, DType::kF8E4M3FN), colmajor(32, 48), scale({}), scale({}),
                                    meta({47}, DType::kBF16)}).constraint, "C8");
}

// refdata gemm_vectors: A [*lead, K] and B [N, K] as f8_e4m3fn bits; ref_*_f64 are the
// products with the same scales. Their values are f32-representable (the producing script
// rounded once through f32), so they are met within half an ulp of our output plus one f32 ulp.
TEST(ScaledMm, refdata_GemmVectorsMatchF64Products) {
  const auto t = load_safetensors(std::string(SYMTRACE_REFDATA_DIR) + "/gemm_vectors.safetensors");
  for (const char* c : {"c0", "c1", "c2", "c3"}) {
    const auto get = [&](const std::string& n) { return t.at(fmt::format("{}.{}", c, n)); };
    const Tensor a_lead = reinterpret(get("a_bits"), DType::kF8E4M3FN);
    const std::int64_t K = a_lead.size(-1);
    const Tensor a = a_lead.view({a_lead.numel() / K, K});
    const Tensor b = reinterpret(get("b_bits"), DType::kF8E4M3FN).transpose(0, 1);
    for (const char* mode : {"tensorwise", "rowwise"}) {
      const bool row = std::string(mode) == "rowwise";
      const Tensor sa = get(row ? "scale_a_row" : "scale_a_tensor"), sb = get(row ? "scale_b_col" : "scale_b_tensor");
      const std::vector<double> ref = get(fmt::format("ref_{}_f64", mode)).to_f64();
      for (DType out : {DType::kF64, DType::kF32, DType::kBF16}) {
        const op::Outputs y = op::call(def("scaled_mm"), {a, b, sa, sb, op::None{}, op::None{}, out});
        const std::vector<double> got = boost::variant2::get<Tensor>(y[0]).to_f64();
        ASSERT_EQ(got.size(), ref.size());
        for (std::size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], ref[i], nn::ulp(out, ref[i]) / 2 + nn::ulp(DType::kF32, ref[i]))
              << c << " " << mode << " " << tensor::name(out) << " at " << i;
      }
    }
  }
}

TEST(ScaledMm, opcheck) {
  const op::OpcheckReport r = op::opcheck(def("scaled_mm"), 9);
  EXPECT_TRUE(r.ok()) << r.str();
}

}  // namespace
}  // namespace symtrace::ops
