// The executor on the built-in registry: an embedding + RMSNorm + gated MLP decoder stack
// traced with the typed wrappers (graph/ops.hpp), run through a Plan with the fast
// variants selection picked, and compared with eager op::call of the same ops.
#include <gtest/gtest.h>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/ops.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/ops.hpp>

namespace symtrace::exec {
namespace {

namespace v2 = boost::variant2;
using graph::Traced;
using sym::SymInt;
using tensor::DType;
using tensor::TensorMeta;

constexpr std::int64_t kVocab = 50, kH = 32, kI = 48, kLayers = 2;

Tensor eager(std::string_view op, std::vector<op::Value> args) {
  return v2::get<Tensor>(op::call(ops::registry().get(op), std::move(args)).at(0));
}

Tensor random(tensor::Shape s, std::uint64_t seed, float scale = .3f) {
  Tensor t = Tensor::empty(std::move(s), DType::kF32);
  t.fill_random(seed, -scale, scale);
  return t;
}

struct Weights {
  Tensor table = random({kVocab, kH}, 1, 1.f);
  std::vector<Tensor> norm, gate_up, down;
  Weights() {
    for (int l = 0; l < kLayers; ++l) {
      norm.push_back(random({kH}, 10 + l, 1.f));
      gate_up.push_back(random({2 * kI, kH}, 20 + l));
      down.push_back(random({kH, kI}, 30 + l));
    }
  }
};

TEST(PlanBuiltin, DecoderStackMatchesEagerOpCalls) {
  graph::Graph g;
  {
    graph::Tracer tr(g);  // the built-in registry
    SymInt B = tr.symbol("B", "input ids dim 0"), S = tr.symbol("S", "input ids dim 1");
    SymInt H = tr.config("H", kH, "config.hidden_size");
    SymInt I = tr.config("I", kI, "config.intermediate_size");
    Traced ids = tr.input("ids", {B, S}, DType::kI64);
    Traced table = tr.parameter("embed_tokens.weight", TensorMeta::contiguous({kVocab, H}, DType::kF32));
    Traced x = graph::embedding(ids, table);
    for (int l = 0; l < kLayers; ++l) {
      const std::string p = "layers." + std::to_string(l);
      auto scope = tr.scope("model." + p + ".mlp");
      Traced norm = tr.parameter(p + ".norm", TensorMeta::contiguous({H}, DType::kF32));
      Traced gu = tr.weight(p + ".gate_up_proj.weight", {2 * I, H}, DType::kF32);
      Traced dn = tr.weight(p + ".down_proj.weight", {H, I}, DType::kF32);
      Traced h = graph::rms_norm(x, norm, 1e-6);
      x = graph::add(x, graph::linear(graph::silu_and_mul(graph::linear(h, gu)), dn));
    }
    tr.output("hidden", graph::view(x, {B * S, H}));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  EXPECT_EQ(g.count(diag::Severity::kWarning), 0u) << graph::render_findings(g);
  EXPECT_EQ(g.meta(g.node(*g.find(graph::NodeKind::kOutput, "hidden")).inputs[0].value).shape_str(),
            "[B*S, H]");

  Plan plan(g);
  const Weights w;
  plan.set_param("embed_tokens.weight", w.table);
  for (int l = 0; l < kLayers; ++l) {
    const std::string p = "layers." + std::to_string(l);
    plan.set_param(p + ".norm", w.norm[l]);
    plan.set_param(p + ".gate_up_proj.weight", w.gate_up[l]);
    plan.set_param(p + ".down_proj.weight", w.down[l]);
  }
  for (auto [B, S] : {std::pair{2, 3}, std::pair{1, 9}}) {
    Tensor ids = Tensor::empty({B, S}, DType::kI64);
    ids.fill_random(static_cast<std::uint64_t>(B * 7 + S), 0.f, float(kVocab - 1));
    Tensor got = plan.run(std::span<const Tensor>(&ids, 1), {.verify = true})[0];

    Tensor x = eager("embedding", {ids, w.table});
    for (int l = 0; l < kLayers; ++l) {
      Tensor h = eager("rms_norm", {x, w.norm[l], 1e-6});
      x = eager("add", {x, eager("linear", {eager("silu_and_mul", {eager("linear", {h, w.gate_up[l]})}),
                                            w.down[l]})});
    }
    Tensor want = eager("view", {x, std::vector<SymInt>{B * S, kH}});
    ASSERT_EQ(got.sizes(), want.sizes());
    std::vector<double> a = got.to_f64(), b = want.to_f64();
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
    EXPECT_EQ(diff, 0.0) << "B=" << B << " S=" << S;  // the same kernels on the same data
  }
}

}  // namespace
}  // namespace symtrace::exec
