// The decoder stack: embedding, per layer (attention + MLP or experts) with fused residual
// norms, final norm, lm_head, f32 logits. Hugging Face's Llama/Qwen2/Qwen3/Mistral order,
// written as vLLM fuses the residual adds (fused_add_rms_norm rounds the sum to the activation
// dtype exactly where HF's `hidden_states = residual + hidden_states` does).
#include <cmath>

#include <fmt/format.h>

#include <symtrace/graph/ops.hpp>
#include <symtrace/graph/passes.hpp>

#include "model/arch_builder.hpp"
#include "model/arch_layers.hpp"

namespace symtrace::model {

namespace detail {

using diag::Severity;
using tensor::TensorMeta;

namespace {

// The [P, rd] cos/sin cache op for the config's rope settings (OPS.md §11.3).
Traced rope_cache(ArchBuilder& b, SymInt P, std::int64_t rd) {
  const RopeConfig& r = b.cfg().rope;
  std::string scaling = "none";
  std::vector<graph::NamedArg> named;
  if (r.type == "linear") {
    scaling = "linear";
  } else if (r.type == "llama3") {
    scaling = "llama3";
    if (r.low_freq_factor) named.push_back({"low_freq_factor", *r.low_freq_factor});
    if (r.high_freq_factor) named.push_back({"high_freq_factor", *r.high_freq_factor});
  } else if (r.type == "yarn") {
    scaling = "yarn";
    if (r.beta_fast) named.push_back({"beta_fast", *r.beta_fast});
    if (r.beta_slow) named.push_back({"beta_slow", *r.beta_slow});
    if (r.mscale) named.push_back({"mscale", *r.mscale});
    if (r.mscale_all_dim) named.push_back({"mscale_all_dim", *r.mscale_all_dim});
    if (r.attention_factor)
      b.finding("rope-unsupported", Severity::kWarning, r.source,
                fmt::format("rope attention_factor = {} is not modelled; cos/sin use YaRN's "
                            "m(factor, mscale) / m(factor, mscale_all_dim)",
                            *r.attention_factor));
  } else if (r.type != "default") {
    // dynamic NTK equals the default rotation up to max_position_embeddings.
    b.finding("rope-unsupported", Severity::kWarning, r.source,
              fmt::format("rope type '{}' is traced as the default rotation", r.type));
  }
  if (scaling != "none" && r.factor) named.push_back({"factor", *r.factor});
  if ((scaling == "llama3" || scaling == "yarn") && r.original_max_position_embeddings)
    named.push_back({"original_max_positions", *r.original_max_position_embeddings});
  named.push_back({"scaling", scaling});
  named.push_back({"dtype", b.act()});
  auto scope = b.tr().scope("model.rotary_emb");
  return b.tr().call("rope_cos_sin", {P, rd, r.theta}, std::move(named));
}

// Standard multi-head attention with GQA, optional q/k norms (Qwen3) and biases (Qwen2).
Traced self_attention(ArchBuilder& b, const Context& c, const std::string& p, const Traced& h) {
  const ModelConfig& cfg = b.cfg();
  const SymInt H = b.dim(cfg.hidden_size, "H"), D = b.dim(cfg.head_dim, "D");
  const SymInt Hq = b.dim(cfg.num_attention_heads, "Hq");
  const SymInt Hkv = b.dim(cfg.num_key_value_heads, "Hkv");
  const SymInt B = b.B(), S = b.S();
  Traced q = graph::view(b.linear(p + ".q_proj", h, Hq * D, H), {B, S, Hq, D});
  Traced k = graph::view(b.linear(p + ".k_proj", h, Hkv * D, H), {B, S, Hkv, D});
  Traced v = graph::view(b.linear(p + ".v_proj", h, Hkv * D, H), {B, S, Hkv, D});
  if (cfg.qk_norm) {  // Qwen3: per-head rms_norm over D before rotary (OPS.md §11.2)
    q = b.rms_norm(p + ".q_norm", q, D);
    k = b.rms_norm(p + ".k_norm", k, D);
  }
  Traced o;
  {
    auto scope = b.tr().scope(p);
    auto [qr, kr] = graph::rotary(q, k, c.positions, c.cos_sin, "neox", c.rotary_dim);
    o = attend(b, c, p, qr, kr, v, 1.0 / std::sqrt(static_cast<double>(cfg.head_dim.value)));
  }
  return b.linear(p + ".o_proj", graph::view(o, {B, S, Hq * D}), H, Hq * D);
}

// gate/up/down with SiLU: silu(gate) * up, each rounded to the activation dtype as HF does
// (the checkpoint stores gate and up apart, so they stay two linears: no fused gate_up).
Traced gated_mlp_impl(ArchBuilder& b, const std::string& p, const Traced& h, SymInt I,
                      const char* gate, const char* up, const char* down) {
  const SymInt H = b.dim(b.cfg().hidden_size, "H");
  Traced g = b.linear(fmt::format("{}.{}", p, gate), h, I, H);
  Traced u = b.linear(fmt::format("{}.{}", p, up), h, I, H);
  Traced a;
  {
    auto scope = b.tr().scope(p);
    a = graph::mul(b.tr().call("silu", {g}), u);
  }
  return b.linear(fmt::format("{}.{}", p, down), a, H, I);
}

}  // namespace

Traced attend(ArchBuilder& b, const Context& c, const std::string& p, const Traced& q,
              const Traced& k, const Traced& v, double scale) {
  std::optional<std::int64_t> window = b.cfg().sliding_window;
  if (!b.opt().kv_cache) {
    std::vector<graph::NamedArg> named{{"scale", scale}, {"causal", true}};
    if (window) named.push_back({"window", *window});
    return b.tr().call("attention", {q, k, v}, std::move(named));
  }
  // [B, T, Hkv, D] caches in the compute dtype; cached_attention writes rows [past, past + S)
  // and attends over [0, past + S).
  const SymInt Hkv = k.size(2);
  Traced kc = b.tr().state(p + ".k_cache",
                           TensorMeta::contiguous({b.B(), c.T, Hkv, k.size(3)}, b.act()));
  Traced vc = b.tr().state(p + ".v_cache",
                           TensorMeta::contiguous({b.B(), c.T, Hkv, v.size(3)}, b.act()));
  std::vector<graph::NamedArg> named{{"scale", scale}};
  if (window) named.push_back({"window", *window});
  return b.tr().call("cached_attention", {q, k, v, kc, vc, c.past}, std::move(named));
}

Traced gated_mlp(ArchBuilder& b, const std::string& p, const Traced& h, SymInt I) {
  return gated_mlp_impl(b, p, h, I, "gate_proj", "up_proj", "down_proj");
}

Traced gated_mlp_named(ArchBuilder& b, const std::string& p, const Traced& h, SymInt I,
                       const char* gate, const char* up, const char* down) {
  return gated_mlp_impl(b, p, h, I, gate, up, down);
}

void build_decoder(ArchBuilder& b) {
  const ModelConfig& cfg = b.cfg();
  graph::Tracer& tr = b.tr();
  const SymInt B = b.B(), S = b.S();
  const SymInt V = b.dim(cfg.vocab_size, "V"), H = b.dim(cfg.hidden_size, "H");
  Context c;
  Traced ids = tr.input("input_ids", {B, S}, DType::kI64);
  c.positions = tr.input("positions", {B, S}, DType::kI64);
  SymInt P;
  if (b.opt().kv_cache) {
    c.past = tr.symbol("past", "tokens already in the KV cache", sym::SymbolKind::kInputSize,
                       sym::Range{0, std::nullopt});
    c.T = tr.symbol("T", "KV cache capacity (max tokens)", sym::SymbolKind::kConfig);
    tr.env().assume(sym::le(c.past + S, c.T));
    P = c.T;  // positions < past + S <= T
  } else {
    P = b.dim(cfg.max_position_embeddings, "P");
  }
  const std::int64_t head_rope = cfg.mla ? cfg.mla->qk_rope_head_dim.value : cfg.head_dim.value;
  c.rotary_dim = static_cast<std::int64_t>(static_cast<double>(head_rope) * cfg.rope.partial_rotary_factor);
  c.rotary_dim -= c.rotary_dim % 2;
  // rotary C2 (rd <= D) holds by construction: rd = D · partial_rotary_factor.
  tr.env().assume(sym::ge(cfg.mla ? b.dim(cfg.mla->qk_rope_head_dim, "Dr") : b.dim(cfg.head_dim, "D"),
                          c.rotary_dim));
  c.cos_sin = rope_cache(b, P, c.rotary_dim);

  Traced table = b.embedding_table("model.embed_tokens.weight", {V, H});
  Traced x;
  {
    auto scope = tr.scope("model.embed_tokens");
    x = b.cast(graph::embedding(ids, table), b.act());
  }
  Traced residual;  // invalid until the first norm
  const auto norm = [&](const std::string& module, const Traced& y) {
    if (!residual.valid()) {
      residual = y;
      return b.rms_norm(module, y, H);
    }
    Traced w = b.plain(module + ".weight", {H});
    auto scope = tr.scope(module);
    auto [n, r] = graph::fused_add_rms_norm(y, residual, w, cfg.rms_norm_eps);
    residual = r;
    return n;
  };
  for (std::int64_t l = 0; l < cfg.num_hidden_layers.value; ++l) {
    const std::string layer = fmt::format("model.layers.{}", l);
    Traced h = norm(layer + ".input_layernorm", x);
    x = cfg.mla ? mla_attention(b, c, layer + ".self_attn", h)
                : self_attention(b, c, layer + ".self_attn", h);
    h = norm(layer + ".post_attention_layernorm", x);
    if (cfg.is_moe_layer(l)) {
      x = moe_block(b, layer, h);
    } else {
      x = gated_mlp(b, layer + ".mlp", h, b.dim(cfg.intermediate_size, "I"));
    }
  }
  Traced h = norm("model.norm", x);
  Traced logits;
  if (cfg.tie_word_embeddings) {
    auto scope = tr.scope("lm_head");
    logits = b.linear_with(h, table);
  } else {
    logits = b.linear("lm_head", h, V, H);
  }
  {
    auto scope = tr.scope("lm_head");
    logits = b.cast(logits, DType::kF32);
  }
  tr.output("logits", logits);
}

}  // namespace detail

BuiltModel build_model_graph(const ModelConfig& cfg, const CheckpointSpec& spec,
                             const BuildOptions& opt) {
  BuiltModel m;
  {
    detail::ArchBuilder b(m.graph, cfg, spec, opt, m.findings);
    detail::build_decoder(b);
  }
  return m;
}

}  // namespace symtrace::model
