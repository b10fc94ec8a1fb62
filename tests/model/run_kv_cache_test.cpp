// cached_attention through exec::Plan with the KV caches as persistent states: one graph,
// traced once with symbolic B, S, past and T; a prefill followed by decode steps (rebinding
// `past` and S each step) gives the rows of one full prefill, and a step that would run past
// the cache's end fails at bind naming the guard.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>
#include <symtrace/model/architecture.hpp>
#include <symtrace/model/load_params.hpp>

namespace symtrace::model {
namespace {

using graph::Traced;
using sym::SymInt;
using tensor::DType;
using tensor::Tensor;

constexpr std::int64_t kH = 48, kHq = 6, kHkv = 2, kD = 8, kCapacity = 24;

// x -> q, k, v projections -> cached_attention (states) -> o projection.
struct CachedBlock {
  graph::Graph g;
  explicit CachedBlock(DType dt) {
    graph::Tracer tr(g);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    SymInt past = tr.symbol("past", "tokens already cached", sym::SymbolKind::kInputSize, {0, std::nullopt});
    SymInt T = tr.config("T", kCapacity, "KV cache capacity");
    Traced x = tr.input("x", {B, S, kH}, dt);
    auto proj = [&](const char* name, std::int64_t heads) {
      Traced w = tr.weight(fmt::format("attn.{}.weight", name), {heads * kD, kH}, dt);
      return tr.call("view", {tr.call("linear", {x, w}), std::vector<SymInt>{B, S, heads, kD}});
    };
    auto s = tr.scope("model.layers.0.self_attn");
    Traced q = proj("q_proj", kHq), k = proj("k_proj", kHkv), v = proj("v_proj", kHkv);
    Traced kc = tr.state("model.layers.0.self_attn.k_cache", tensor::TensorMeta::contiguous({B, T, kHkv, kD}, dt));
    Traced vc = tr.state("model.layers.0.self_attn.v_cache", tensor::TensorMeta::contiguous({B, T, kHkv, kD}, dt));
    Traced a = tr.call("cached_attention", {q, k, v, kc, vc, past});
    Traced wo = tr.weight("attn.o_proj.weight", {kH, kHq * kD}, dt);
    tr.output("y", tr.call("linear", {tr.call("view", {a, std::vector<SymInt>{B, S, kHq * kD}}), wo}));
  }
  void load(exec::Plan& plan, DType dt) const {
    std::uint64_t seed = 10;
    for (auto [name, rows] : {std::pair{"attn.q_proj.weight", kHq * kD}, {"attn.k_proj.weight", kHkv * kD},
                              {"attn.v_proj.weight", kHkv * kD}, {"attn.o_proj.weight", kH}}) {
      Tensor w = Tensor::empty({rows, rows == kH ? kHq * kD : kH}, DType::kF32);
      w.fill_random(++seed, -0.3f, 0.3f);
      plan.set_param(name, w.to(dt));
    }
  }
};

Tensor run_step(exec::Plan& plan, const Tensor& x, std::int64_t past) {
  plan.bind({{"B", x.size(0)}, {"S", x.size(1)}, {"past", past}});
  plan.input("x").copy_from(x);
  plan.run({.verify = true});
  return plan.output("y").clone();
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_f64(), y = b.to_f64();
  EXPECT_EQ(x.size(), y.size());
  double m = 0;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

TEST(RunKvCache, PrefillThenDecodeStepsEqualOneFullPrefill) {
  for (DType dt : {DType::kF32, DType::kBF16}) {
    CachedBlock blk(dt);
    ASSERT_EQ(graph::run_pipeline(blk.g), 0u) << graph::render_findings(blk.g);
    const std::int64_t B = 2, L = 13, prompt = 5;
    Tensor x = Tensor::empty({B, L, kH}, DType::kF32);
    x.fill_random(3);
    x = x.to(dt);
    exec::Plan full(blk.g);
    blk.load(full, dt);
    const Tensor want = run_step(full, x, 0);

    exec::Plan steps(blk.g);  // one plan: traced once, rebound per step
    blk.load(steps, dt);
    const Tensor first = run_step(steps, x.narrow(1, 0, prompt).contiguous(), 0);
    // The same prefill rows; a decode step attends over the cache the earlier steps wrote.
    const double tol = dt == DType::kF32 ? 1e-5 : 2e-2;
    EXPECT_LE(max_abs_diff(first, want.narrow(1, 0, prompt)), tol) << tensor::name(dt);
    for (std::int64_t t = prompt; t < L; ++t) {
      const Tensor y = run_step(steps, x.narrow(1, t, 1).contiguous(), t);
      EXPECT_LE(max_abs_diff(y, want.narrow(1, t, 1)), tol) << tensor::name(dt) << " step " << t;
    }
    EXPECT_EQ(steps.value("past"), L - 1);
  }
}

TEST(RunKvCache, AStepPastTheCapacityFailsAtBind) {
  CachedBlock blk(DType::kF32);
  ASSERT_EQ(graph::run_pipeline(blk.g), 0u);
  exec::Plan plan(blk.g);
  blk.load(plan, DType::kF32);
  plan.bind({{"B", 1}, {"S", 4}, {"past", kCapacity - 4}});  // fills the cache exactly
  try {
    plan.bind({{"B", 1}, {"S", 1}, {"past", kCapacity}});
    ADD_FAILURE() << "bind accepted a step past the cache's end";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "bind");
    EXPECT_NE(std::string(e.what()).find("past + S <= T"), std::string::npos) << e.what();
  }
  // A larger capacity is a rebinding of T, not a retrace.
  plan.bind({{"B", 1}, {"S", 1}, {"past", kCapacity}, {"T", 2 * kCapacity}});
  EXPECT_EQ(plan.state("model.layers.0.self_attn.k_cache").size(1), 2 * kCapacity);
}

// The same rule on a real model's KV-cache graph (hf-tiny-llama): the builder states
// past + S <= T as a fact, bind() checks it and names the symbols' origins.
TEST(RunKvCache, ModelGraphRefusesAStepPastTheCapacity) {
  const std::string dir = std::string(SYMTRACE_REFDATA_DIR) + "/hf-tiny-llama";
  const ModelConfig cfg = load_hf_config(dir);
  BuiltModel m = build_model_graph(cfg, build_checkpoint_spec(cfg), {.compute_dtype = DType::kF32, .kv_cache = true});
  ASSERT_EQ(graph::run_pipeline(m.graph), 0u) << graph::render_findings(m.graph);
  exec::Plan plan(m.graph);
  load_params(plan, SafetensorsCheckpoint::open(dir));
  plan.bind({{"B", 1}, {"S", 4}, {"past", 28}, {"T", 32}});
  try {
    plan.bind({{"B", 1}, {"S", 4}, {"past", 30}, {"T", 32}});
    ADD_FAILURE() << "bind accepted 30 + 4 tokens in a cache of 32";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "bind");
    EXPECT_NE(std::string(e.what()).find("KV cache capacity"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace symtrace::model
