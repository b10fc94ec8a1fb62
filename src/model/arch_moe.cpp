// Routed experts: Mixtral and Qwen3-MoE (softmax top-k) and DeepSeek-V3 (sigmoid scores with
// e_score_correction_bias, group-limited top-k, routed scaling, shared experts).
//
// The checkpoint stores every expert as its own gate/up/down linears, in any format the
// dense linears use, so each expert is traced through ArchBuilder::linear (its tensors keep
// their checkpoint names). Experts run densely — every expert on every token — and are
// combined by a dense [*, E] weight matrix that is zero off the routes; that is exact (HF's
// sum over the routed experts, OPS.md §15.5) at E/k times the expert FLOPs. With
// BuildOptions::fused_experts (`run`), int8 W8A8 experts instead run as one int8_moe_experts
// call on the routes, NVFP4 W4A16 experts one nvfp4_w4a16_moe call, and unquantized experts
// under f32 compute one moe_experts call, over weights stacked at load (ParamInfo::stacked_from).
#include <array>

#include <fmt/format.h>

#include <symtrace/graph/ops.hpp>

#include "model/arch_layers.hpp"

namespace symtrace::model::detail {

namespace {

using diag::Severity;
using graph::ParamRole;
using tensor::ScaleFormat;
using tensor::TensorMeta;
using tensor::WeightLayout;

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

// Whether every expert linear is int8 W8A8 as int8_moe_experts runs it: symmetric per-channel
// int8 weights with [N, 1] scales, dynamic per-token symmetric activations.
bool int8_w8a8_experts(ArchBuilder& b, const std::string& prefix, std::int64_t count,
                       const std::array<const char*, 3>& names) {
  if (!b.opt().fused_experts || !b.opt().quantize_activations || !b.cfg().quant) return false;
  const std::string scale = std::string(b.cfg().quant->weight_scale_name());
  for (std::int64_t e = 0; e < count; ++e)
    for (const char* name : names) {
      const std::string module = fmt::format("{}.{}.{}", prefix, e, name);
      const LinearSpec* ls = b.spec().linear(module);
      if (ls == nullptr || !ls->quantized || !ls->weights || !ls->input_activations) return false;
      const QuantArgs& w = *ls->weights;
      const QuantArgs& in = *ls->input_activations;
      if (w.storage_dtype() != DType::kI8 || w.strategy != Strategy::kChannel || !w.symmetric) return false;
      if (in.dynamic == Dynamic::kStatic || in.strategy != Strategy::kToken || !in.symmetric) return false;
      const ExpectedTensor* st = b.spec().find(module + "." + scale);
      if (st == nullptr || st->dims.size() != 2) return false;  // Quark's 1-D [N] scales
    }
  return true;
}

// The dtype moe_experts reads unquantized experts in (f32 compute only): the checkpoint's
// 16-bit dtype or f32, the same for every expert linear; nullopt otherwise.
std::optional<DType> float_experts(ArchBuilder& b, const std::string& prefix, std::int64_t count,
                                   const std::array<const char*, 3>& names) {
  if (!b.opt().fused_experts || b.act() != DType::kF32) return std::nullopt;
  std::optional<DType> dt;
  for (std::int64_t e = 0; e < count; ++e)
    for (const char* name : names) {
      const std::string module = fmt::format("{}.{}.{}", prefix, e, name);
      const LinearSpec* ls = b.spec().linear(module);
      if (ls != nullptr && (ls->quantized || b.spec().unchecked(module + ".weight"))) return std::nullopt;
      if (b.spec().find(module + ".bias") != nullptr) return std::nullopt;  // moe_experts has no biases
      const ExpectedTensor* t = b.spec().find(module + ".weight");
      const DType d = t == nullptr ? DType::kF32 : t->dtype;
      if (d != DType::kF32 && d != DType::kBF16 && d != DType::kF16) return std::nullopt;
      if (dt && *dt != d) return std::nullopt;
      dt = d;
    }
  return dt;
}

// Stacked expert parameters: w13 = every expert's gate rows then up rows ([E, 2I, H]), w2 =
// the down projections ([E, H, I]); `suffix` picks the tensor ("weight" or a scale name).
struct Stacked {
  std::vector<std::string> w13, w2;
};
Stacked stacked_names(const std::string& prefix, std::int64_t count, const std::array<const char*, 3>& names,
                      const std::string& suffix) {
  Stacked s;
  for (std::int64_t e = 0; e < count; ++e) {
    const std::string m = fmt::format("{}.{}.", prefix, e);
    for (const char* part : {names[0], names[1]}) s.w13.push_back(m + part + "." + suffix);
    s.w2.push_back(m + names[2] + "." + suffix);
  }
  return s;
}

Traced stacked_weight(ArchBuilder& b, const std::string& name, SymShape sizes, DType dt, std::vector<std::string> from) {
  TensorMeta meta = TensorMeta::contiguous(std::move(sizes), dt);
  meta.layout = WeightLayout::kNK;
  return b.tr().parameter(name, std::move(meta),
                          graph::ParamInfo{.role = graph::ParamRole::kWeight, .stacked_from = std::move(from)});
}

// moe_experts over the stacked unquantized experts.
Traced fused_float_experts(ArchBuilder& b, const std::string& prefix, const Traced& h, const Traced& topk_w,
                           const Traced& topk_ids, SymInt E, SymInt I, std::int64_t count,
                           const std::array<const char*, 3>& names, DType dt) {
  const SymInt H = b.dim(b.cfg().hidden_size, "H");
  Stacked w = stacked_names(prefix, count, names, "weight");
  Traced w13 = stacked_weight(b, prefix + ".w13_weight", {E, 2 * I, H}, dt, std::move(w.w13));
  Traced w2 = stacked_weight(b, prefix + ".w2_weight", {E, H, I}, dt, std::move(w.w2));
  auto scope = b.tr().scope(prefix);
  return b.tr().call("moe_experts", {h, w13, w2, topk_w, topk_ids});
}

// int8_moe_experts over the stacked experts: w13 = every expert's gate rows then up rows.
Traced fused_int8_experts(ArchBuilder& b, const std::string& prefix, const Traced& h,
                          const Traced& topk_w, const Traced& topk_ids, SymInt E, SymInt I,
                          std::int64_t count, const std::array<const char*, 3>& names) {
  graph::Tracer& tr = b.tr();
  const SymInt H = b.dim(b.cfg().hidden_size, "H");
  const std::string scale = std::string(b.cfg().quant->weight_scale_name());
  Stacked w = stacked_names(prefix, count, names, "weight"), s = stacked_names(prefix, count, names, scale);
  const auto scale_of = [&](const std::string& name, const Traced& wt, SymShape sizes, std::vector<std::string> from) {
    graph::ParamInfo info = graph::per_channel();
    info.stacked_from = std::move(from);
    return tr.scale(name, wt, std::move(sizes), info);
  };
  Traced tw13 = stacked_weight(b, prefix + ".w13_weight", {E, 2 * I, H}, DType::kI8, std::move(w.w13));
  Traced ts13 = scale_of(prefix + ".w13_weight_scale", tw13, {E, 2 * I, 1}, std::move(s.w13));
  Traced tw2 = stacked_weight(b, prefix + ".w2_weight", {E, H, I}, DType::kI8, std::move(w.w2));
  Traced ts2 = scale_of(prefix + ".w2_weight_scale", tw2, {E, H, 1}, std::move(s.w2));
  auto scope = tr.scope(prefix);
  return tr.call("int8_moe_experts", {h, tw13, ts13, tw2, ts2, topk_w, topk_ids});
}

// Whether every expert linear is NVFP4 weight-only (compressed-tensors tensor_group, packed
// e2m1 with e4m3 group scales and a global divisor), as nvfp4_w4a16_moe runs it.
bool nvfp4_experts(ArchBuilder& b, const std::string& prefix, std::int64_t count,
                   const std::array<const char*, 3>& names) {
  if (!b.opt().fused_experts || !b.cfg().quant) return false;
  for (std::int64_t e = 0; e < count; ++e)
    for (const char* name : names) {
      const LinearSpec* ls = b.spec().linear(fmt::format("{}.{}.{}", prefix, e, name));
      if (ls == nullptr || !ls->quantized || !ls->weights || ls->input_activations) return false;
      const QuantArgs& w = *ls->weights;
      if (w.storage_dtype() != DType::kF4E2M1X2 || w.strategy != Strategy::kTensorGroup) return false;
    }
  return true;
}

// nvfp4_w4a16_moe over the stacked experts; gate and up keep their own global scales
// (w13_weight_global_scale [E, 2]), which the kernel takes as multipliers 1 / g.
Traced fused_nvfp4_experts(ArchBuilder& b, const std::string& prefix, const Traced& h, const Traced& topk_w,
                           const Traced& topk_ids, SymInt E, SymInt I, std::int64_t count,
                           const std::array<const char*, 3>& names) {
  graph::Tracer& tr = b.tr();
  const SymInt H = b.dim(b.cfg().hidden_size, "H");
  Stacked w = stacked_names(prefix, count, names, "weight_packed");
  Stacked s = stacked_names(prefix, count, names, "weight_scale");
  Stacked g = stacked_names(prefix, count, names, "weight_global_scale");
  const auto with = [](graph::ParamInfo info, std::vector<std::string> from) {
    info.stacked_from = std::move(from);
    return info;
  };
  Traced w13 = stacked_weight(b, prefix + ".w13_weight_packed", {E, 2 * I, sym::floordiv(H, 2)}, DType::kU8,
                              std::move(w.w13));
  Traced s13 = tr.scale(prefix + ".w13_weight_scale", w13, {E, 2 * I, sym::floordiv(H, 16)},
                        with(graph::group(8), std::move(s.w13)), ScaleFormat::kE4M3, DType::kF8E4M3FN);
  Traced g13 = tr.scale(prefix + ".w13_weight_global_scale", w13, {E, 2},
                        with(graph::per_tensor(ParamRole::kGlobalScale), std::move(g.w13)));
  Traced w2 = stacked_weight(b, prefix + ".w2_weight_packed", {E, H, sym::floordiv(I, 2)}, DType::kU8,
                             std::move(w.w2));
  Traced s2 = tr.scale(prefix + ".w2_weight_scale", w2, {E, H, sym::floordiv(I, 16)},
                       with(graph::group(8), std::move(s.w2)), ScaleFormat::kE4M3, DType::kF8E4M3FN);
  Traced g2 = tr.scale(prefix + ".w2_weight_global_scale", w2, {E},
                       with(graph::per_tensor(ParamRole::kGlobalScale), std::move(g.w2)));
  auto scope = tr.scope(prefix);
  // compressed-tensors stores global scales as divisors (as ArchBuilder::linear does).
  const auto mult = [&](const Traced& x) { return tr.call("div", {tr.call("div", {x, x}), x}); };
  return tr.call("nvfp4_w4a16_moe", {h, w13, s13, mult(g13), w2, s2, mult(g2), topk_w, topk_ids});
}

// The routed experts as one fused call when BuildOptions::fused_experts and the format allows.
std::optional<Traced> fused_experts(ArchBuilder& b, const std::string& prefix, const Traced& h,
                                    const std::vector<Traced>& route, SymInt E, SymInt I, std::int64_t count,
                                    const std::array<const char*, 3>& names) {
  if (int8_w8a8_experts(b, prefix, count, names))
    return fused_int8_experts(b, prefix, h, route[0], route[1], E, I, count, names);
  if (nvfp4_experts(b, prefix, count, names))
    return fused_nvfp4_experts(b, prefix, h, route[0], route[1], E, I, count, names);
  if (const std::optional<DType> dt = float_experts(b, prefix, count, names))
    return fused_float_experts(b, prefix, h, route[0], route[1], E, I, count, names, *dt);
  return std::nullopt;
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
    if (std::optional<Traced> y = fused_experts(b, p + ".experts", h, route, E, I, m.num_experts.value, names))
      return *y;
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
  Traced logits;
  std::vector<Traced> route;
  {
    auto scope = tr.scope(p + ".gate");
    logits = graph::linear(b.cast(h, DType::kF32), b.cast(gw, DType::kF32));
    route = tr.call_all(
        "moe_route_grouped_sigmoid",
        {logits, bias, k, m.n_group, m.topk_group, m.norm_topk_prob, m.routed_scaling_factor});
  }
  Traced y;
  if (std::optional<Traced> f = fused_experts(b, p + ".experts", h, route, E, I, m.num_experts.value, names)) {
    y = *f;
  } else {
    Traced dense;
    {
      auto scope = tr.scope(p + ".gate");
      dense = dense_routes(b, logits, route[0], route[1], E);
    }
    y = experts(b, p + ".experts", h, dense, I, m.num_experts.value, names);
  }
  if (m.n_shared_experts) {
    const SymInt Ns = b.dim(*m.n_shared_experts, "Ns");
    Traced shared = gated_mlp(b, p + ".shared_experts", h, I * Ns);
    auto scope = tr.scope(p);
    y = graph::add(y, shared);
  }
  return y;
}

}  // namespace symtrace::model::detail
