// cached_attention: the fake with symbolic B, S, past, T (one guard past + S <= T, checked at
// bind), one negative test per constraint, the cache write, every kernel path against the
// reference on awkward sizes, chunked steps equal one prefill, and opcheck. The run through
// exec::Plan states is tests/model/run_kv_cache_test.cpp.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;
namespace v2 = boost::variant2;

TEST(CachedAttention, FakeCarriesBatchAndStepAndGuardsTheCapacity) {
  sym::ShapeEnv env;
  const SymInt B(env.new_symbol("B", "batch")), S(env.new_symbol("S", "new tokens")),
      past(env.new_symbol("past", "cached tokens", sym::SymbolKind::kInputSize, {0, std::nullopt})),
      T(env.new_symbol("T", "cache capacity", sym::SymbolKind::kConfig));
  const auto m = [](SymShape s) { return TensorMeta::contiguous(std::move(s), DType::kF32); };
  const TensorMeta y = meta_of(fake("cached_attention", env,
                                    {m({B, S, 8, 64}), m({B, S, 2, 64}), m({B, S, 2, 32}), m({B, T, 2, 64}),
                                     m({B, T, 2, 32}), past}));
  EXPECT_EQ(y.shape_str(), "[B, S, 8, 32]");
  ASSERT_EQ(env.guards().size(), 1u);
  EXPECT_NE(env.guards()[0].reason.find("past + S <= T"), std::string::npos) << env.guards()[0].reason;
  env.bind({{"B", 2}, {"S", 5}, {"past", 3}, {"T", 8}});  // fits exactly
  try {
    env.bind({{"B", 2}, {"S", 1}, {"past", 8}, {"T", 8}});
    ADD_FAILURE() << "a step past the cache's end must not bind";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "bind");
    EXPECT_NE(std::string(e.what()).find("KV cache"), std::string::npos) << e.what();
  }
}

std::string constraint(std::vector<op::Value> args) { return rejection("cached_attention", std::move(args)).constraint; }

TEST(CachedAttention, C1_RejectsThreeDimQuery) {
  EXPECT_EQ(constraint({meta({3, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}), meta({1, 8, 2, 16}), meta({1, 8, 2, 16}),
                        SymInt(0)}), "C1");
}
TEST(CachedAttention, C2_RejectsCacheOfAnotherHeadDim) {
  EXPECT_EQ(constraint({meta({1, 3, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}), meta({1, 8, 2, 8}),
                        meta({1, 8, 2, 16}), SymInt(0)}), "C2");
}
TEST(CachedAttention, C3_RejectsNewKeysOfAnotherLength) {
  const Rejection r = rejection("cached_attention", {meta({1, 3, 4, 16}), meta({1, 2, 2, 16}), meta({1, 3, 2, 16}),
                                                     meta({1, 8, 2, 16}), meta({1, 8, 2, 16}), SymInt(0)});
  EXPECT_EQ(r.constraint, "C3");
  EXPECT_EQ(r.argument, "k");
}
TEST(CachedAttention, C4_RejectsHeadsThatDoNotGroup) {
  EXPECT_EQ(constraint({meta({1, 3, 6, 16}), meta({1, 3, 4, 16}), meta({1, 3, 4, 16}), meta({1, 8, 4, 16}),
                        meta({1, 8, 4, 16}), SymInt(0)}), "C4");
}
TEST(CachedAttention, C5_RejectsACacheOfAnotherDtype) {
  const Rejection r = rejection("cached_attention", {meta({1, 3, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}),
                                                     meta({1, 8, 2, 16}, DType::kBF16), meta({1, 8, 2, 16}), SymInt(0)});
  EXPECT_EQ(r.constraint, "C5");
  EXPECT_EQ(r.argument, "k_cache");
}
TEST(CachedAttention, C6_RejectsAStepPastTheCachesEnd) {
  const Rejection r = rejection("cached_attention", {meta({1, 3, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}),
                                                     meta({1, 8, 2, 16}), meta({1, 8, 2, 16}), SymInt(6)});
  EXPECT_EQ(r.constraint, "C6");
  EXPECT_EQ(r.argument, "k_cache");
  EXPECT_EQ(constraint({meta({1, 3, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}), meta({1, 8, 2, 16}),
                        meta({1, 8, 2, 16}), SymInt(-1)}), "C6");
}
TEST(CachedAttention, C7_RejectsAnEmptyWindow) {
  EXPECT_EQ(rejection("cached_attention", {meta({1, 3, 4, 16}), meta({1, 3, 2, 16}), meta({1, 3, 2, 16}),
                                           meta({1, 8, 2, 16}), meta({1, 8, 2, 16}), SymInt(0)},
                      {{"window", SymInt(0)}}).constraint, "C7");
}

struct Step {
  Tensor q, k, v;
};
Step step(std::int64_t B, std::int64_t S, std::int64_t Hq, std::int64_t Hkv, std::int64_t D, DType dt, std::uint64_t seed) {
  return {nn::sample_tensor({B, S, Hq, D}, dt, seed), nn::sample_tensor({B, S, Hkv, D}, dt, seed + 1),
          nn::sample_tensor({B, S, Hkv, D}, dt, seed + 2)};
}

Tensor run_kernel(const op::Variant* v, std::vector<op::Value> args) {
  const op::OpDef& d = def("cached_attention");
  const std::vector<op::Value> bound = op::bind_args(d.schema, std::move(args));
  op::HeapAllocator heap(true);
  op::KernelContext cx{heap};
  const op::Outputs o = v ? v->run(op::Args(d.schema, bound), cx) : d.reference(op::Args(d.schema, bound), cx);
  return v2::get<Tensor>(o.at(0));
}

TEST(CachedAttention, WritesTheNewRowsAndLeavesTheOthers) {
  const Step s = step(2, 3, 4, 2, 8, DType::kF32, 1);
  for (const op::Variant* v : {static_cast<const op::Variant*>(nullptr), &def("cached_attention").variants[0],
                               &def("cached_attention").variants[1]}) {
    if (v && !op::cpu_supports(v->isa)) continue;
    Tensor kc = Tensor::zeros({2, 10, 2, 8}, DType::kF32), vc = Tensor::zeros({2, 10, 2, 8}, DType::kF32);
    run_kernel(v, {s.q, s.k, s.v, kc, vc, SymInt(4)});
    EXPECT_EQ(kc.narrow(1, 4, 3).to_f64(), s.k.to_f64()) << (v ? v->name : "reference");
    EXPECT_EQ(vc.narrow(1, 4, 3).to_f64(), s.v.to_f64());
    for (std::int64_t row : {0, 3, 7, 9}) EXPECT_EQ(kc.narrow(1, row, 1).to_f64(), std::vector<double>(32, 0.0));
  }
}

// Every path, on awkward sizes: prefill in chunks (S rows at a time) against a cache must equal
// the attention op over the whole sequence; each chunk's output is checked with attention's
// own error bound on the equivalent call.
TEST(CachedAttention, ChunkedStepsEqualOnePrefillOnEveryPath) {
  const op::OpDef& d = def("cached_attention");
  const op::OpDef& att = def("attention");
  struct Case {
    std::int64_t B, L, chunk, Hq, Hkv, D, window;
  };
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (const Case& c : {Case{1, 7, 1, 2, 1, 8, 0}, Case{2, 19, 5, 6, 2, 33, 0}, Case{3, 13, 4, 4, 4, 17, 3},
                          Case{1, 40, 13, 8, 2, 64, 0}})
      for (const char* isa : {"avx512", "avx2", "scalar"}) {
        IsaScope scope(isa);
        const Step full = step(c.B, c.L, c.Hq, c.Hkv, c.D, dt, 100 + static_cast<std::uint64_t>(c.L));
        const op::Value window = c.window ? op::Value(SymInt(c.window)) : op::Value(op::None{});
        const std::vector<op::Value> att_args = op::bind_args(att.schema, {full.q, full.k, full.v, op::None{}, true, window});
        op::HeapAllocator heap;
        op::KernelContext cx{heap};
        const Tensor want = v2::get<Tensor>(att.reference(op::Args(att.schema, att_args), cx).at(0));
        Tensor kc = Tensor::zeros({c.B, c.L + 2, c.Hkv, c.D}, dt), vc = Tensor::zeros({c.B, c.L + 2, c.Hkv, c.D}, dt);
        for (std::int64_t past = 0; past < c.L; past += c.chunk) {
          const std::int64_t S = std::min(c.chunk, c.L - past);
          const std::vector<op::Value> args = op::bind_args(
              d.schema, {full.q.narrow(1, past, S), full.k.narrow(1, past, S), full.v.narrow(1, past, S), kc, vc,
                         SymInt(past), op::None{}, window});
          const Tensor got = v2::get<Tensor>(op::call(d, args).at(0));
          const Tensor ref = want.narrow(1, past, S).contiguous();
          const std::string err = d.tolerance.compare(op::Args(d.schema, args), 0, got, ref);
          EXPECT_TRUE(err.empty()) << fmt::format("{} {} B{} L{} chunk{} past{} Hq{} Hkv{} D{} w{}: {}", isa,
                                                  tensor::name(dt), c.B, c.L, c.chunk, past, c.Hq, c.Hkv, c.D,
                                                  c.window, err);
        }
      }
}

TEST(CachedAttention, EagerCallPicksTheFastPathOnCaches) {
  IsaScope scope("avx512");
  const Step s = step(1, 1, 4, 2, 16, DType::kBF16, 7);
  const Tensor kc = Tensor::zeros({1, 5, 2, 16}, DType::kBF16), vc = Tensor::zeros({1, 5, 2, 16}, DType::kBF16);
  const op::OpDef& d = def("cached_attention");
  const std::vector<op::Value> args = op::bind_args(d.schema, {s.q, s.k, s.v, kc, vc, SymInt(2)});
  const op::Variant* v = op::select_variant(d, op::metas_of(args));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->name, op::cpu_supports(Isa::kAvx512) ? "cached_attention.avx512" : "cached_attention.avx2");
}

TEST(CachedAttention, opcheck) {
  const op::OpcheckReport r = op::opcheck(def("cached_attention"), 5);
  EXPECT_TRUE(r.ok()) << r.str();
  EXPECT_GE(r.samples, 20u);
}

}  // namespace
}  // namespace symtrace::ops
