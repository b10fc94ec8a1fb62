// Private: the layer bodies shared by the architectures (arch_decoder.cpp: attention and
// MLP, arch_moe.cpp: routed experts, arch_mla.cpp: DeepSeek-V3 latent attention).
#pragma once

#include <cstdint>
#include <string>

#include "model/arch_builder.hpp"

namespace symtrace::model::detail {

// What every layer of one graph shares.
struct Context {
  Traced positions;          // [B, S] i64, absolute
  Traced cos_sin;            // [P, rotary_dim] rotary cache
  std::int64_t rotary_dim = 0;
  SymInt past, T;            // kv_cache only: cached tokens and cache capacity
};

// Causal attention of q [B, S, Hq, Dqk] over k [B, S, Hkv, Dqk], v [B, S, Hkv, Dv] (plus the
// KV cache of module `p` with kv_cache): [B, S, Hq, Dv]. Sliding window from the config.
Traced attend(ArchBuilder& b, const Context& c, const std::string& p, const Traced& q,
              const Traced& k, const Traced& v, double scale);

// p.gate_proj / p.up_proj / p.down_proj with SiLU gating; I = intermediate size.
Traced gated_mlp(ArchBuilder& b, const std::string& p, const Traced& h, SymInt I);
Traced gated_mlp_named(ArchBuilder& b, const std::string& p, const Traced& h, SymInt I,
                       const char* gate, const char* up, const char* down);

// The sparse block of layer `layer` ("model.layers.3"): router + experts (+ shared experts).
Traced moe_block(ArchBuilder& b, const std::string& layer, const Traced& h);  // arch_moe.cpp
// DeepSeek-V3 multi-head latent attention of module p ("model.layers.3.self_attn").
Traced mla_attention(ArchBuilder& b, const Context& c, const std::string& p,
                     const Traced& h);  // arch_mla.cpp

}  // namespace symtrace::model::detail
