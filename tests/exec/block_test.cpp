// The executor against eager op-by-op execution: a transformer block (attention + MLP)
// written once as a template, traced into a graph and run through a Plan, and called
// eagerly op by op on the same tensors. Also prepared weights, rebinding and timings.
#include <gtest/gtest.h>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>

#include "tests/exec/backends.hpp"
#include "tests/graph/qlinear_ops.hpp"

namespace symtrace::exec {
namespace {

namespace v2 = boost::variant2;
using graph::Traced;
using sym::SymInt;
using tensor::DType;

using testing::EagerBackend;
using testing::TraceBackend;

template <class T>
struct BlockWeights {
  T norm1, wq, wk, wv, wo, norm2, gate_up, down;
};

struct Dims {
  std::int64_t H = 32, Hq = 4, Hkv = 2, D = 8, I = 48;
};

template <class Backend>
typename Backend::T block(Backend& b, typename Backend::T x,
                          const BlockWeights<typename Backend::T>& w, SymInt B, SymInt S,
                          const Dims& d) {
  using T = typename Backend::T;
  T x1;
  {
    [[maybe_unused]] auto attn = b.scope("self_attn");
    T h = b.call("rms_norm", {x, w.norm1, 1e-6});
    T q = b.call("view", {b.call("linear", {h, w.wq}), std::vector<SymInt>{B, S, d.Hq, d.D}});
    T k = b.call("view", {b.call("linear", {h, w.wk}), std::vector<SymInt>{B, S, d.Hkv, d.D}});
    T v = b.call("view", {b.call("linear", {h, w.wv}), std::vector<SymInt>{B, S, d.Hkv, d.D}});
    T a = b.call("view", {b.call("attention", {q, k, v}), std::vector<SymInt>{B, S, d.Hq * d.D}});
    x1 = b.call("add", {x, b.call("linear", {a, w.wo})});
  }
  [[maybe_unused]] auto mlp = b.scope("mlp");
  T h2 = b.call("rms_norm", {x1, w.norm2, 1e-6});
  T m = b.call("silu_mul", {b.call("linear", {h2, w.gate_up})});
  return b.call("add", {x1, b.call("linear", {m, w.down})});
}

BlockWeights<Tensor> random_weights(const Dims& d) {
  auto t = [](tensor::Shape s, std::uint64_t seed, float scale) {
    Tensor x = Tensor::empty(std::move(s), DType::kF32);
    x.fill_random(seed, -scale, scale);
    return x;
  };
  return {t({d.H}, 1, 1.f),  t({d.Hq * d.D, d.H}, 2, .3f), t({d.Hkv * d.D, d.H}, 3, .3f),
          t({d.Hkv * d.D, d.H}, 4, .3f), t({d.H, d.Hq * d.D}, 5, .3f), t({d.H}, 6, 1.f),
          t({2 * d.I, d.H}, 7, .3f), t({d.H, d.I}, 8, .3f)};
}

double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  std::vector<double> x = a.to_f64(), y = b.to_f64();
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

struct TracedBlock {
  op::Registry reg = toy::basic_registry();
  graph::Graph g;
  Dims d;

  TracedBlock() {
    graph::Tracer tr(g, reg);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    SymInt H = tr.config("H", d.H, "config.hidden_size");
    Traced x = tr.input("x", {B, S, H}, DType::kF32);
    auto p = [&](const char* name, graph::SymShape s) { return tr.parameter(name, tensor::TensorMeta::contiguous(s, DType::kF32)); };
    BlockWeights<Traced> w{p("norm1", {H}),
                           tr.weight("wq", {d.Hq * d.D, H}, DType::kF32),
                           tr.weight("wk", {d.Hkv * d.D, H}, DType::kF32),
                           tr.weight("wv", {d.Hkv * d.D, H}, DType::kF32),
                           tr.weight("wo", {H, d.Hq * d.D}, DType::kF32),
                           p("norm2", {H}),
                           tr.weight("gate_up", {2 * d.I, H}, DType::kF32),
                           tr.weight("down", {H, d.I}, DType::kF32)};
    TraceBackend tb{tr};
    auto s = tr.scope("model.layers.0");
    tr.output("y", block(tb, x, w, B, S, d));
  }
  void load(Plan& plan, const BlockWeights<Tensor>& w) const {
    const char* names[] = {"norm1", "wq", "wk", "wv", "wo", "norm2", "gate_up", "down"};
    const Tensor* ts[] = {&w.norm1, &w.wq, &w.wk, &w.wv, &w.wo, &w.norm2, &w.gate_up, &w.down};
    for (int i = 0; i < 8; ++i) plan.set_param(names[i], *ts[i]);
  }
};

TEST(PlanBlock, MatchesEagerOpByOpAcrossRebinds) {
  TracedBlock tb;
  ASSERT_EQ(graph::run_pipeline(tb.g), 0u) << graph::render_findings(tb.g);
  Plan plan(tb.g);
  const BlockWeights<Tensor> w = random_weights(tb.d);
  tb.load(plan, w);
  EagerBackend eager{tb.reg};
  for (auto [B, S] : {std::pair{2, 5}, std::pair{1, 1}, std::pair{3, 7}, std::pair{2, 5}}) {
    Tensor x = Tensor::empty({B, S, tb.d.H}, DType::kF32);
    x.fill_random(static_cast<std::uint64_t>(10 * B + S));
    std::vector<Tensor> out = plan.run(std::span<const Tensor>(&x, 1), {.verify = true});
    ASSERT_EQ(out.size(), 1u);
    const Tensor want = block(eager, x, w, B, S, tb.d);
    EXPECT_EQ(max_diff(out[0], want), 0.0) << "B=" << B << " S=" << S;
    EXPECT_EQ(plan.value("B"), B);
    EXPECT_EQ(plan.value("H"), tb.d.H);  // a config symbol, bound to its traced value
  }
}

TEST(PlanBlock, ArenaIsPlannedOnceAndViewsCostNothing) {
  TracedBlock tb;
  ASSERT_EQ(graph::run_pipeline(tb.g), 0u);
  Plan plan(tb.g);
  tb.load(plan, random_weights(tb.d));
  plan.bind({{"B", 2}, {"S", 5}});
  const graph::MemoryPlan& mp = plan.memory();
  EXPECT_EQ(mp.classes.size(), 1u);  // everything scales with B*S (H planned as 32)
  EXPECT_EQ(mp.classes[0].str(), "B*S");
  const std::size_t big = plan.arena_bytes();
  sym::Bindings b = tb.g.env().bind({{"B", 2}, {"S", 5}, {"H", 32}});
  EXPECT_EQ(static_cast<std::int64_t>(big), tb.g.env().evaluate(mp.arena_bytes, b));
  // On this block the plan meets the lower bound: the largest sum of live buffers.
  EXPECT_EQ(static_cast<std::int64_t>(big),
            mp.max_live_bytes([&](sym::Expr e) { return tb.g.env().evaluate(e, b); }));
  // Views share their base's buffer: fewer buffers than values.
  std::size_t values = 0;
  for (graph::NodeId id : mp.order) values += tb.g.node(id).outputs.size();
  EXPECT_LT(mp.buffers.size(), values + 1);
  plan.input("x").fill(0.5);
  plan.run({.timings = true});
  for (std::size_t i = 0; i < plan.timings().size(); ++i) {
    const NodeTiming& t = plan.timings()[i];
    if (tb.g.node(t.node).op->is_view) EXPECT_EQ(t.ns, 0) << t.label;  // precomputed at bind
    else EXPECT_GT(t.ns, 0) << t.label;
  }
  EXPECT_EQ(plan.timings()[0].kernel, "rms_norm.reference");
  EXPECT_EQ(plan.timings()[0].label, "model.layers.0.self_attn (rms_norm)");
}

TEST(PlanBlock, PreparedWeightsRunThroughTheirPrepareStep) {
  op::Registry reg;
  op::OpDef q = toy::qlinear_op();
  q.variants = {toy::qlinear_kn_variant(toy::KnPrepare::kCorrect)};
  reg.add(std::move(q));
  graph::Graph g;
  {
    graph::Tracer tr(g, reg);
    SymInt B = tr.symbol("B", "input x dim 0");
    Traced x = tr.input("x", {B, 24}, DType::kF32);
    Traced w = tr.weight("w", {40, 24}, DType::kF32);
    Traced s = tr.scale("w_scale", w, {40, 1}, graph::per_channel());
    tr.output("y", tr.call("qlinear", {x, w, s}));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  Plan plan(g);
  Tensor w = Tensor::empty({40, 24}, DType::kF32), s = Tensor::empty({40, 1}, DType::kF32);
  w.fill_random(1);
  s.fill_random(2, 0.5f, 2.f);
  plan.set_param("w", w);
  plan.set_param("w_scale", s);
  Tensor x = Tensor::empty({3, 24}, DType::kF32);
  x.fill_random(3);
  Tensor y = plan.run(std::span<const Tensor>(&x, 1), {.verify = true}, /*copy=*/true)[0];
  // Eagerly the reference reads the checkpoint's NK weight (the KN variant refuses it).
  Tensor want = v2::get<Tensor>(op::call(reg.get("qlinear"), {x, w, s}).at(0));
  EXPECT_LT(max_diff(y, want), 1e-5);
}

// A KV-cache-like state: each run appends its row at `pos` and returns the running sum.
op::OpDef append_op() {
  op::OpDef d;
  d.name = "append";
  d.schema = op::Schema::parse("append(Tensor cache, Tensor x, SymInt pos) -> Tensor");
  d.fake = [](const op::Args& a, op::FakeContext&) -> op::Outputs {
    return {tensor::TensorMeta::contiguous(a.meta("x").sizes, a.meta("x").dtype)};
  };
  d.reference = [](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    Tensor cache = a.tensor("cache");
    const Tensor& x = a.tensor("x");
    const std::int64_t pos = a.int_value("pos"), H = x.size(1);
    float* c = cache.data<float>();
    std::vector<float> xv = x.to_f32(), sum(static_cast<std::size_t>(H), 0.f);
    for (std::int64_t h = 0; h < H; ++h) c[pos * H + h] = xv[h];
    for (std::int64_t r = 0; r <= pos; ++r)
      for (std::int64_t h = 0; h < H; ++h) sum[h] += c[r * H + h];
    Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
    toy::store(out, sum);
    return {out};
  };
  return d;
}

TEST(PlanState, PersistsAcrossRunsAndRebindsOfOtherSymbols) {
  op::Registry reg;
  reg.add(append_op());
  graph::Graph g;
  {
    graph::Tracer tr(g, reg);
    SymInt T = tr.symbol("T_max", "cache capacity"), pos = tr.symbol("pos", "decode step", sym::SymbolKind::kInputSize, {0, std::nullopt});
    Traced cache = tr.state("cache", tensor::TensorMeta::contiguous({T, 4}, DType::kF32));
    Traced x = tr.input("x", {1, 4}, DType::kF32);
    tr.output("sum", tr.call("append", {cache, x, pos}));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  Plan plan(g);
  const std::vector<float> rows[] = {{1, 2, 3, 4}, {10, 20, 30, 40}, {100, 200, 300, 400}};
  for (int step = 0; step < 3; ++step) {
    plan.bind({{"T_max", 8}, {"pos", step}});  // a decode loop: rebind per step
    Tensor x = Tensor::from_f32({1, 4}, rows[step]);
    plan.input("x").copy_from(x);
    plan.run();
    std::vector<float> sum = plan.output("sum").to_f32();
    float want = 0;
    for (int r = 0; r <= step; ++r) want += rows[r][0];
    EXPECT_EQ(sum[0], want) << "step " << step;
  }
  EXPECT_EQ(plan.state("cache").to_f32()[4], 10.f);
  plan.bind({{"T_max", 16}, {"pos", 0}});  // the state's own size changed: it starts over
  EXPECT_EQ(plan.state("cache").to_f32()[4], 0.f);
}

}  // namespace
}  // namespace symtrace::exec
