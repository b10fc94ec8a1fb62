// scaled_dot_product_attention — torch.nn.functional.scaled_dot_product_attention for the
// refdata replay and for models written against PyTorch's [..., H, L, E] layout.
//
// Rules (PyTorch 2.11's meta results, probed on the installed 2.11): query [..., L, E],
// key [..., S, E], value [..., S, Ev], at least 2-D; the leading dims broadcast; with
// enable_gqa the head dim (-3) of key/value must divide query's and query head h reads kv head
// h / (Hq / Hkv); attn_mask (bool: keep where true; float: added) broadcasts to [..., L, S];
// is_causal is top-left aligned (j <= i, PyTorch's tril) and excludes attn_mask. The output is
// contiguous [..., L, Ev] of query's dtype. dropout_p must be 0 (inference). A query row with
// no visible key gives zeros (PyTorch's math backend: NaN in older releases). Unlike PyTorch's
// Python signature, scale and enable_gqa are not keyword-only (opcheck samples are positional).
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/attention/attention.hpp"

namespace symtrace::ops {

namespace {
constexpr std::array kTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};
}  // namespace

const std::vector<std::string> kSdpaConstraints = {
    "C1: query, key and value have rank >= 2 ([..., L, E], [..., S, E], [..., S, Ev])",
    "C2: query, key, value share one float dtype; attn_mask is bool or that dtype",
    "C3: key.size(-1) == query.size(-1) == E and value.size(-2) == key.size(-2) == S",
    "C4: with enable_gqa, key/value heads (dim -3) agree and divide query's",
    "C5: the leading dims of query, key and value broadcast (heads too, without enable_gqa)",
    "C6: attn_mask broadcasts to [..., L, S]; is_causal excludes attn_mask",
    "C7: dropout_p == 0",
};

namespace {

struct Shapes {
  SymShape batch;        // broadcast leading dims of the output
  SymInt L, S, E, Ev;
};

Shapes check_sdpa(const op::Args& a, sym::ShapeEnv& env, std::string_view op) {
  const nn::Site site{env, op};
  const TensorMeta& q = a.meta("query");
  const TensorMeta& k = a.meta("key");
  const TensorMeta& v = a.meta("value");
  for (const auto& [n, t] : {std::pair<const char*, const TensorMeta*>{"query", &q}, {"key", &k}, {"value", &v}})
    nn::require_rank(site.at("C1"), n, *t, 2, nn::kAnyRank, "[..., L, E]");
  nn::require_dtype(site.at("C2"), "query", q, kTypes);
  nn::require_same_dtype(site.at("C2"), "key", k, "query", q.dtype);
  nn::require_same_dtype(site.at("C2"), "value", v, "query", q.dtype);
  Shapes s{{}, q.sizes[q.sizes.size() - 2], k.sizes[k.sizes.size() - 2], q.sizes.back(), v.sizes.back()};
  nn::require_size(site.at("C3"), "key", k, -1, s.E, "E = query.size(-1)");
  nn::require_size(site.at("C3"), "value", v, -2, s.S, "S = key.size(-2)");
  SymShape qb(q.sizes.begin(), q.sizes.end() - 2), kb(k.sizes.begin(), k.sizes.end() - 2),
      vb(v.sizes.begin(), v.sizes.end() - 2);
  if (a.flag("enable_gqa") && q.dim() >= 3 && k.dim() >= 3 && v.dim() >= 3) {
    nn::require_size(site.at("C4"), "value", v, -3, k.sizes[k.sizes.size() - 3], "Hkv = key.size(-3)");
    attention_detail::require_gqa(site.at("C4"), qb.back(), kb.back());
    kb.back() = qb.back();  // kv heads repeat to the query heads
    vb.back() = qb.back();
  }
  s.batch = nn::broadcast_shapes(site.at("C5"), "query", qb, "key", kb);
  s.batch = nn::broadcast_shapes(site.at("C5"), "query", s.batch, "value", vb);
  if (const TensorMeta* m = a.opt_meta("attn_mask")) {
    if (a.flag("is_causal"))
      nn::fail(site.at("C6"), "shape-mismatch", "attn_mask", "None with is_causal=True", m->shape_str(),
               "an explicit attn_mask cannot be combined with is_causal");
    if (m->dtype != DType::kBool) nn::require_same_dtype(site.at("C2"), "attn_mask", *m, "query", q.dtype);
    SymShape full = s.batch;
    full.push_back(s.L);
    full.push_back(s.S);
    const SymShape b = nn::broadcast_shapes(site.at("C6"), "scores", full, "attn_mask", m->sizes);
    if (b.size() != full.size())
      nn::fail(site.at("C6"), "shape-mismatch", "attn_mask", tensor::shape_str(full), m->shape_str(),
               "attn_mask has more dims than the scores");
    for (std::size_t i = 0; i < b.size(); ++i)
      if (!b[i].identical(full[i]) && env.decide(sym::eq(b[i], full[i])) != sym::Truth::kTrue)
        nn::fail(site.at("C6"), "shape-mismatch", "attn_mask", tensor::shape_str(full), m->shape_str(),
                 "attn_mask must broadcast to the scores' shape");
  }
  if (a.f64("dropout_p") != 0.0)
    nn::fail(site.at("C7"), "shape-mismatch", "dropout_p", "0", fmt::format("{}", a.f64("dropout_p")),
             "dropout is a training feature; symtrace runs inference");
  return s;
}

}  // namespace

op::Outputs sdpa_fake(const op::Args& a, op::FakeContext& cx) {
  Shapes s = check_sdpa(a, cx.env, cx.op);
  s.batch.push_back(s.L);
  s.batch.push_back(s.Ev);
  return {nn::contiguous_like(std::move(s.batch), a.meta("query").dtype, a.meta("query"))};
}

namespace {

// Element offset of a broadcast operand for output batch index `idx` (row-major over batch).
std::int64_t bcast_offset(const Tensor& t, const tensor::Shape& batch, const std::vector<std::int64_t>& idx,
                          std::int64_t trailing, std::int64_t group_dim_div) {
  // t is read through read_f64 (contiguous copy): strides from its sizes.
  const std::int64_t rank = t.dim();
  std::vector<std::int64_t> st(static_cast<std::size_t>(rank), 1);
  for (std::int64_t d = rank - 2; d >= 0; --d) st[static_cast<std::size_t>(d)] = st[static_cast<std::size_t>(d + 1)] * t.size(d + 1);
  std::int64_t off = 0;
  const std::int64_t nb = rank - trailing, shift = static_cast<std::int64_t>(batch.size()) - nb;
  for (std::int64_t d = 0; d < nb; ++d) {
    std::int64_t i = idx[static_cast<std::size_t>(d + shift)];
    if (d == nb - 1 && group_dim_div > 1) i /= group_dim_div;  // GQA: kv head of query head i
    if (t.size(d) == 1) i = 0;
    off += i * st[static_cast<std::size_t>(d)];
  }
  return off;
}

op::Outputs sdpa_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(sdpa_fake, a, "scaled_dot_product_attention");
  const Tensor& q = a.tensor("query");
  const Tensor& k = a.tensor("key");
  const Tensor& v = a.tensor("value");
  const Tensor* mask = a.opt_tensor("attn_mask");
  const tensor::Shape out_sizes = nn::out_sizes(f);
  const tensor::Shape batch(out_sizes.begin(), out_sizes.end() - 2);
  const std::int64_t L = q.size(-2), S = k.size(-2), E = q.size(-1), Ev = v.size(-1);
  const bool gqa = a.flag("enable_gqa") && q.dim() >= 3 && k.dim() >= 3;
  const std::int64_t group = gqa ? q.size(-3) / k.size(-3) : 1;
  const double scale = a.opt_f64("scale").value_or(1.0 / std::sqrt(static_cast<double>(E)));
  const bool causal = a.flag("is_causal");
  const std::vector<double> Q = nn::read_f64(q), K = nn::read_f64(k), V = nn::read_f64(v);
  const std::vector<double> Mk = mask ? nn::read_f64(*mask) : std::vector<double>{};
  std::int64_t nbatch = 1;
  for (std::int64_t d : batch) nbatch *= d;
  std::vector<double> out(static_cast<std::size_t>(nbatch * L * Ev), 0.0), s(static_cast<std::size_t>(S));
  std::vector<std::int64_t> idx(batch.size(), 0);
  for (std::int64_t n = 0; n < nbatch; ++n) {
    const std::int64_t oq = bcast_offset(q, batch, idx, 2, 1), ok = bcast_offset(k, batch, idx, 2, group),
                       ov = bcast_offset(v, batch, idx, 2, group);
    std::int64_t om = 0, mrs = 0, mcs = 0;  // mask offset and strides over (i, j)
    if (mask) {
      tensor::Shape full = batch;
      full.push_back(L);
      full.push_back(S);
      // The mask right-aligned against [batch..., L, S].
      std::vector<std::int64_t> mi(idx.begin(), idx.end());
      mi.push_back(0);
      mi.push_back(0);
      std::int64_t st = 1;
      for (std::int64_t d = mask->dim() - 1; d >= 0; --d) {
        const std::size_t fd = full.size() - static_cast<std::size_t>(mask->dim() - d);
        const std::int64_t step = mask->size(d) == 1 ? 0 : st;
        if (fd == full.size() - 1) mcs = step;
        else if (fd == full.size() - 2) mrs = step;
        else om += mi[fd] * step;
        st *= mask->size(d);
      }
    }
    for (std::int64_t i = 0; i < L; ++i) {
      double mx = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < S; ++j) {
        double x = -std::numeric_limits<double>::infinity();
        bool keep = !causal || j <= i;
        double add = 0;
        if (mask) {
          const double mv = Mk[static_cast<std::size_t>(om + i * mrs + j * mcs)];
          if (mask->dtype() == DType::kBool) keep = keep && mv != 0;
          else add = mv;
        }
        if (keep) {
          double dot = 0;
          for (std::int64_t e = 0; e < E; ++e)
            dot += Q[static_cast<std::size_t>(oq + i * E + e)] * K[static_cast<std::size_t>(ok + j * E + e)];
          x = scale * dot + add;
        }
        s[static_cast<std::size_t>(j)] = x;
        mx = std::max(mx, x);
      }
      if (mx == -std::numeric_limits<double>::infinity()) continue;  // no visible key: zeros
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - mx));
      for (std::int64_t c = 0; c < Ev; ++c) {
        double acc = 0;
        for (std::int64_t j = 0; j < S; ++j) acc += s[static_cast<std::size_t>(j)] * V[static_cast<std::size_t>(ov + j * Ev + c)];
        out[static_cast<std::size_t>((n * L + i) * Ev + c)] = acc / sum;
      }
    }
    for (std::size_t d = batch.size(); d-- > 0;) {  // next batch index
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  Tensor t = cx.alloc.output(0, out_sizes, q.dtype());
  nn::write_f64(t, out);
  return {t};
}

// The fast path: 4-D [B, H, L, E] operands of one batch size, no mask, GQA or equal heads.
attention_detail::Problem sdpa_problem(const op::Args& a, bool actual) {
  const Tensor& q = a.tensor("query");
  const Tensor& k = a.tensor("key");
  const Tensor& v = a.tensor("value");
  const auto st = [actual](const Tensor& t) -> std::array<std::int64_t, 4> {
    if (actual) return {t.stride(0), t.stride(2), t.stride(1), t.stride(3)};  // [b, s, h, d]
    const std::int64_t s3 = 1, s2 = t.size(3), s1 = s2 * t.size(2), s0 = s1 * t.size(1);
    return {s0, s2, s1, s3};
  };
  attention_detail::Problem p;
  p.B = q.size(0), p.Hq = q.size(1), p.S = q.size(2), p.D = q.size(3);
  p.Hkv = k.size(1), p.T = k.size(2), p.Dv = v.size(3);
  p.qs = st(q), p.ks = st(k), p.vs = st(v);
  p.os = {p.Hq * p.S * p.Dv, p.Dv, p.S * p.Dv, 1};
  p.scale = a.opt_f64("scale").value_or(1.0 / std::sqrt(static_cast<double>(p.D)));
  p.causal = a.flag("is_causal");
  p.q_offset = 0;  // top-left alignment
  return p;
}

op::Applicability sdpa_extra(const op::Args& a, sym::ShapeEnv& env) {
  if (!a.is_none("attn_mask")) return op::Applicability::no("attn_mask is given");
  const TensorMeta& q = a.meta("query");
  const TensorMeta& k = a.meta("key");
  const TensorMeta& v = a.meta("value");
  const sym::Truth same_b = sym::truth_and(env.decide(sym::eq(k.sizes[0], q.sizes[0])),
                                           env.decide(sym::eq(v.sizes[0], q.sizes[0])));
  if (same_b != sym::Truth::kTrue) return {same_b, "the batch dims broadcast"};
  if (env.decide(sym::eq(k.sizes[1], q.sizes[1])) != sym::Truth::kTrue && !a.flag("enable_gqa"))
    return op::Applicability::no("the head dims broadcast");
  if (env.decide(sym::eq(v.sizes[1], k.sizes[1])) != sym::Truth::kTrue)
    return op::Applicability::no("key and value heads differ");
  return op::Applicability::yes();
}

std::vector<op::Sample> sdpa_samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 53;
  const auto t = [&](tensor::Shape sz, DType d = DType::kF32) { return nn::sample_tensor(std::move(sz), d, ++s); };
  struct Case {
    tensor::Shape q, k, v;
    bool causal, gqa;
  };
  const Case cases[] = {{{2, 8, 5, 16}, {2, 8, 7, 16}, {2, 8, 7, 8}, false, false},
                        {{2, 8, 5, 16}, {2, 2, 7, 16}, {2, 2, 7, 16}, false, true},
                        {{1, 4, 9, 32}, {1, 4, 9, 32}, {1, 4, 9, 32}, true, false},
                        {{1, 6, 17, 8}, {1, 3, 17, 8}, {1, 3, 17, 8}, true, true},
                        {{2, 8, 3, 16}, {1, 8, 4, 16}, {1, 8, 4, 16}, false, false},
                        {{8, 5, 16}, {8, 7, 16}, {8, 7, 4}, false, false},
                        {{5, 16}, {7, 16}, {7, 16}, true, false}};
  for (DType dt : {DType::kF32, DType::kBF16})
    for (const Case& c : cases)
      out.push_back({fmt::format("q{}_k{}{}{}_{}", tensor::shape_str(SymShape(c.q.begin(), c.q.end())),
                                 tensor::shape_str(SymShape(c.k.begin(), c.k.end())), c.causal ? "_causal" : "",
                                 c.gqa ? "_gqa" : "", tensor::name(dt)),
                     {t(c.q, dt), t(c.k, dt), t(c.v, dt), op::None{}, 0.0, c.causal, op::None{}, c.gqa}});
  // Masks: bool [L, S], additive float broadcast over heads.
  Tensor keep = Tensor::empty({5, 7}, DType::kBool);
  keep.fill_random(++s, 0, 1);
  out.push_back({"bool_mask", {t({2, 4, 5, 16}), t({2, 4, 7, 16}), t({2, 4, 7, 16}), keep}});
  out.push_back({"float_mask", {t({2, 4, 5, 16}), t({2, 4, 7, 16}), t({2, 4, 7, 16}), t({2, 1, 5, 7})}});
  // Transposed views of a [B, L, H, E] projection: only the strides change.
  out.push_back({"from_BLHE_views", {t({2, 5, 4, 16}).transpose(1, 2), t({2, 7, 4, 16}).transpose(1, 2),
                                     t({2, 7, 4, 16}).transpose(1, 2), op::None{}, 0.0, false, 0.25}});
  out.push_back({"C1_1d", {t({16}), t({16}), t({16})}, true});
  out.push_back({"C2_mixed", {t({1, 2, 3, 8}, DType::kBF16), t({1, 2, 3, 8}), t({1, 2, 3, 8})}, true});
  out.push_back({"C3_E_mismatch", {t({2, 8, 5, 64}), t({2, 8, 7, 32}), t({2, 8, 7, 32})}, true});
  out.push_back({"C4_6_of_4", {t({2, 6, 5, 8}), t({2, 4, 7, 8}), t({2, 4, 7, 8}), op::None{}, 0.0, false, op::None{}, true}, true});
  out.push_back({"C5_gqa_without_flag", {t({2, 8, 5, 8}), t({2, 2, 7, 8}), t({2, 2, 7, 8})}, true});
  out.push_back({"C6_mask_6x7", {t({2, 8, 5, 8}), t({2, 8, 7, 8}), t({2, 8, 7, 8}), t({6, 7})}, true});
  out.push_back({"C6_causal_and_mask", {t({2, 8, 5, 8}), t({2, 8, 7, 8}), t({2, 8, 7, 8}), t({5, 7}), 0.0, true}, true});
  out.push_back({"C7_dropout", {t({2, 8, 5, 8}), t({2, 8, 7, 8}), t({2, 8, 7, 8}), op::None{}, 0.1}, true});
  return out;
}

}  // namespace

void register_sdpa(op::Registry& r) {
  op::OpDef def;
  def.name = "scaled_dot_product_attention";
  def.schema = op::Schema::parse(
      "scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, "
      "float dropout_p=0.0, bool is_causal=False, float? scale=None, bool enable_gqa=False) -> Tensor");
  def.doc = "torch's F.scaled_dot_product_attention on [..., H, L, E] tensors (inference: no dropout)";
  def.constraints = kSdpaConstraints;
  def.fake = sdpa_fake;
  def.reference = sdpa_reference;
  def.variants = attention_detail::variants(def.name, sdpa_problem, sdpa_extra);
  def.tolerance = {.compare = attention_detail::compare(sdpa_problem)};
  def.samples = sdpa_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
