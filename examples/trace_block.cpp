// A transformer block (attention + MLP, Llama style) written once as ordinary C++, traced
// with symbolic batch and sequence, checked, printed, and run on the CPU kernels.
//
//   build/examples/example_trace_block            # prints the graph, kernels, findings, a run
#include <cmath>
#include <cstdio>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/export.hpp>
#include <symtrace/graph/ops.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/ops.hpp>

using namespace symtrace;
using graph::Traced;
using sym::SymInt;
using tensor::DType;
using tensor::Tensor;

struct Config {
  std::int64_t hidden = 256, heads = 8, kv_heads = 2, head_dim = 32, intermediate = 512;
  std::int64_t max_positions = 1024;
  double rope_theta = 10000.0, eps = 1e-5;
};

struct BlockWeights {
  Traced attn_norm, q, k, v, o, mlp_norm, gate_up, down;
};

// One decoder layer: x [B, S, H] -> [B, S, H].
Traced decoder_layer(graph::Tracer& tr, const Config& c, Traced x, Traced positions,
                     Traced cos_sin, const BlockWeights& w, SymInt B, SymInt S) {
  Traced h = x;
  {
    auto scope = tr.scope("self_attn");
    Traced n = graph::rms_norm(x, w.attn_norm, c.eps);
    Traced q = graph::view(graph::linear(n, w.q), {B, S, c.heads, c.head_dim});
    Traced k = graph::view(graph::linear(n, w.k), {B, S, c.kv_heads, c.head_dim});
    Traced v = graph::view(graph::linear(n, w.v), {B, S, c.kv_heads, c.head_dim});
    auto [qr, kr] = graph::rotary(q, k, positions, cos_sin, "neox", c.head_dim);
    Traced a = graph::attention(qr, kr, v, 1.0 / std::sqrt(double(c.head_dim)), 0);
    h = graph::add(x, graph::linear(graph::view(a, {B, S, c.heads * c.head_dim}), w.o));
  }
  auto scope = tr.scope("mlp");
  Traced n = graph::rms_norm(h, w.mlp_norm, c.eps);
  return graph::add(h, graph::linear(graph::silu_and_mul(graph::linear(n, w.gate_up)), w.down));
}

int main() {
  const Config c;
  graph::Graph g;
  {
    graph::Tracer tr(g);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    SymInt H = tr.config("H", c.hidden, "config.hidden_size");
    SymInt I = tr.config("I", c.intermediate, "config.intermediate_size");
    const std::int64_t q_width = c.heads * c.head_dim, kv_width = c.kv_heads * c.head_dim;
    Traced x = tr.input("x", {B, S, H}, DType::kF32);
    Traced positions = tr.input("positions", {B, S}, DType::kI64);
    Traced cos_sin = tr.parameter("rope.cos_sin",
                                  tensor::TensorMeta::contiguous({c.max_positions, c.head_dim}, DType::kF32));
    auto weight = [&](const char* name, tensor::SymShape s) {
      return tr.weight(std::string("layers.0.") + name, std::move(s), DType::kF32);
    };
    auto norm = [&](const char* name) {
      return tr.parameter(std::string("layers.0.") + name, tensor::TensorMeta::contiguous({H}, DType::kF32));
    };
    BlockWeights w{norm("input_layernorm.weight"),   weight("q_proj.weight", {q_width, H}),
                   weight("k_proj.weight", {kv_width, H}), weight("v_proj.weight", {kv_width, H}),
                   weight("o_proj.weight", {H, q_width}), norm("post_attention_layernorm.weight"),
                   weight("gate_up_proj.weight", {2 * I, H}), weight("down_proj.weight", {H, I})};
    auto scope = tr.scope("model.layers.0");
    tr.output("y", decoder_layer(tr, c, x, positions, cos_sin, w, B, S));
  }

  // Check: kernels, prepared weights, findings.
  const std::size_t errors = graph::run_pipeline(g);
  std::printf("== traced graph (%zu nodes)\n%s\n", g.live_size(), graph::dump(g).c_str());
  std::printf("== findings\n%s\n\n", graph::render_findings(g).c_str());
  if (errors) return 1;

  // Run: random weights, two bindings of the same plan.
  exec::Plan plan(g);
  std::uint64_t seed = 1;
  const sym::Bindings config = g.env().bind(g.config_values());  // H and I at their values
  for (graph::NodeId id : g.nodes_of_kind(graph::NodeKind::kParameter)) {
    const std::string name(g.name(id));
    if (name == "rope.cos_sin") {
      plan.set_param(name, boost::variant2::get<Tensor>(op::call(
                               ops::registry().get("rope_cos_sin"),
                               {SymInt(c.max_positions), SymInt(c.head_dim), c.rope_theta})[0]));
      continue;
    }
    const tensor::TensorMeta& m = g.meta({id, 0});
    tensor::Shape sizes;
    for (const SymInt& s : m.sizes) sizes.push_back(g.env().evaluate(s, config));
    Tensor t = Tensor::empty(sizes, DType::kF32);
    const bool is_norm = sizes.size() == 1;
    t.fill_random(seed++, is_norm ? 0.9f : -0.08f, is_norm ? 1.1f : 0.08f);
    plan.set_param(name, t);
  }
  for (auto [B, S] : {std::pair{2, 16}, std::pair{1, 5}}) {
    Tensor x = Tensor::empty({B, S, c.hidden}, DType::kF32), pos = Tensor::empty({B, S}, DType::kI64);
    x.fill_random(42);
    std::vector<float> p;
    for (int b = 0; b < B; ++b)
      for (int s = 0; s < S; ++s) p.push_back(float(s));
    pos.copy_from(Tensor::from_f32({B, S}, p));
    std::vector<Tensor> out = plan.run(std::vector<Tensor>{x, pos}, {.verify = true, .timings = true});
    double sum = 0;
    for (double v : out[0].to_f64()) sum += v * v;
    std::printf("== run B=%d S=%d: y %s, rms %.4f, arena %zu bytes (%s)\n", B, S,
                out[0].meta().shape_str().c_str(), std::sqrt(sum / double(out[0].numel())),
                plan.arena_bytes(), plan.memory().arena_bytes.str().c_str());
  }
  std::printf("== per-node time of the last run\n");
  for (const exec::NodeTiming& t : plan.timings())
    std::printf("  %8.1f us  %-36s %s\n", double(t.ns) / 1e3, t.label.c_str(), t.kernel.c_str());
  return 0;
}
