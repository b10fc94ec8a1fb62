// Routed experts: Mixtral and Qwen3-MoE (softmax top-k) and DeepSeek-V3 (sigmoid scores with
// e_score_correction_bias, group-limited top-k, routed scaling, shared experts).
//
// The checkpoint stores every expert as its own gate/up/down linears, in any format the
// dense linears use, so each expert is traced through ArchBuilder::linear (its tensors keep
// their checkpoint names). Experts run densely — every expert on every token — and are
// combined by a dense [*, E] weight matrix that is zero off the routes; that is exact (HF's
// sum over the routed experts, OPS.md §15.5) at E/k times the expert FLOPs.
#include <array>

#include <fmt/format.h>

#include <symtrace/graph/ops.hpp>

#include "model/arch_layers.hpp"

namespace symtrace::model::detail {

namespace {

using diag::Severity;

// The dense routing matrix [*, E] (f32) from top-k weights w [*, k] (f32) and ids [*, k]:
// dense[t, e] = Σ_j w[t, j] · [ids[t, j] == e]. Built from ops the registry has (it has no
// one_hot, scatter or comparison op): an arange over E (topk of zeros returns indices in
// order, ties going to the lower index, OPS.md §11.6), d = ids − e as an integer made float by
// a scalar product (no `to`), and [d == 0] = exp(−1e4 · d²), which is exactly 1 for d = 0 and
// underflows to exactly 0 for |d| >= 1.
Traced dense_routes(ArchBuilder& b, const Traced& logits, const Traced& w, const Traced& ids,
                    SymInt E) {
  graph::Tracer& tr = b.tr();
  constexpr double kSharp = -1e4;
  Traced zeros = tr.call("mul_scalar", {b.cast(logits, DType::kF32), 0.0});  // [*, E]
  Traced arange = tr.call_all("topk", {zeros, E})[1];                        // [*, E] i64
  Traced d = tr.call("sub", {tr.call("unsqueeze", {ids, -1}),                // [*, k, E] i64
                             tr.call("unsqueeze", {arange, -2})});
  Traced df = tr.call("mul_scalar", {d, 1.0});                               // f32
  Traced hit = tr.call("exp", {tr.call("mul_scalar", {graph::mul(df, df), kSharp})});
  Traced picked = graph::mul(hit, tr.call("unsqueeze", {w, -1}));           // [*, k, E]
  return tr.call("sum", {picked, std::vector<SymInt>{-2}});                  // [*, E]
}

// Σ_e dense[..., e] · expert_e(h) over experts named `<prefix>.<e>.<gate|up|down>`.
Traced experts(ArchBuilder& b, const std::string& prefix, const Traced& h, const Traced& dense,
               SymInt I, std::int64_t count, const std::array<const char*, 3>& names) {
  graph::Tracer& tr = b.tr();
  std::vector<Traced> ys;
  ys.reserve(static_cast<std::size_t>(count));
  for (std::int64_t e = 0; e < count; ++e)
    ys.push_back(gated_mlp_named(b, fmt::format("{}.{}", prefix, e), h, I, names[0], names[1],
                                 names[2]));
  auto scope = tr.scope(prefix);
  Traced Y = tr.call("stack", {ys, -2});                                    // [B, S, E, H]
  Traced d = tr.call("unsqueeze", {b.cast(dense, b.act()), -2});          // [B, S, 1, E]
  Traced out = graph::matmul(d, Y);                                         // [B, S, 1, H]
  return tr.call("squeeze", {out, std::vector<SymInt>{-2}});
}

}  // namespace

Traced moe_block(ArchBuilder& b, const std::string& layer, const Traced& h) {
  const ModelConfig& cfg = b.cfg();
  const MoeConfig& m = *cfg.moe;
  graph::Tracer& tr = b.tr();
  const SymInt H = b.dim(cfg.hidden_size, "H"), E = b.dim(m.num_experts, "E");
  const SymInt I = b.dim(m.intermediate_size, "Im");
  const std::int64_t k = m.top_k.value;
  const bool mixtral = cfg.arch == Architecture::kMixtral;
  const std::string p = layer + (mixtral ? ".block_sparse_moe" : ".mlp");
  const std::array<const char*, 3> names =
      mixtral ? std::array<const char*, 3>{"w1", "w3", "w2"}
              : std::array<const char*, 3>{"gate_proj", "up_proj", "down_proj"};

  if (cfg.arch != Architecture::kDeepseekV3) {
    Traced logits = b.linear(p + ".gate", h, E, H);
    std::vector<Traced> route;
    {
      auto scope = tr.scope(p + ".gate");
      route = tr.call_all("moe_route_softmax", {logits, k, mixtral || m.norm_topk_prob});
    }
    Traced dense;
    {
      auto scope = tr.scope(p + ".gate");
      dense = dense_routes(b, logits, route[0], route[1], E);
    }
    return experts(b, p + ".experts", h, dense, I, m.num_experts.value, names);
  }

  // DeepSeek-V3: the router runs in f32 (HF: F.linear(h.float(), weight.float())).
  if (m.scoring_func != "sigmoid" || m.topk_method != "noaux_tc")
    b.finding("moe-unsupported", Severity::kError, p + ".gate",
              fmt::format("{}: routing scoring_func '{}' / topk_method '{}' is not modelled; "
                          "traced as sigmoid noaux_tc routing", p, m.scoring_func, m.topk_method));
  Traced gw = tr.weight(p + ".gate.weight", {E, H}, b.act());
  Traced bias = b.exact(p + ".gate.e_score_correction_bias", {E}, DType::kF32);
  Traced dense;
  {
    auto scope = tr.scope(p + ".gate");
    Traced logits = graph::linear(b.cast(h, DType::kF32), b.cast(gw, DType::kF32));
    std::vector<Traced> route = tr.call_all(
        "moe_route_grouped_sigmoid",
        {logits, bias, k, m.n_group, m.topk_group, m.norm_topk_prob, m.routed_scaling_factor});
    dense = dense_routes(b, logits, route[0], route[1], E);
  }
  Traced y = experts(b, p + ".experts", h, dense, I, m.num_experts.value, names);
  if (m.n_shared_experts) {
    const SymInt Ns = b.dim(*m.n_shared_experts, "Ns");
    Traced shared = gated_mlp(b, p + ".shared_experts", h, I * Ns);
    auto scope = tr.scope(p);
    y = graph::add(y, shared);
  }
  return y;
}

}  // namespace symtrace::model::detail
