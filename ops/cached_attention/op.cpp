// cached_attention(q [B,S,Hq,D], k [B,S,Hkv,D], v [B,S,Hkv,Dv], k_cache [B,T,Hkv,D],
//                  v_cache [B,T,Hkv,Dv], past) -> [B,S,Hq,Dv]                  OPS.md §11.5
//
// One decoder step against a KV cache held as graph states: writes k and v into rows
// [past, past + S) of the caches, then returns causal attention of q (absolute positions
// past .. past + S − 1) over cache rows [0, past + S). Prefill is past = 0, decode S = 1: one
// node, one trace, a new binding of `past` per step. The attention itself is the `attention`
// op (its f64 reference, its kernels, its tolerance) on views of the caches.
//
// The op writes into two of its inputs (the caches). opcheck forbids that, so its samples
// hold caches whose rows [past, past + S) already equal k and v (the write changes no bit);
// that the write happens is tested in test.cpp and through exec::Plan states.
#include <array>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/attention/attention.hpp"
#include "ops/cached_attention/cached_attention.hpp"

namespace symtrace::ops {

namespace {

constexpr std::array kTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};

const std::vector<std::string> kConstraints = {
    "C1: q is [B, S, Hq, D], k [B, S, Hkv, D], v [B, S, Hkv, Dv], k_cache [B, T, Hkv, D], "
    "v_cache [B, T, Hkv, Dv] (all 4-D)",
    "C2: k and k_cache have q's head dim D; v_cache has v's Dv",
    "C3: B agrees everywhere, S between q, k and v, Hkv between k, v and the caches, T between the caches",
    "C4: Hq % Hkv == 0 (GQA)",
    "C5: q, k, v and the caches share one dtype: f64, f32, bf16 or f16",
    "C6: past >= 0 and past + S <= T (the new rows fit the cache)",
    "C7: window, when given, is >= 1",
};

op::Outputs cached_attention_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& q = a.meta("q");
  const TensorMeta& k = a.meta("k");
  const TensorMeta& v = a.meta("v");
  const TensorMeta& kc = a.meta("k_cache");
  const TensorMeta& vc = a.meta("v_cache");
  nn::require_rank(site.at("C1"), "q", q, 4, 4, "[B, S, Hq, D]");
  nn::require_rank(site.at("C1"), "k", k, 4, 4, "[B, S, Hkv, D]");
  nn::require_rank(site.at("C1"), "v", v, 4, 4, "[B, S, Hkv, Dv]");
  nn::require_rank(site.at("C1"), "k_cache", kc, 4, 4, "[B, T, Hkv, D]");
  nn::require_rank(site.at("C1"), "v_cache", vc, 4, 4, "[B, T, Hkv, Dv]");
  const SymInt &B = q.sizes[0], &S = q.sizes[1], &Hq = q.sizes[2], &D = q.sizes[3];
  const SymInt &Hkv = k.sizes[2], &Dv = v.sizes[3], &T = kc.sizes[1];
  nn::require_size(site.at("C2"), "k", k, 3, D, "D = q.size(3)");
  nn::require_size(site.at("C2"), "k_cache", kc, 3, D, "D = q.size(3)");
  nn::require_size(site.at("C2"), "v_cache", vc, 3, Dv, "Dv = v.size(3)");
  for (const auto& [name, t] : {std::pair<const char*, const TensorMeta*>{"k", &k}, {"v", &v}}) {
    nn::require_size(site.at("C3"), name, *t, 0, B, "B = q.size(0)");
    nn::require_size(site.at("C3"), name, *t, 1, S, "S = q.size(1)");
  }
  nn::require_size(site.at("C3"), "v", v, 2, Hkv, "Hkv = k.size(2)");
  for (const auto& [name, t] : {std::pair<const char*, const TensorMeta*>{"k_cache", &kc}, {"v_cache", &vc}}) {
    nn::require_size(site.at("C3"), name, *t, 0, B, "B = q.size(0)");
    nn::require_size(site.at("C3"), name, *t, 2, Hkv, "Hkv = k.size(2)");
  }
  nn::require_size(site.at("C3"), "v_cache", vc, 1, T, "T = k_cache.size(1)");
  attention_detail::require_gqa(site.at("C4"), Hq, Hkv);
  nn::require_dtype(site.at("C5"), "q", q, kTypes);
  for (const auto& [name, t] : {std::pair<const char*, const TensorMeta*>{"k", &k}, {"v", &v}, {"k_cache", &kc},
                                {"v_cache", &vc}})
    nn::require_same_dtype(site.at("C5"), name, *t, "q", q.dtype);
  const SymInt& past = a.sym_int("past");
  if (cx.env.require(sym::ge(past, 0), "cached_attention C6: past >= 0") == sym::Truth::kFalse)
    nn::fail(site.at("C6"), "shape-mismatch", "past", ">= 0", past.str(), "past counts the tokens already cached");
  // Unknown at trace time (past, S and T are symbols): a guard that bind() checks per step, so
  // a cache too small for the prompt plus the generated tokens fails before any kernel runs.
  if (cx.env.require(sym::le(past + S, T), "cached_attention C6: past + S <= T (the KV cache holds T tokens)") ==
      sym::Truth::kFalse) {
    const SymInt syms[] = {past, S, T};
    nn::fail(site.at("C6"), "shape-mismatch", "k_cache", fmt::format("T >= past + S = {}", (past + S).str()),
             kc.shape_str(), "the KV cache is too small for the cached and the new tokens", syms,
             "bind a larger cache capacity T");
  }
  if (auto w = a.opt_int("window"); w && *w < 1)
    nn::fail(site.at("C7"), "shape-mismatch", "window", ">= 1", fmt::format("{}", *w), "a sliding window is non-empty");
  return {nn::contiguous_like({B, S, Hq, Dv}, q.dtype, q)};
}

const op::Schema& attention_schema() { return registry().get("attention").schema; }

op::Outputs cached_attention_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(cached_attention_fake, a, "cached_attention");
  cached_attention_detail::write_cache(a);
  const std::vector<op::Value> att = cached_attention_detail::attention_args(a);
  const op::Args aa(attention_schema(), att);
  const attention_detail::Problem p = attention_detail::problem(aa, /*actual_strides=*/false);
  Tensor out = cx.alloc.output(0, nn::out_sizes(f), a.tensor("q").dtype());
  nn::write_f64(out, attention_detail::reference(p, aa.tensor("q"), aa.tensor("k"), aa.tensor("v")));
  return {out};
}

// Caches of T rows whose rows [past, past + S) already hold k and v (see the file comment);
// the other rows are what earlier steps would have left.
std::vector<op::Sample> samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 59;
  struct Case {
    std::int64_t B, S, past, T, Hq, Hkv, D, Dv, window;
  };
  const Case cases[] = {{1, 1, 0, 1, 1, 1, 16, 16, 0},   {2, 5, 0, 8, 4, 2, 16, 16, 0},  {1, 1, 12, 13, 8, 2, 64, 64, 0},
                        {2, 3, 14, 17, 6, 3, 33, 17, 0}, {1, 37, 0, 40, 2, 2, 16, 16, 5}, {3, 1, 9, 31, 3, 1, 7, 5, 4},
                        {1, 4, 7, 11, 4, 2, 16, 16, 0}};
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (const Case& c : cases) {
      op::Sample smp{fmt::format("B{}_S{}_past{}_T{}_Hq{}_Hkv{}_D{}_Dv{}{}_{}", c.B, c.S, c.past, c.T, c.Hq, c.Hkv, c.D,
                                 c.Dv, c.window ? fmt::format("_w{}", c.window) : "", tensor::name(dt)),
                     {}};
      const Tensor k = nn::sample_tensor({c.B, c.S, c.Hkv, c.D}, dt, ++s);
      const Tensor v = nn::sample_tensor({c.B, c.S, c.Hkv, c.Dv}, dt, ++s);
      // The caches are views of a larger allocation (T_max = T + 3), as a planned arena may be.
      const Tensor kc = nn::sample_tensor({c.B, c.T + 3, c.Hkv, c.D}, dt, ++s).narrow(1, 0, c.T);
      const Tensor vc = nn::sample_tensor({c.B, c.T + 3, c.Hkv, c.Dv}, dt, ++s).narrow(1, 0, c.T);
      kc.narrow(1, c.past, c.S).copy_from(k);
      vc.narrow(1, c.past, c.S).copy_from(v);
      smp.args = {nn::sample_tensor({c.B, c.S, c.Hq, c.D}, dt, ++s), k, v, kc, vc, SymInt(c.past), op::None{},
                  c.window ? op::Value(SymInt(c.window)) : op::Value(op::None{})};
      out.push_back(std::move(smp));
    }
  const auto t = [&](tensor::Shape sz, DType d = DType::kF32) { return nn::sample_tensor(std::move(sz), d, ++s); };
  // k and v straight from a fused projection: strided views (only the reference reads them).
  {
    const Tensor kv = t({2, 3, 2, 32});
    const Tensor k = kv.narrow(3, 0, 16), v = kv.narrow(3, 16, 16);
    const Tensor kc = t({2, 9, 2, 16}), vc = t({2, 9, 2, 16});
    kc.narrow(1, 5, 3).copy_from(k);
    vc.narrow(1, 5, 3).copy_from(v);
    out.push_back({"k_v_strided_from_fused_kv", {t({2, 3, 4, 16}), k, v, kc, vc, SymInt(5), 0.2}});
  }
  const auto bad = [&](std::string label, tensor::Shape q, tensor::Shape k, tensor::Shape v, tensor::Shape kc,
                       tensor::Shape vc, std::int64_t past, DType kdt = DType::kF32) {
    out.push_back({std::move(label), {t(std::move(q)), t(std::move(k), kdt), t(std::move(v)), t(std::move(kc)),
                                      t(std::move(vc)), SymInt(past)}, true});
  };
  bad("C1_3d_q", {3, 4, 16}, {1, 3, 2, 16}, {1, 3, 2, 16}, {1, 8, 2, 16}, {1, 8, 2, 16}, 0);
  bad("C2_cache_D_mismatch", {1, 3, 4, 16}, {1, 3, 2, 16}, {1, 3, 2, 16}, {1, 8, 2, 8}, {1, 8, 2, 16}, 0);
  bad("C3_k_S_mismatch", {1, 3, 4, 16}, {1, 2, 2, 16}, {1, 3, 2, 16}, {1, 8, 2, 16}, {1, 8, 2, 16}, 0);
  bad("C3_cache_T_mismatch", {1, 3, 4, 16}, {1, 3, 2, 16}, {1, 3, 2, 16}, {1, 8, 2, 16}, {1, 9, 2, 16}, 0);
  bad("C4_Hq6_Hkv4", {1, 3, 6, 16}, {1, 3, 4, 16}, {1, 3, 4, 16}, {1, 8, 4, 16}, {1, 8, 4, 16}, 0);
  bad("C5_bf16_k", {1, 3, 4, 16}, {1, 3, 2, 16}, {1, 3, 2, 16}, {1, 8, 2, 16}, {1, 8, 2, 16}, 0, DType::kBF16);
  bad("C6_cache_too_small", {1, 3, 4, 16}, {1, 3, 2, 16}, {1, 3, 2, 16}, {1, 8, 2, 16}, {1, 8, 2, 16}, 6);
  bad("C6_negative_past", {1, 3, 4, 16}, {1, 3, 2, 16}, {1, 3, 2, 16}, {1, 8, 2, 16}, {1, 8, 2, 16}, -1);
  return out;
}

}  // namespace

namespace cached_attention_detail {

namespace {

// dst (a [B, S, H, D] slice of a cache) = src, same dtype: one memcpy per head row when both
// have unit-stride rows (Tensor::copy_from dispatches on the ISA per call, which costs more
// than the copy itself for a decode step's few rows).
void copy_rows(const Tensor& src, Tensor dst) {
  if (src.dtype() != dst.dtype() || src.stride(3) != 1 || dst.stride(3) != 1) return dst.copy_from(src);
  const std::size_t es = tensor::info(src.dtype()).bits / 8, row = static_cast<std::size_t>(src.size(3)) * es;
  const auto* s = static_cast<const std::byte*>(src.data_ptr());
  auto* d = static_cast<std::byte*>(dst.data_ptr());
  for (std::int64_t b = 0; b < src.size(0); ++b)
    for (std::int64_t t = 0; t < src.size(1); ++t)
      for (std::int64_t h = 0; h < src.size(2); ++h)
        std::memcpy(d + static_cast<std::size_t>(b * dst.stride(0) + t * dst.stride(1) + h * dst.stride(2)) * es,
                    s + static_cast<std::size_t>(b * src.stride(0) + t * src.stride(1) + h * src.stride(2)) * es, row);
}

}  // namespace

void write_cache(const op::Args& a) {
  const Tensor& k = a.tensor("k");
  const std::int64_t past = a.int_value("past"), S = k.size(1);
  copy_rows(k, a.tensor("k_cache").narrow(1, past, S));
  copy_rows(a.tensor("v"), a.tensor("v_cache").narrow(1, past, S));
}

std::vector<op::Value> attention_args(const op::Args& a) {
  const std::int64_t past = a.int_value("past"), T = past + a.tensor("q").size(1);
  return op::bind_args(attention_schema(),
                       {a.tensor("q"), a.tensor("k_cache").narrow(1, 0, T), a.tensor("v_cache").narrow(1, 0, T),
                        a["scale"], true, a["window"], SymInt(past)});
}

}  // namespace cached_attention_detail

void register_cached_attention(op::Registry& r) {
  op::OpDef def;
  def.name = "cached_attention";
  def.schema = op::Schema::parse(
      "cached_attention(Tensor q, Tensor k, Tensor v, Tensor k_cache, Tensor v_cache, SymInt past, "
      "float? scale=None, int? window=None) -> Tensor");
  def.doc = "writes k, v into the KV cache at rows [past, past + S), then causal attention over rows [0, past + S)";
  def.constraints = kConstraints;
  def.fake = cached_attention_fake;
  def.reference = cached_attention_reference;
  def.variants = cached_attention_detail::variants();
  // The attention op's bound, on the equivalent attention call.
  def.tolerance = {.compare = [](const op::Args& a, std::size_t i, const Tensor& got, const Tensor& ref) {
    const std::vector<op::Value> att = cached_attention_detail::attention_args(a);
    return attention_detail::compare(attention_detail::problem)(op::Args(attention_schema(), att), i, got, ref);
  }};
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
