// attention and scaled_dot_product_attention: fakes with symbolic B, S, T (prefill and decode
// from one graph), one negative test per constraint, the kernel on every ISA path against the
// f64 reference (GQA, KV-cache views, windows, awkward sizes), and opcheck.
#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/attention/kernels.hpp"
#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(Attention, OneNodeServesPrefillAndDecode) {
  sym::ShapeEnv env;
  const SymInt B(env.new_symbol("B", "batch")), S(env.new_symbol("S", "new tokens")),
      past(env.new_symbol("past", "cached tokens", sym::SymbolKind::kInputSize, {0, std::nullopt}));
  const SymInt T = S + past;
  const TensorMeta q = TensorMeta::contiguous({B, S, SymInt(32), SymInt(128)}, DType::kBF16);
  const TensorMeta k = TensorMeta::contiguous({B, T, SymInt(8), SymInt(128)}, DType::kBF16);
  const TensorMeta y = meta_of(fake("attention", env, {q, k, k}));
  EXPECT_EQ(y.shape_str(), "[B, S, 32, 128]");
  EXPECT_TRUE(env.guards().empty()) << env.guards()[0].reason;  // S <= S + past is proven
}

TEST(Attention, C1_RejectsThreeDimQuery) {
  const Rejection r = rejection("attention", {meta({3, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C1");
}

TEST(Attention, C2_RejectsHeadDimMismatch) {
  EXPECT_EQ(rejection("attention", {meta({1, 3, 4, 16}), meta({1, 3, 2, 8}), meta({1, 3, 2, 16})}).constraint, "C2");
}

TEST(Attention, C3_RejectsKeysAndValuesOfDifferentLength) {
  const Rejection r = rejection("attention", {meta({1, 3, 4, 16}), meta({1, 5, 2, 16}), meta({1, 4, 2, 16})});
  EXPECT_EQ(r.constraint, "C3");
  EXPECT_EQ(r.argument, "v");
}

TEST(Attention, C4_RejectsHeadsThatDoNotGroup) {
  const Rejection r = rejection("attention", {meta({1, 3, 6, 16}), meta({1, 3, 4, 16}), meta({1, 3, 4, 16})});
  EXPECT_EQ(r.constraint, "C4");
  sym::ShapeEnv env;  // symbolic heads: a guard
  fake("attention", env, {sym_meta(env, {1, 3, "Hq", 16}), sym_meta(env, {1, 3, "Hkv", 16}), sym_meta(env, {1, 3, "Hkv", 16})});
  ASSERT_FALSE(env.guards().empty());
}

TEST(Attention, C5_RejectsMixedDtypes) {
  EXPECT_EQ(rejection("attention", {meta({1, 3, 4, 16}), meta({1, 3, 2, 16}, DType::kBF16), meta({1, 3, 2, 16})}).constraint, "C5");
}

TEST(Attention, C6_RejectsMoreQueriesThanKeys) {
  EXPECT_EQ(rejection("attention", {meta({1, 5, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16})}).constraint, "C6");
  // Non-causal attention may have S > T.
  EXPECT_EQ(rejection("attention", {meta({1, 5, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}), op::None{}, false}).code, "");
}

TEST(Attention, C7_RejectsNonCausalWindow) {
  EXPECT_EQ(rejection("attention", {meta({1, 3, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}), op::None{}, false,
                                    SymInt(4)}).constraint, "C7");
}

// The kernel on every ISA path against the reference (via opcheck's compare) on a KV-cache
// layout: k and v are views into a larger cache, q comes from a [B, S, Hq·D] projection.
// Decode rows (S = 1) take the grouped P·V on AVX-512.
TEST(AttentionKernels, EveryPathOnCacheViews) {
  const op::OpDef& d = def("attention");
  std::uint64_t seed = 300;
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (auto [S, T, Hq, Hkv, D] : std::vector<std::array<std::int64_t, 5>>{
             {1, 1, 2, 1, 8}, {1, 129, 8, 2, 64}, {17, 17, 4, 4, 17}, {5, 40, 6, 2, 128}, {33, 33, 2, 1, 80},
             // decode with GQA groups of 8, 10 (8 + 2) and 7 heads, head dims off the 16-lane grid
             {1, 70, 16, 2, 40}, {1, 33, 20, 2, 24}, {1, 9, 7, 1, 80}})
      for (std::int64_t window : {0, 7}) {
        const Tensor kc = nn::sample_tensor({2, T + 5, Hkv, D}, dt, ++seed), vc = nn::sample_tensor({2, T + 5, Hkv, D}, dt, ++seed);
        const std::vector<op::Value> args = op::bind_args(
            d.schema, {nn::sample_tensor({2, S, Hq, D}, dt, ++seed), kc.narrow(1, 0, T), vc.narrow(1, 0, T), op::None{},
                       true, window ? op::Value(SymInt(window)) : op::Value(op::None{})});
        op::HeapAllocator heap(true);
        op::KernelContext cx{heap};
        const Tensor ref = boost::variant2::get<Tensor>(d.reference(op::Args(d.schema, args), cx)[0]);
        for (const op::Variant& v : d.variants) {
          if (!op::cpu_supports(v.isa)) continue;
          const Tensor got = boost::variant2::get<Tensor>(v.run(op::Args(d.schema, args), cx)[0]);
          const std::string err = d.tolerance.compare(op::Args(d.schema, args), 0, got, ref);
          EXPECT_TRUE(err.empty()) << fmt::format("{} {} S{} T{} Hq{} Hkv{} D{} w{}: {}", v.name, tensor::name(dt), S, T,
                                                  Hq, Hkv, D, window, err);
        }
      }
}

TEST(AttentionKernels, ScalarPathOfTheEntryPoint) {
  // The plain entry point on the scalar ISA (no variant pins it): decode against 9 keys.
  const Tensor q = nn::sample_tensor({1, 1, 2, 8}, DType::kF32, 1), k = nn::sample_tensor({1, 9, 1, 8}, DType::kF32, 2),
               v = nn::sample_tensor({1, 9, 1, 8}, DType::kF32, 3);
  Tensor out = Tensor::empty({1, 1, 2, 8}, DType::kF32);
  kernels::Attention a{.B = 1, .S = 1, .T = 9, .Hq = 2, .Hkv = 1, .D = 8, .Dv = 8, .q = q.data_ptr(), .k = k.data_ptr(),
                       .v = v.data_ptr(), .out = out.data_ptr(), .q_stride = {16, 16, 8, 1}, .k_stride = {72, 8, 8, 1},
                       .v_stride = {72, 8, 8, 1}, .out_stride = {16, 16, 8, 1}, .dtype = DType::kF32,
                       .scale = 1 / std::sqrt(8.f), .causal = true, .q_offset = 8, .window = 0};
  {
    IsaScope scalar("scalar");
    kernels::attention(a, tensor::best_isa());
  }
  const op::Outputs ref = op::call(def("attention"), {q, k, v});
  const std::vector<double> r = boost::variant2::get<Tensor>(ref[0]).to_f64(), g = out.to_f64();
  for (std::size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(g[i], r[i], 1e-5);
}

TEST(Sdpa, FakeFollowsPyTorch) {
  sym::ShapeEnv env;
  EXPECT_EQ(meta_of(fake("scaled_dot_product_attention", env, {meta({2, 8, 5, 64}), meta({2, 8, 7, 64}), meta({2, 8, 7, 32})})).shape_str(),
            "[2, 8, 5, 32]");
  EXPECT_EQ(meta_of(fake("scaled_dot_product_attention", env, {meta({2, 8, 5, 64}), meta({1, 8, 7, 64}), meta({1, 8, 7, 64})})).shape_str(),
            "[2, 8, 5, 64]");
  EXPECT_EQ(meta_of(fake("scaled_dot_product_attention", env, {meta({5, 64}), meta({7, 64}), meta({7, 32})})).shape_str(), "[5, 32]");
  EXPECT_EQ(rejection("scaled_dot_product_attention", {meta({2, 8, 5, 64}), meta({2, 2, 7, 64}), meta({2, 2, 7, 64})},
                      {{"enable_gqa", true}}).code, "");
}

TEST(Sdpa, ConstraintsOneByOne) {
  const auto c = [](std::vector<op::Value> args, std::vector<std::pair<std::string, op::Value>> named = {}) {
    return rejection("scaled_dot_product_attention", std::move(args), named).constraint;
  };
  EXPECT_EQ(c({meta({64}), meta({64}), meta({64})}), "C1");
  EXPECT_EQ(c({meta({2, 8, 5, 64}, DType::kBF16), meta({2, 8, 7, 64}), meta({2, 8, 7, 64})}), "C2");
  EXPECT_EQ(c({meta({2, 8, 5, 64}), meta({2, 8, 7, 32}), meta({2, 8, 7, 32})}), "C3");
  EXPECT_EQ(c({meta({2, 6, 5, 64}), meta({2, 4, 7, 64}), meta({2, 4, 7, 64})}, {{"enable_gqa", true}}), "C4");
  EXPECT_EQ(c({meta({2, 8, 5, 64}), meta({2, 2, 7, 64}), meta({2, 2, 7, 64})}), "C5");
  EXPECT_EQ(c({meta({2, 8, 5, 64}), meta({2, 8, 7, 64}), meta({2, 8, 7, 64}), meta({6, 7}, DType::kBool)}), "C6");
  EXPECT_EQ(c({meta({2, 8, 5, 64}), meta({2, 8, 7, 64}), meta({2, 8, 7, 64}), meta({5, 7}, DType::kBool)},
              {{"is_causal", true}}), "C6");
  EXPECT_EQ(c({meta({2, 8, 5, 64}), meta({2, 8, 7, 64}), meta({2, 8, 7, 64})}, {{"dropout_p", 0.1}}), "C7");
}

TEST(Sdpa, CausalIsTopLeftWhileAttentionIsBottomRight) {
  // One query, three keys: sdpa's query 0 sees key 0 only; attention's sees all three.
  const Tensor q = nn::sample_tensor({1, 1, 1, 4}, DType::kF32, 7), k = nn::sample_tensor({1, 1, 3, 4}, DType::kF32, 8),
               v = nn::sample_tensor({1, 1, 3, 4}, DType::kF32, 9);
  const op::Outputs s = op::call(def("scaled_dot_product_attention"), {q, k, v, op::None{}, 0.0, true});
  EXPECT_EQ(boost::variant2::get<Tensor>(s[0]).to_f64(), v.narrow(2, 0, 1).contiguous().to_f64());
  const op::Outputs a = op::call(def("attention"), {q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)});
  const op::Outputs full = op::call(def("scaled_dot_product_attention"), {q, k, v});
  const std::vector<double> x = boost::variant2::get<Tensor>(a[0]).to_f64(), y = boost::variant2::get<Tensor>(full[0]).to_f64();
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], 1e-6);
}

TEST(Attention, opcheck) {
  for (const char* op : {"attention", "scaled_dot_product_attention"}) {
    const op::OpcheckReport r = op::opcheck(def(op), 11);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

}  // namespace
}  // namespace symtrace::ops
