// fp8_gemm_w8a16: every variant (the KN one through its prepare step) against the reference
// on awkward shapes and every ISA path; the prepare contract (weight and scale move together,
// twice is an error); one negative test per constraint.
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
using tensor::TensorMeta;
using testing::check_call;
using testing::fake_error;
using testing::ScopedIsa;
using Err = std::pair<std::string, std::string>;

const op::OpDef& def() { return registry().get("fp8_gemm_w8a16"); }

struct Shape {
  tensor::Shape lead;
  std::int64_t K, N;
};

std::vector<op::Value> call(const Shape& s, DType x, bool per_channel, std::uint64_t seed,
                            DType w = DType::kF8E4M3FN) {
  tensor::Shape xs = s.lead;
  xs.push_back(s.K);
  return {random(xs, x, seed, -2.f, 2.f), random({s.N, s.K}, w, seed + 1, -8.f, 8.f),
          per_channel ? random_scale({s.N, 1}, seed + 2, 0.01f, 0.1f) : gemm_op::scalar_f32(0.031f),
          random({s.N}, x, seed + 3, -2.f, 2.f)};
}

TEST(Fp8GemmW8a16, OpcheckSamples) {
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const op::OpcheckReport r = op::opcheck(def(), 5);
    EXPECT_TRUE(r.ok()) << isa << ": " << r.str();
  }
}

TEST(Fp8GemmW8a16, EveryVariantOnAwkwardShapes) {
  const std::vector<Shape> shapes = {{{0}, 40, 24},    {{1}, 257, 33},    {{3}, 100, 130},
                                     {{17}, 129, 65},  {{128}, 64, 70},   {{257}, 72, 19},
                                     {{}, 33, 7},      {{2, 3}, 515, 31}, {{2, 1, 5}, 17, 200},
                                     {{5}, 1030, 300}, {{16}, 260, 1000}};
  std::uint64_t seed = 30;
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    for (const Shape& s : shapes)
      for (DType x : {DType::kBF16, DType::kF16}) {
        seed += 7;
        const auto f = check_call(def(), call(s, x, seed % 2 == 0, seed));
        EXPECT_TRUE(f.empty()) << isa << " lead" << s.lead.size() << " K" << s.K << " N" << s.N
                               << " " << tensor::name(x) << ": " << ::testing::PrintToString(f);
      }
  }
}

TEST(Fp8GemmW8a16, E5m2Weight) {
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const auto f = check_call(def(), call({{9}, 70, 45}, DType::kBF16, true, 3, DType::kF8E5M2));
    EXPECT_TRUE(f.empty()) << isa << ": " << ::testing::PrintToString(f);
  }
}

const op::Variant& kn_variant() {
  for (const op::Variant& v : def().variants)
    if (v.prepare) return v;
  throw std::logic_error("no prepare variant");
}

// Square weight (N == K): only the tag tells NK from KN (OPS.md §14 item 3).
TEST(Fp8GemmW8a16, PrepareMovesWeightAndScaleTogether) {
  const auto args = op::bind_args(def().schema, call({{4}, 64, 64}, DType::kBF16, true, 7));
  const op::Prepare& p = *kn_variant().prepare;
  sym::ShapeEnv env;
  op::FakeContext cx{env, "fp8_gemm_w8a16"};
  const std::vector<op::Value> metas = op::metas_of(args);
  const op::Outputs fm = p.fake(op::Args(def().schema, metas), cx);
  const auto& wm = boost::variant2::get<TensorMeta>(fm[0]);
  const auto& sm = boost::variant2::get<TensorMeta>(fm[1]);
  EXPECT_EQ(wm.layout, tensor::WeightLayout::kKN);
  EXPECT_EQ(sm.layout, tensor::WeightLayout::kKN);
  EXPECT_EQ(sm.shape_str(), "[1, 64]");
  const op::Outputs real = p.run(op::Args(def().schema, args));
  const Tensor& w = boost::variant2::get<Tensor>(args[1]);
  const Tensor& wt = boost::variant2::get<Tensor>(real[0]);
  EXPECT_EQ(wt.item(std::vector<std::int64_t>{3, 5}), w.item(std::vector<std::int64_t>{5, 3}));
  // The op's fake accepts the prepared (KN) bundle and still reads N from the tag.
  std::vector<op::Value> prepared = metas;
  prepared[1] = wm;
  prepared[2] = sm;
  const op::Outputs out = op::fake_call(def(), prepared, env);
  EXPECT_EQ(boost::variant2::get<TensorMeta>(out[0]).shape_str(), "[4, 64]");
  // Applying the prepare twice is an error, not a no-op.
  try {
    p.fake(op::Args(def().schema, prepared), cx);
    ADD_FAILURE() << "prepare accepted a KN bundle";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "layout");
  }
  // A KN weight with an untransposed [N, 1] scale is a scale-layout error even when N == K.
  std::vector<op::Value> half = prepared;
  half[2] = metas[2];
  try {
    op::fake_call(def(), half, env);
    ADD_FAILURE() << "accepted a KN weight with an NK scale";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "scale-layout");
    EXPECT_EQ(e.diagnostic().constraint, "C3");
  }
}

TEST(Fp8GemmW8a16, FakeKeepsLeadingDims) {
  for (const tensor::Shape& lead : std::vector<tensor::Shape>{{}, {7}, {2, 5}, {2, 3, 4}}) {
    sym::ShapeEnv env;
    const auto out =
        op::bind_and_fake(def(), op::metas_of(call({lead, 32, 24}, DType::kBF16, true, 1)), env);
    tensor::Shape want = lead;
    want.push_back(24);
    EXPECT_EQ(boost::variant2::get<TensorMeta>(out[0]).shape_str(),
              TensorMeta::contiguous({want.begin(), want.end()}, DType::kBF16).shape_str());
  }
}

const Shape kS{{3}, 16, 8};

TEST(Fp8GemmW8a16, C1_RejectsF32Activation) {
  auto c = call(kS, DType::kBF16, true, 1);
  c[0] = random({3, 16}, DType::kF32, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C1"}));
}
TEST(Fp8GemmW8a16, C2_RejectsInt8Weight) {
  auto c = call(kS, DType::kBF16, true, 1);
  c[1] = random({8, 16}, DType::kI8, 1, -9.f, 9.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C2"}));
}
TEST(Fp8GemmW8a16, C3_RejectsOneDimensionalChannelScale) {
  auto c = call(kS, DType::kBF16, true, 1);
  c[2] = random_scale({8}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), c), (Err{"scale-layout", "C3"}));
}
TEST(Fp8GemmW8a16, C4_RejectsKMismatch) {
  auto c = call(kS, DType::kBF16, true, 1);
  c[0] = random({3, 8}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape", "C4"}));
}
TEST(Fp8GemmW8a16, C5_RejectsBiasOfOtherDtype) {
  auto c = call(kS, DType::kBF16, true, 1);
  c[3] = random({8}, DType::kF32, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C5"}));
}

}  // namespace
}  // namespace symtrace::ops
