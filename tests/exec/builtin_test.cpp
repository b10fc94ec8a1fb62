// The executor on the built-in registry: a small Llama-style decoder (embedding, two layers
// of rotary attention + gated MLP, final norm, lm_head) written once as a template, traced
// and run through a Plan with the fast variants selection picked, and called eagerly op by
// op with op::call on the same tensors. Both paths run the same kernels: results are equal.
#include <cmath>

#include <gtest/gtest.h>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/ops.hpp>

#include "tests/exec/backends.hpp"

namespace symtrace::exec {
namespace {

using sym::SymInt;
using tensor::DType;
using tensor::TensorMeta;

struct Dims {
  std::int64_t vocab = 50, H = 64, Hq = 4, Hkv = 2, D = 16, I = 96, layers = 2, P = 64;
};

template <class T>
struct Layer {
  T attn_norm, q, k, v, o, mlp_norm, gate_up, down;
};

template <class T>
struct Weights {
  T table, cos_sin, final_norm, lm_head;
  std::vector<Layer<T>> layers;
};

template <class Backend>
typename Backend::T decoder(Backend& b, typename Backend::T ids, typename Backend::T pos,
                            const Weights<typename Backend::T>& w, SymInt B, SymInt S,
                            const Dims& d) {
  using T = typename Backend::T;
  T x = b.call("embedding", {ids, w.table});
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const Layer<T>& L = w.layers[l];
    [[maybe_unused]] auto layer = b.scope("model.layers." + std::to_string(l));
    T n = b.call("rms_norm", {x, L.attn_norm, 1e-5});
    T q = b.call("view", {b.call("linear", {n, L.q}), std::vector<SymInt>{B, S, d.Hq, d.D}});
    T k = b.call("view", {b.call("linear", {n, L.k}), std::vector<SymInt>{B, S, d.Hkv, d.D}});
    T v = b.call("view", {b.call("linear", {n, L.v}), std::vector<SymInt>{B, S, d.Hkv, d.D}});
    std::vector<T> qk = b.call_all("rotary", {q, k, pos, w.cos_sin, std::string("neox"), SymInt(d.D)});
    T a = b.call("attention", {qk[0], qk[1], v, 1.0 / std::sqrt(double(d.D)), true});
    x = b.call("add", {x, b.call("linear", {b.call("view", {a, std::vector<SymInt>{B, S, d.Hq * d.D}}), L.o})});
    T m = b.call("rms_norm", {x, L.mlp_norm, 1e-5});
    x = b.call("add", {x, b.call("linear", {b.call("silu_and_mul", {b.call("linear", {m, L.gate_up})}), L.down})});
  }
  return b.call("linear", {b.call("rms_norm", {x, w.final_norm, 1e-5}), w.lm_head});
}

Tensor random(tensor::Shape s, std::uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(std::move(s), DType::kF32);
  t.fill_random(seed, lo, hi);
  return t;
}

TEST(PlanBuiltin, SmallDecoderMatchesEagerOpCalls) {
  const Dims d;
  const op::Registry& reg = ops::registry();
  graph::Graph g;
  {
    graph::Tracer tr(g);
    SymInt B = tr.symbol("B", "input ids dim 0"), S = tr.symbol("S", "input ids dim 1");
    SymInt H = tr.config("H", d.H, "config.hidden_size");
    SymInt I = tr.config("I", d.I, "config.intermediate_size");
    auto meta = [](tensor::SymShape s) { return TensorMeta::contiguous(std::move(s), DType::kF32); };
    Weights<graph::Traced> w{tr.parameter("embed_tokens.weight", meta({d.vocab, H})),
                             tr.parameter("rope.cos_sin", meta({d.P, d.D})),
                             tr.parameter("norm.weight", meta({H})),
                             tr.weight("lm_head.weight", {d.vocab, H}, DType::kF32),
                             {}};
    for (std::int64_t l = 0; l < d.layers; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      auto wt = [&](const char* n, tensor::SymShape s) { return tr.weight(p + n, std::move(s), DType::kF32); };
      w.layers.push_back({tr.parameter(p + "input_layernorm.weight", meta({H})),
                          wt("q_proj.weight", {d.Hq * d.D, H}), wt("k_proj.weight", {d.Hkv * d.D, H}),
                          wt("v_proj.weight", {d.Hkv * d.D, H}), wt("o_proj.weight", {H, d.Hq * d.D}),
                          tr.parameter(p + "post_attention_layernorm.weight", meta({H})),
                          wt("gate_up_proj.weight", {2 * I, H}), wt("down_proj.weight", {H, I})});
    }
    graph::Traced ids = tr.input("ids", {B, S}, DType::kI64);
    graph::Traced pos = tr.input("positions", {B, S}, DType::kI64);
    testing::TraceBackend tb{tr};
    tr.output("logits", decoder(tb, ids, pos, w, B, S, d));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  EXPECT_EQ(g.count(diag::Severity::kWarning), 0u) << graph::render_findings(g);

  // Real weights, bound to the plan by the traced parameter names.
  Weights<Tensor> w{random({d.vocab, d.H}, 1, -1, 1),
                    boost::variant2::get<Tensor>(op::call(reg.get("rope_cos_sin"), {SymInt(d.P), SymInt(d.D), 10000.0})[0]),
                    random({d.H}, 2, .9f, 1.1f), random({d.vocab, d.H}, 3, -.2f, .2f), {}};
  Plan plan(g);
  plan.set_param("embed_tokens.weight", w.table);
  plan.set_param("rope.cos_sin", w.cos_sin);
  plan.set_param("norm.weight", w.final_norm);
  plan.set_param("lm_head.weight", w.lm_head);
  for (std::int64_t l = 0; l < d.layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const std::uint64_t s = 10 * static_cast<std::uint64_t>(l + 1);
    Layer<Tensor> L{random({d.H}, s, .9f, 1.1f), random({d.Hq * d.D, d.H}, s + 1, -.2f, .2f),
                    random({d.Hkv * d.D, d.H}, s + 2, -.2f, .2f), random({d.Hkv * d.D, d.H}, s + 3, -.2f, .2f),
                    random({d.H, d.Hq * d.D}, s + 4, -.2f, .2f), random({d.H}, s + 5, .9f, 1.1f),
                    random({2 * d.I, d.H}, s + 6, -.2f, .2f), random({d.H, d.I}, s + 7, -.2f, .2f)};
    const char* names[] = {"input_layernorm.weight", "q_proj.weight", "k_proj.weight", "v_proj.weight",
                           "o_proj.weight", "post_attention_layernorm.weight", "gate_up_proj.weight",
                           "down_proj.weight"};
    const Tensor* ts[] = {&L.attn_norm, &L.q, &L.k, &L.v, &L.o, &L.mlp_norm, &L.gate_up, &L.down};
    for (int i = 0; i < 8; ++i) plan.set_param(p + names[i], *ts[i]);
    w.layers.push_back(std::move(L));
  }

  testing::EagerBackend eager{reg};
  for (auto [B, S] : {std::pair{2, 7}, std::pair{1, 1}, std::pair{3, 12}}) {
    Tensor ids = Tensor::empty({B, S}, DType::kI64), pos = Tensor::empty({B, S}, DType::kI64);
    ids.fill_random(static_cast<std::uint64_t>(B * 31 + S), 0.f, float(d.vocab - 1));
    std::vector<float> p;
    for (int b = 0; b < B; ++b)
      for (int s = 0; s < S; ++s) p.push_back(float(s));
    pos.copy_from(Tensor::from_f32({B, S}, p));
    Tensor got = plan.run(std::vector<Tensor>{ids, pos}, {.verify = true})[0];
    Tensor want = decoder(eager, ids, pos, w, B, S, d);
    ASSERT_EQ(got.sizes(), want.sizes());
    std::vector<double> a = got.to_f64(), e = want.to_f64();
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - e[i]));
    EXPECT_EQ(diff, 0.0) << "B=" << B << " S=" << S;
  }
}

// Dtype conversions keep their input's dense layout (preserve_format): through a Plan the
// kernel must take the slice laid out from the fake, for a row-major input (lm_head's bf16
// logits -> f32) and for a transposed one.
TEST(PlanBuiltin, ToKeepsDenseLayoutsInThePlannedSlice) {
  graph::Graph g;
  {
    graph::Tracer tr(g);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    graph::Traced x = tr.input("x", {B, S}, DType::kBF16);
    tr.output("rowmajor", tr.call("to", {x, DType::kF32}));
    tr.output("transposed", tr.call("to", {tr.call("transpose", {x, 0, 1}), DType::kF32}));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  Plan plan(g);
  Tensor x = random({3, 5}, 7, -4, 4).to(DType::kBF16);
  const std::vector<Tensor> out = plan.run(std::vector<Tensor>{x}, {.verify = true});
  const std::vector<float> xs = x.to_f32();
  EXPECT_EQ(out[0].to_f32(), xs);
  ASSERT_EQ(out[1].sizes(), (tensor::Shape{5, 3}));
  EXPECT_EQ(out[1].strides(), (tensor::Shape{1, 5}));  // x's transposed strides, kept
  const std::vector<float> ts = out[1].to_f32();       // logical order
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(ts[static_cast<std::size_t>(j * 3 + i)], xs[static_cast<std::size_t>(i * 5 + j)]);
}

// `contiguous` of a column slice is a copy for most sizes, so the plan gives it a slice of its
// own; at B*S == 1 the real op returns its input (already contiguous) and the plan must still
// see the values in its slice.
TEST(PlanBuiltin, ContiguousThatAliasesAtRunTimeFillsItsPlannedSlice) {
  graph::Graph g;
  {
    graph::Tracer tr(g);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    graph::Traced x = tr.input("x", {B, S, 6}, DType::kF32);
    std::vector<graph::Traced> parts = tr.call_all("split_with_sizes", {x, std::vector<SymInt>{4, 2}, -1});
    tr.output("left", tr.call("mul", {tr.call("contiguous", {parts[0]}), tr.call("contiguous", {parts[0]})}));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  Plan plan(g);
  for (auto [B, S] : {std::pair{2, 3}, std::pair{1, 1}}) {
    Tensor x = random({B, S, 6}, 11, -2, 2);
    for (bool verify : {false, true}) {
      const std::vector<float> got = plan.run(std::vector<Tensor>{x}, {.verify = verify})[0].to_f32();
      const std::vector<float> xs = x.to_f32();
      ASSERT_EQ(got.size(), static_cast<std::size_t>(B * S * 4));
      for (std::int64_t r = 0; r < B * S; ++r)
        for (std::int64_t c = 0; c < 4; ++c)
          EXPECT_EQ(got[static_cast<std::size_t>(r * 4 + c)], xs[static_cast<std::size_t>(r * 6 + c)] * xs[static_cast<std::size_t>(r * 6 + c)])
              << "B=" << B << " S=" << S << " verify=" << verify;
    }
  }
}

}  // namespace
}  // namespace symtrace::exec
