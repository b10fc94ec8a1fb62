// rotary and rope_cos_sin: fake, one negative test per constraint, worked examples of both
// styles, the relative-position property of the rotation, the frequency maps, opcheck.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"
#include "ops/rotary/kernels.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(Rotary, FakeKeepsQAndKShapes) {
  sym::ShapeEnv env;
  const TensorMeta q = sym_meta(env, {"B", "S", 32, 128}, DType::kBF16), k = sym_meta(env, {"B", "S", 8, 128}, DType::kBF16);
  const op::Outputs o = fake("rotary", env, {q, k, sym_meta(env, {"B", "S"}, DType::kI64), sym_meta(env, {"P", 128}),
                                             std::string("neox"), SymInt(128)});
  EXPECT_EQ(meta_of(o, 0).shape_str(), "[B, S, 32, 128]");
  EXPECT_EQ(meta_of(o, 1).shape_str(), "[B, S, 8, 128]");
  EXPECT_TRUE(env.guards().empty());
}

std::vector<op::Value> args(tensor::Shape q, tensor::Shape k, tensor::Shape pos, tensor::Shape cs, std::string style,
                            std::int64_t rd) {
  return {meta(q), meta(k), meta(pos, DType::kI64), meta(cs), std::move(style), SymInt(rd)};
}

TEST(Rotary, C1_RejectsPositionsOfOtherTokens) {
  const Rejection r = rejection("rotary", args({5, 4, 16}, {5, 2, 16}, {4}, {8, 16}, "neox", 16));
  EXPECT_EQ(r.constraint, "C1");
  EXPECT_EQ(r.argument, "positions");
  EXPECT_EQ(rejection("rotary", args({5, 4, 16}, {5, 2, 8}, {5}, {8, 8}, "neox", 8)).argument, "k");
}

TEST(Rotary, C2_RejectsOddOrOversizedRotaryDim) {
  EXPECT_EQ(rejection("rotary", args({5, 4, 16}, {5, 2, 16}, {5}, {8, 15}, "neox", 15)).constraint, "C2");
  EXPECT_EQ(rejection("rotary", args({5, 4, 16}, {5, 2, 16}, {5}, {8, 32}, "neox", 32)).constraint, "C2");
  EXPECT_EQ(rejection("rotary", args({5, 4, 16}, {5, 2, 16}, {5}, {8, 16}, "neox", 8)).argument, "cos_sin");
}

TEST(Rotary, C3_RequiresAKnownStyle) {
  const Rejection r = rejection("rotary", args({5, 4, 16}, {5, 2, 16}, {5}, {8, 16}, "interleaved", 16));
  EXPECT_EQ(r.constraint, "C3");
  EXPECT_NE(r.message.find("rope_interleave"), std::string::npos);  // the hint says which is which
}

TEST(Rotary, C4_RejectsFloatPositions) {
  std::vector<op::Value> a = args({5, 4, 16}, {5, 2, 16}, {5}, {8, 16}, "neox", 16);
  a[2] = meta({5}, DType::kF32);
  EXPECT_EQ(rejection("rotary", a).constraint, "C4");
}

TEST(Rotary, C5_RejectsPositionsPastTheCache) {
  const Tensor pos = Tensor::from_f32({2}, std::vector<float>{1, 8}, DType::kI64);
  try {
    op::call(def("rotary"), {nn::sample_tensor({2, 1, 4}, DType::kF32, 1), nn::sample_tensor({2, 1, 4}, DType::kF32, 2), pos,
                             nn::sample_tensor({8, 4}, DType::kF32, 3), std::string("neox"), SymInt(4)});
    FAIL() << "position 8 of an 8-row cache was accepted";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().constraint, "C5");
  }
}

// One head, D = 6, rd = 4, position 1, cos = [c0, c1], sin = [s0, s1].
TEST(Rotary, NeoxRotatesHalvesGptjRotatesPairs) {
  const double c0 = 0.5, s0 = 0.25, c1 = 0.125, s1 = 1;  // exact in f32
  const Tensor cs = Tensor::from_f32({2, 4}, std::vector<float>{1, 1, 0, 0, float(c0), float(c1), float(s0), float(s1)});
  const Tensor x = Tensor::from_f32({1, 1, 6}, std::vector<float>{1, 2, 3, 4, 5, 6});
  const Tensor pos = Tensor::from_f32({1}, std::vector<float>{1}, DType::kI64);
  const auto run = [&](const char* style) {
    return boost::variant2::get<Tensor>(op::call(def("rotary"), {x, x, pos, cs, std::string(style), SymInt(4)})[0]).to_f64();
  };
  // neox pairs (0, 2), (1, 3); channels 4, 5 pass through.
  EXPECT_EQ(run("neox"), (std::vector<double>{1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1, 5, 6}));
  // gptj pairs (0, 1), (2, 3).
  EXPECT_EQ(run("gptj"), (std::vector<double>{1 * c0 - 2 * s0, 2 * c0 + 1 * s0, 3 * c1 - 4 * s1, 4 * c1 + 3 * s1, 5, 6}));
}

// (R_p q) · (R_p' k) depends only on p − p': the cache and the pairing agree.
TEST(Rotary, ScoresDependOnRelativePositionOnly) {
  const op::Outputs c = op::call(def("rope_cos_sin"), {SymInt(64), SymInt(32), 10000.0});
  const Tensor cs = boost::variant2::get<Tensor>(c[0]);
  const Tensor q = nn::sample_tensor({2, 1, 32}, DType::kF32, 5), k = nn::sample_tensor({2, 1, 32}, DType::kF32, 6);
  for (const char* style : {"neox", "gptj"}) {
    const auto score = [&](std::int64_t pq, std::int64_t pk) {
      const Tensor p = Tensor::from_f32({2}, std::vector<float>{float(pq), float(pk)}, DType::kI64);
      const op::Outputs o = op::call(def("rotary"), {q, k, p, cs, std::string(style), SymInt(32)});
      const std::vector<double> a = boost::variant2::get<Tensor>(o[0]).to_f64(), b = boost::variant2::get<Tensor>(o[1]).to_f64();
      double s = 0;
      for (int i = 0; i < 32; ++i) s += a[static_cast<std::size_t>(i)] * b[static_cast<std::size_t>(32 + i)];  // q at pq, k at pk
      return s;
    };
    EXPECT_NEAR(score(5, 3), score(40, 38), 2e-4) << style;
    EXPECT_NEAR(score(9, 9), score(0, 0), 2e-4) << style;
  }
}

TEST(RopeCosSin, PlainFrequenciesAndLayout) {
  const std::vector<float> c = kernels::rope_cos_sin(3, 8, 10000, {});
  for (std::int64_t i = 0; i < 4; ++i) {
    const double inv = std::pow(10000.0, -2.0 * static_cast<double>(i) / 8);
    EXPECT_NEAR(c[static_cast<std::size_t>(2 * 8 + i)], std::cos(2 * inv), 1e-6);
    EXPECT_NEAR(c[static_cast<std::size_t>(2 * 8 + 4 + i)], std::sin(2 * inv), 1e-6);
  }
}

TEST(RopeCosSin, Llama3KeepsHighFrequenciesAndScalesLowOnes) {
  kernels::RopeScaling s;
  s.type = kernels::RopeScaling::kLlama3;
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_positions = 8192;
  const std::vector<float> base = kernels::rope_inv_freq(128, 500000, {}), l3 = kernels::rope_inv_freq(128, 500000, s);
  for (std::size_t i = 0; i < base.size(); ++i) {
    const double wavelen = 2 * std::numbers::pi / base[i];
    if (wavelen < 8192.0 / 4) EXPECT_EQ(l3[i], base[i]) << i;
    else if (wavelen > 8192.0) EXPECT_FLOAT_EQ(l3[i], base[i] / 8) << i;
    else EXPECT_TRUE(l3[i] < base[i] && l3[i] > base[i] / 8) << i;
  }
}

TEST(RopeCosSin, YarnRampsBetweenTheCorrectionDimsAndScalesCosSin) {
  kernels::RopeScaling s;
  s.type = kernels::RopeScaling::kYarn;
  s.factor = 4;
  s.original_max_positions = 4096;
  const std::vector<float> base = kernels::rope_inv_freq(64, 10000, {}), y = kernels::rope_inv_freq(64, 10000, s);
  EXPECT_EQ(y.front(), base.front());              // fastest dims extrapolate
  EXPECT_FLOAT_EQ(y.back(), base.back() / 4);      // slowest interpolate
  EXPECT_NEAR(kernels::rope_attention_factor(s), 0.1 * std::log(4.0) + 1, 1e-12);
  s.mscale = 1;
  s.mscale_all_dim = 1;  // DeepSeek-V3 style: the ratio is 1, the softmax scale carries m²
  EXPECT_DOUBLE_EQ(kernels::rope_attention_factor(s), 1.0);
}

TEST(RopeCosSin, C1_C2_C3_Rejections) {
  EXPECT_EQ(rejection("rope_cos_sin", {SymInt(9), SymInt(7), 10000.0}).constraint, "C1");
  EXPECT_EQ(rejection("rope_cos_sin", {SymInt(9), SymInt(8), 10000.0, std::string("ntk")}).constraint, "C2");
  EXPECT_EQ(rejection("rope_cos_sin", {SymInt(9), SymInt(8), 10000.0}, {{"dtype", DType::kI32}}).constraint, "C3");
  sym::ShapeEnv env;  // a symbolic cache length
  const SymInt P(env.new_symbol("P", "max_position_embeddings", sym::SymbolKind::kConfig));
  EXPECT_EQ(meta_of(fake("rope_cos_sin", env, {P, SymInt(64), 10000.0})).shape_str(), "[P, 64]");
}

TEST(Rotary, opcheck) {
  for (const char* op : {"rotary", "rope_cos_sin"}) {
    const op::OpcheckReport r = op::opcheck(def(op), 12);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

}  // namespace
}  // namespace symtrace::ops
