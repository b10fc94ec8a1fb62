// DeepSeek-V3 multi-head latent attention, as transformers' DeepseekV3Attention computes it:
//   q  = q_b_proj(q_a_layernorm(q_a_proj(h)))   (or q_proj(h) without q_lora_rank)
//        -> [B, S, Hq, Dn + Dr], split into q_nope | q_pe
//   kv = kv_a_proj_with_mqa(h) -> [B, S, Rkv + Dr], split into latent | k_pe (one shared head)
//   k_nope, v = split(kv_b_proj(kv_a_layernorm(latent)) as [B, S, Hq, Dn + Dv])
//   q_pe, k_pe rotate (interleaved pairs: HF de-interleaves q and k alike, so the scores equal
//   the gptj rotation, OPS.md §11.3); k = cat(k_nope, k_pe broadcast to Hq heads)
//   softmax scale = (Dn + Dr)^-1/2 · m(factor, mscale_all_dim)² under YaRN scaling.
// The KV cache (kv_cache) holds the expanded per-head k [.., Dn + Dr] and v [.., Dv].
#include <cmath>

#include <fmt/format.h>

#include <symtrace/graph/ops.hpp>

#include "model/arch_layers.hpp"

namespace symtrace::model::detail {

namespace {

// transformers' yarn_get_mscale.
double yarn_mscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

Traced mla_attention(ArchBuilder& b, const Context& c, const std::string& p, const Traced& h) {
  const ModelConfig& cfg = b.cfg();
  const MlaConfig& m = *cfg.mla;
  graph::Tracer& tr = b.tr();
  const SymInt B = b.B(), S = b.S();
  const SymInt H = b.dim(cfg.hidden_size, "H"), Hq = b.dim(cfg.num_attention_heads, "Hq");
  const SymInt Dn = b.dim(m.qk_nope_head_dim, "Dn"), Dr = b.dim(m.qk_rope_head_dim, "Dr");
  const SymInt Dv = b.dim(m.v_head_dim, "Dv"), Rkv = b.dim(m.kv_lora_rank, "Rkv");
  const SymInt Dqk = Dn + Dr;

  Traced q;
  if (m.q_lora_rank) {
    const SymInt Rq = b.dim(*m.q_lora_rank, "Rq");
    Traced qa = b.rms_norm(p + ".q_a_layernorm", b.linear(p + ".q_a_proj", h, Rq, H), Rq);
    q = b.linear(p + ".q_b_proj", qa, Hq * Dqk, Rq);
  } else {
    q = b.linear(p + ".q_proj", h, Hq * Dqk, H);
  }
  Traced kv_a = b.linear(p + ".kv_a_proj_with_mqa", h, Rkv + Dr, H);
  Traced latent, k_pe, q_nope, q_pe;
  {
    auto scope = tr.scope(p);
    std::vector<Traced> parts =
        tr.call_all("split_with_sizes", {kv_a, std::vector<SymInt>{Rkv, Dr}, -1});
    latent = graph::contiguous(parts[0]);
    k_pe = graph::view(graph::contiguous(parts[1]), {B, S, 1, Dr});
    std::vector<Traced> qs = tr.call_all(
        "split_with_sizes", {graph::view(q, {B, S, Hq, Dqk}), std::vector<SymInt>{Dn, Dr}, -1});
    q_nope = qs[0];
    q_pe = graph::contiguous(qs[1]);
  }
  Traced kv = b.linear(p + ".kv_b_proj", b.rms_norm(p + ".kv_a_layernorm", latent, Rkv),
                       Hq * (Dn + Dv), Rkv);
  Traced o;
  {
    auto scope = tr.scope(p);
    std::vector<Traced> kvs = tr.call_all(
        "split_with_sizes", {graph::view(kv, {B, S, Hq, Dn + Dv}), std::vector<SymInt>{Dn, Dv}, -1});
    const std::string style = cfg.rope.interleaved ? "gptj" : "neox";
    auto [qr, kr] = graph::rotary(q_pe, k_pe, c.positions, c.cos_sin, style, c.rotary_dim);
    Traced query = graph::cat({q_nope, qr}, -1);
    Traced key = graph::cat({kvs[0], tr.call("expand", {kr, std::vector<SymInt>{B, S, Hq, Dr}})}, -1);
    Traced value = graph::contiguous(kvs[1]);
    double scale = 1.0 / std::sqrt(static_cast<double>(m.qk_head_dim()));
    const RopeConfig& r = cfg.rope;
    if (r.type == "yarn" && r.factor && r.mscale_all_dim && *r.mscale_all_dim != 0) {
      const double ms = yarn_mscale(*r.factor, *r.mscale_all_dim);
      scale *= ms * ms;
    }
    o = attend(b, c, p, query, key, value, scale);
  }
  return b.linear(p + ".o_proj", graph::view(o, {B, S, Hq * Dv}), H, Hq * Dv);
}

}  // namespace symtrace::model::detail
