// attention(q [B,S,Hq,D], k [B,T,Hkv,D], v [B,T,Hkv,Dv]) -> [B,S,Hq,Dv]     OPS.md §11.5, §15.6
//
// Sequence-major layout, as the q/k/v projections produce it after a view; k and v may be
// views of a [B, T_max, Hkv, D] KV cache (T <= T_max, any strides with a unit last one for the
// fast path). GQA: query head h reads kv head h / (Hq / Hkv). Causal masks are bottom-right
// aligned: query i sees key j iff j <= i + q_offset, q_offset = T − S by default (the tokens
// already cached), so prefill (S = T) and decode (S = 1, T = past + 1) are one node with two
// bindings; `window` W additionally requires j > i + q_offset − W (sliding-window models).
// scale defaults to D^-1/2. The torch-layout op scaled_dot_product_attention is in sdpa.cpp.
#include <array>
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/attention/attention.hpp"
#include "ops/attention/kernels.hpp"

namespace symtrace::ops {

namespace {
constexpr std::array kTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};
}  // namespace

const std::vector<std::string> kAttentionConstraints = {
    "C1: q is [B, S, Hq, D], k is [B, T, Hkv, D], v is [B, T, Hkv, Dv] (all 4-D)",
    "C2: k.size(3) == q.size(3) == D",
    "C3: B agrees between q, k and v; T and Hkv agree between k and v",
    "C4: Hq % Hkv == 0 (GQA)",
    "C5: q, k, v share one dtype: f64, f32, bf16 or f16",
    "C6: causal without q_offset needs S <= T (q_offset = T − S); a given q_offset is >= 0",
    "C7: window, when given, is >= 1 and needs causal",
};

op::Outputs attention_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& q = a.meta("q");
  const TensorMeta& k = a.meta("k");
  const TensorMeta& v = a.meta("v");
  nn::require_rank(site.at("C1"), "q", q, 4, 4, "[B, S, Hq, D]");
  nn::require_rank(site.at("C1"), "k", k, 4, 4, "[B, T, Hkv, D]");
  nn::require_rank(site.at("C1"), "v", v, 4, 4, "[B, T, Hkv, Dv]");
  const SymInt &B = q.sizes[0], &S = q.sizes[1], &Hq = q.sizes[2], &D = q.sizes[3];
  const SymInt &T = k.sizes[1], &Hkv = k.sizes[2];
  nn::require_size(site.at("C2"), "k", k, 3, D, "D = q.size(3)");
  nn::require_size(site.at("C3"), "k", k, 0, B, "B = q.size(0)");
  nn::require_size(site.at("C3"), "v", v, 0, B, "B = q.size(0)");
  nn::require_size(site.at("C3"), "v", v, 1, T, "T = k.size(1)");
  nn::require_size(site.at("C3"), "v", v, 2, Hkv, "Hkv = k.size(2)");
  attention_detail::require_gqa(site.at("C4"), Hq, Hkv);
  nn::require_dtype(site.at("C5"), "q", q, kTypes);
  nn::require_same_dtype(site.at("C5"), "k", k, "q", q.dtype);
  nn::require_same_dtype(site.at("C5"), "v", v, "q", q.dtype);
  const bool causal = a.flag("causal");
  if (const SymInt* off = a.is_none("q_offset") ? nullptr : &a.sym_int("q_offset")) {
    if (cx.env.require(sym::ge(*off, 0), "attention C6: q_offset >= 0") == sym::Truth::kFalse)
      nn::fail(site.at("C6"), "shape-mismatch", "q_offset", ">= 0", off->str(), "q_offset counts cached tokens");
  } else if (causal) {
    if (cx.env.require(sym::le(S, T), "attention C6: S <= T (q_offset = T - S)") == sym::Truth::kFalse) {
      const SymInt syms[] = {S, T};
      nn::fail(site.at("C6"), "shape-mismatch", "k", fmt::format("T >= S = {}", S.str()), k.shape_str(),
               "a causal call without q_offset needs at least as many keys as queries", syms);
    }
  }
  if (auto w = a.opt_int("window")) {
    if (*w < 1 || !causal)
      nn::fail(site.at("C7"), "shape-mismatch", "window", "a causal window >= 1",
               fmt::format("{}{}", *w, causal ? "" : " without causal"), "sliding windows are causal and non-empty");
  }
  return {nn::contiguous_like({B, S, Hq, v.sizes[3]}, q.dtype, q)};
}

namespace {

op::Outputs attention_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(attention_fake, a, "attention");
  const Tensor& q = a.tensor("q");
  const attention_detail::Problem p = attention_detail::problem(a, /*actual_strides=*/false);
  Tensor out = cx.alloc.output(0, nn::out_sizes(f), q.dtype());
  nn::write_f64(out, attention_detail::reference(p, a.tensor("q"), a.tensor("k"), a.tensor("v")));
  return {out};
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 47;
  struct Case {
    std::int64_t B, S, T, Hq, Hkv, D, Dv;
    bool causal;
    std::int64_t window;
  };
  const Case cases[] = {{1, 1, 1, 1, 1, 16, 16, true, 0},    {2, 5, 5, 4, 2, 16, 16, true, 0},
                        {1, 1, 13, 8, 2, 64, 64, true, 0},   {2, 3, 17, 6, 3, 33, 17, true, 0},
                        {1, 17, 17, 4, 1, 32, 32, false, 0}, {1, 37, 37, 2, 2, 16, 16, true, 5},
                        {1, 40, 45, 2, 1, 8, 24, true, 0},   {3, 2, 9, 3, 3, 7, 5, false, 0}};
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (const Case& c : cases) {
      op::Sample smp{fmt::format("B{}_S{}_T{}_Hq{}_Hkv{}_D{}_Dv{}{}{}_{}", c.B, c.S, c.T, c.Hq, c.Hkv, c.D, c.Dv,
                                 c.causal ? "_causal" : "", c.window ? fmt::format("_w{}", c.window) : "",
                                 tensor::name(dt)),
                     {}};
      smp.args.emplace_back(nn::sample_tensor({c.B, c.S, c.Hq, c.D}, dt, ++s));
      smp.args.emplace_back(nn::sample_tensor({c.B, c.T, c.Hkv, c.D}, dt, ++s));
      smp.args.emplace_back(nn::sample_tensor({c.B, c.T, c.Hkv, c.Dv}, dt, ++s));
      smp.args.emplace_back(op::None{});
      smp.args.emplace_back(c.causal);
      smp.args.emplace_back(c.window ? op::Value(SymInt(c.window)) : op::Value(op::None{}));
      out.push_back(std::move(smp));
    }
  // Decode against a KV cache: k and v are [B, T, Hkv, D] views of a [B, T_max, Hkv, D] cache.
  for (DType dt : {DType::kF32, DType::kBF16}) {
    const Tensor kc = nn::sample_tensor({2, 24, 2, 16}, dt, ++s), vc = nn::sample_tensor({2, 24, 2, 16}, dt, ++s);
    out.push_back({fmt::format("decode_kv_cache_T11_of_24_{}", tensor::name(dt)),
                   {nn::sample_tensor({2, 1, 4, 16}, dt, ++s), kc.narrow(1, 0, 11), vc.narrow(1, 0, 11)}});
    out.push_back({fmt::format("chunked_prefill_S4_T11_offset7_{}", tensor::name(dt)),
                   {nn::sample_tensor({2, 4, 4, 16}, dt, ++s), kc.narrow(1, 0, 11), vc.narrow(1, 0, 11),
                    op::None{}, true, op::None{}, SymInt(7)}});
  }
  // A q whose head dim is strided: only the reference applies.
  out.push_back({"q_transposed_last2", {nn::sample_tensor({1, 3, 4, 4}, DType::kF32, ++s, nn::Layout::kTransposedLast2),
                                        nn::sample_tensor({1, 3, 2, 4}, DType::kF32, ++s),
                                        nn::sample_tensor({1, 3, 2, 4}, DType::kF32, ++s), 0.3}});
  const auto t = [&](tensor::Shape sz, DType d = DType::kF32) { return nn::sample_tensor(std::move(sz), d, ++s); };
  out.push_back({"C1_3d_q", {t({3, 4, 16}), t({1, 3, 2, 16}), t({1, 3, 2, 16})}, true});
  out.push_back({"C2_D_mismatch", {t({1, 3, 4, 16}), t({1, 3, 2, 8}), t({1, 3, 2, 16})}, true});
  out.push_back({"C3_T_mismatch", {t({1, 3, 4, 16}), t({1, 5, 2, 16}), t({1, 4, 2, 16})}, true});
  out.push_back({"C4_Hq6_Hkv4", {t({1, 3, 6, 16}), t({1, 3, 4, 16}), t({1, 3, 4, 16})}, true});
  out.push_back({"C5_bf16_k", {t({1, 3, 4, 16}), t({1, 3, 2, 16}, DType::kBF16), t({1, 3, 2, 16})}, true});
  out.push_back({"C6_S_gt_T", {t({1, 5, 4, 16}), t({1, 3, 2, 16}), t({1, 3, 2, 16})}, true});
  return out;
}

}  // namespace

void register_attention(op::Registry& r) {
  op::OpDef def;
  def.name = "attention";
  def.schema = op::Schema::parse(
      "attention(Tensor q, Tensor k, Tensor v, float? scale=None, bool causal=True, int? window=None, "
      "SymInt? q_offset=None) -> Tensor");
  def.doc = "softmax(scale · q kᵀ + causal/window mask) · v, [B, S, H, D] layout, GQA, KV-cache offset";
  def.constraints = kAttentionConstraints;
  def.fake = attention_fake;
  def.reference = attention_reference;
  def.variants = attention_detail::variants("attention", attention_detail::problem, nullptr);
  def.tolerance = {.compare = attention_detail::compare(attention_detail::problem)};
  def.samples = samples;
  r.add(std::move(def));
  register_sdpa(r);
}

}  // namespace symtrace::ops
