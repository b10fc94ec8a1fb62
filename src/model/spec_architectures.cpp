// The modules of each architecture, named as Hugging Face checkpoints name them.
#include <array>

#include <fmt/format.h>

#include "model/spec_builder.hpp"

namespace symtrace::model::detail {

namespace {

using tensor::DType;

void attention(SpecBuilder& b, const std::string& p) {  // p = "model.layers.L.self_attn."
  const ModelConfig& c = b.cfg();
  const Dim H = cfg_dim(c.hidden_size), D = cfg_dim(c.head_dim);
  const Dim Hq = cfg_dim(c.num_attention_heads), Hkv = cfg_dim(c.num_key_value_heads);
  const std::string qkv = p + "qkv_proj";
  const bool bias = c.attention_bias;
  b.linear(linear_decl(p + "q_proj", mul(Hq, D), H, Parallel::kColumn)
               .part_of(qkv, 0).with_bias(bias).split_by_heads(Hq.v, D.v));
  b.linear(linear_decl(p + "k_proj", mul(Hkv, D), H, Parallel::kColumn)
               .part_of(qkv, 1).with_bias(bias).split_by_heads(Hkv.v, D.v));
  b.linear(linear_decl(p + "v_proj", mul(Hkv, D), H, Parallel::kColumn)
               .part_of(qkv, 2).with_bias(bias).split_by_heads(Hkv.v, D.v));
  b.linear(linear_decl(p + "o_proj", H, mul(Hq, D), Parallel::kRow).with_bias(c.o_proj_bias));
  b.group({qkv, {p + "q_proj", p + "k_proj", p + "v_proj"}});
  if (c.qk_norm) {
    b.plain(p + "q_norm.weight", TensorRole::kNorm, {D}, p + "q_norm", c.weight_dtype());
    b.plain(p + "k_norm.weight", TensorRole::kNorm, {D}, p + "k_norm", c.weight_dtype());
  }
  b.kv_cache_scales(p);
}

// DeepSeek-V3 multi-head latent attention.
void mla(SpecBuilder& b, const std::string& p) {
  const ModelConfig& c = b.cfg();
  const MlaConfig& m = *c.mla;
  const Dim H = cfg_dim(c.hidden_size), Hq = cfg_dim(c.num_attention_heads);
  const Dim nope = cfg_dim(m.qk_nope_head_dim), rope = cfg_dim(m.qk_rope_head_dim);
  const Dim kvr = cfg_dim(m.kv_lora_rank), vd = cfg_dim(m.v_head_dim);
  const Dim qk_head = add(nope, rope);
  const std::string fused = p + "fused_qkv_a_proj";  // vLLM merges the two down-projections
  const bool bias = c.attention_bias;
  if (m.q_lora_rank) {
    const Dim ql = cfg_dim(*m.q_lora_rank);
    b.linear(linear_decl(p + "q_a_proj", ql, H).part_of(fused, 0).with_bias(bias));
    b.plain(p + "q_a_layernorm.weight", TensorRole::kNorm, {ql}, p + "q_a_layernorm",
            c.weight_dtype());
    b.linear(linear_decl(p + "q_b_proj", mul(Hq, qk_head), ql, Parallel::kColumn)
                 .split_by_heads(Hq.v, qk_head.v));
  } else {
    b.linear(linear_decl(p + "q_proj", mul(Hq, qk_head), H, Parallel::kColumn)
                 .split_by_heads(Hq.v, qk_head.v));
  }
  // N = kv_lora_rank + qk_rope_head_dim: 576 in DeepSeek-V3, not a multiple of 128.
  LinearDecl kv_a = linear_decl(p + "kv_a_proj_with_mqa", add(kvr, rope), H).with_bias(bias);
  if (m.q_lora_rank) kv_a.part_of(fused, 1);
  b.linear(kv_a);
  b.plain(p + "kv_a_layernorm.weight", TensorRole::kNorm, {kvr}, p + "kv_a_layernorm",
          c.weight_dtype());
  b.linear(linear_decl(p + "kv_b_proj", mul(Hq, add(nope, vd)), kvr, Parallel::kColumn)
               .split_by_heads(Hq.v, nope.v + vd.v));
  b.linear(linear_decl(p + "o_proj", H, mul(Hq, vd), Parallel::kRow).with_bias(bias));
  if (m.q_lora_rank)
    b.group({fused, {p + "q_a_proj", p + "kv_a_proj_with_mqa"}, /*tp_split=*/false});
  b.kv_cache_scales(p);
}

// gate/up/down with gate_up fused; `names` lets Mixtral call them w1/w3/w2.
void gated_mlp(SpecBuilder& b, const std::string& p, const Dim& I, bool bias,
               std::int64_t expert = -1, const std::string& experts_group = "",
               std::array<const char*, 3> names = {"gate_proj", "up_proj", "down_proj"}) {
  const Dim H = cfg_dim(b.cfg().hidden_size);
  const std::string fused = expert >= 0 ? experts_group : p + "gate_up_proj";
  b.linear(linear_decl(p + names[0], I, H, Parallel::kColumn)
               .part_of(fused, 0).of_expert(expert).with_bias(bias));
  b.linear(linear_decl(p + names[1], I, H, Parallel::kColumn)
               .part_of(fused, 1).of_expert(expert).with_bias(bias));
  LinearDecl down = linear_decl(p + names[2], H, I, Parallel::kRow).of_expert(expert).with_bias(bias);
  if (expert >= 0) down.part_of(experts_group, 2);
  b.linear(down);
  if (expert < 0) b.group({fused, {p + names[0], p + names[1]}});
}

void experts(SpecBuilder& b, const std::string& p, const std::string& experts_prefix,
             const MoeConfig& m, std::array<const char*, 3> names) {
  const ModelConfig& c = b.cfg();
  const Dim H = cfg_dim(c.hidden_size), E = cfg_dim(m.num_experts);
  const Dim I = cfg_dim(m.intermediate_size);
  // The router is a plain linear in every format (OPS.md §9.1).
  b.linear(linear_decl(p + "gate", E, H).unquantized());
  const std::string group = p + experts_prefix;
  FusedGroup g{group, {}};
  for (std::int64_t e = 0; e < E.v; ++e) {
    const std::string ep = fmt::format("{}{}.{}.", p, experts_prefix, e);
    gated_mlp(b, ep, I, false, e, group, names);
    for (const char* n : names) g.parts.push_back(ep + n);
  }
  b.group(std::move(g));
}

void moe_layer(SpecBuilder& b, const std::string& layer) {
  const ModelConfig& c = b.cfg();
  const MoeConfig& m = *c.moe;
  switch (c.arch) {
    case Architecture::kMixtral:
      experts(b, layer + "block_sparse_moe.", "experts", m, {"w1", "w3", "w2"});
      break;
    case Architecture::kDeepseekV3: {
      const std::string p = layer + "mlp.";
      experts(b, p, "experts", m, {"gate_proj", "up_proj", "down_proj"});
      if (m.topk_method == "noaux_tc")  // sigmoid routing's selection bias, kept in f32
        b.plain(p + "gate.e_score_correction_bias", TensorRole::kBias,
                {cfg_dim(m.num_experts)}, p + "gate", DType::kF32, {DType::kBF16});
      if (m.n_shared_experts)
        gated_mlp(b, p + "shared_experts.", mul(cfg_dim(m.intermediate_size),
                                                 cfg_dim(*m.n_shared_experts)), false);
      break;
    }
    default: experts(b, layer + "mlp.", "experts", m, {"gate_proj", "up_proj", "down_proj"});
  }
}

}  // namespace

void declare_modules(SpecBuilder& b) {
  const ModelConfig& c = b.cfg();
  const DType wd = c.weight_dtype();
  const Dim H = cfg_dim(c.hidden_size), V = cfg_dim(c.vocab_size);
  b.plain("model.embed_tokens.weight", TensorRole::kEmbedding, {V, H}, "model.embed_tokens", wd);
  for (std::int64_t l = 0; l < c.num_hidden_layers.value; ++l) {
    const std::string layer = fmt::format("model.layers.{}.", l);
    b.plain(layer + "input_layernorm.weight", TensorRole::kNorm, {H}, layer + "input_layernorm", wd);
    b.plain(layer + "post_attention_layernorm.weight", TensorRole::kNorm, {H},
            layer + "post_attention_layernorm", wd);
    if (c.mla) mla(b, layer + "self_attn.");
    else attention(b, layer + "self_attn.");
    if (c.is_moe_layer(l)) {
      moe_layer(b, layer);
    } else {
      if (c.arch == Architecture::kMixtral) continue;  // unreachable: every Mixtral layer is MoE
      gated_mlp(b, layer + "mlp.", cfg_dim(c.intermediate_size), c.mlp_bias);
    }
  }
  b.plain("model.norm.weight", TensorRole::kNorm, {H}, "model.norm", wd);
  if (c.tie_word_embeddings) {
    b.known_module("lm_head");
  } else {
    b.linear(linear_decl("lm_head", V, H).unquantized());
  }
}

}  // namespace symtrace::model::detail
