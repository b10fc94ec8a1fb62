// rotary and rope_cos_sin: reference kernels, the f32 rotation variant, tolerance, samples.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/op_def.hpp>

#include "ops/linear/elem.hpp"
#include "ops/linear/nn_common.hpp"
#include "ops/rotary/kernels.hpp"

namespace symtrace::ops {

op::Outputs rotary_fake(const op::Args& a, op::FakeContext& cx);        // op.cpp
op::Outputs rope_cos_sin_fake(const op::Args& a, op::FakeContext& cx);  // op.cpp

namespace {

// Positions as row indices, each checked against P (C5).
std::vector<std::int64_t> rows_of(const Tensor& positions, std::int64_t P) {
  std::vector<std::int64_t> out;
  for (double v : nn::read_f64(positions)) {
    if (!(v >= 0 && v < static_cast<double>(P))) {
      diag::Diagnostic d;
      d.code = "index";
      d.op = "rotary";
      d.constraint = "C5";
      d.argument = "positions";
      d.expected = fmt::format("positions in [0, {})", P);
      d.got = fmt::format("{}", v);
      d.message = fmt::format("position {} is past the {} rows of cos_sin", v, P);
      d.hint = "build the cache for max_position_embeddings (times the scaling factor)";
      throw diag::Error(std::move(d));
    }
    out.push_back(static_cast<std::int64_t>(v));
  }
  return out;
}

// The pair partner of channel c and whether c is the first of its pair.
std::pair<std::int64_t, bool> partner(std::int64_t c, std::int64_t rd, bool neox) {
  const std::int64_t half = rd / 2;
  if (neox) return c < half ? std::pair{c + half, true} : std::pair{c - half, false};
  return c % 2 == 0 ? std::pair{c + 1, true} : std::pair{c - 1, false};
}

// f64 rotation of x ([tokens, H, D] contiguous values); abs_out, when given, gets the sum of
// the magnitudes of the two products per element (for the tolerance).
std::vector<double> rotate(const std::vector<double>& x, std::int64_t H, std::int64_t D, std::int64_t rd,
                           const std::vector<std::int64_t>& rows, const std::vector<double>& cs, bool neox,
                           std::vector<double>* abs_out = nullptr) {
  std::vector<double> y(x.size());
  if (abs_out) abs_out->assign(x.size(), 0.0);
  const std::int64_t half = rd / 2;
  for (std::size_t t = 0; t < rows.size(); ++t)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t c = 0; c < D; ++c) {
        const auto at = [&](std::int64_t ch) { return static_cast<std::size_t>((static_cast<std::int64_t>(t) * H + h) * D + ch); };
        if (c >= rd) {
          y[at(c)] = x[at(c)];
          continue;
        }
        const auto [o, first] = partner(c, rd, neox);
        const std::int64_t i = neox ? (first ? c : o) : (first ? c : o) / 2;
        const double co = cs[static_cast<std::size_t>(rows[t] * rd + i)], si = cs[static_cast<std::size_t>(rows[t] * rd + half + i)];
        y[at(c)] = first ? x[at(c)] * co - x[at(o)] * si : x[at(c)] * co + x[at(o)] * si;
        if (abs_out) (*abs_out)[at(c)] = std::fabs(x[at(c)] * co) + std::fabs(x[at(o)] * si);
      }
  return y;
}

}  // namespace

op::Outputs rotary_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(rotary_fake, a, "rotary");
  const Tensor& q = a.tensor("q");
  const Tensor& k = a.tensor("k");
  const Tensor& cs = a.tensor("cos_sin");
  const std::int64_t D = q.size(-1), rd = a.int_value("rotary_dim");
  const std::vector<std::int64_t> rows = rows_of(a.tensor("positions"), cs.size(0));
  const std::vector<double> C = nn::read_f64(cs);
  const bool neox = a.str("style") == "neox";
  Tensor qo = cx.alloc.output(0, nn::out_sizes(f, 0), q.dtype());
  Tensor ko = cx.alloc.output(1, nn::out_sizes(f, 1), k.dtype());
  nn::write_f64(qo, rotate(nn::read_f64(q), q.size(-2), D, rd, rows, C, neox));
  nn::write_f64(ko, rotate(nn::read_f64(k), k.size(-2), D, rd, rows, C, neox));
  return {qo, ko};
}

// f32 rotation: two rounded products and a rounded sum, at most 3 ulps of f32 at
// |x1·c| + |x2·s| (the reference keeps that magnitude per element), then the output rounding.
std::string rotary_compare(const op::Args& a, std::size_t out, const Tensor& got, const Tensor& ref) {
  const Tensor& x = a.tensor(out == 0 ? "q" : "k");
  const Tensor& cs = a.tensor("cos_sin");
  std::vector<double> abs;
  rotate(nn::read_f64(x), x.size(-2), x.size(-1), a.int_value("rotary_dim"), rows_of(a.tensor("positions"), cs.size(0)),
         nn::read_f64(cs), a.str("style") == "neox", &abs);
  for (double& b : abs) b *= 3 * 0x1p-24;
  return nn::compare_bounded(got, ref, abs);
}

namespace {

constexpr std::array kKernelTypes = {DType::kF32, DType::kBF16, DType::kF16};

// The kernel walks tokens with one stride: leading dims must follow each other, heads have
// their own stride, channels are contiguous.
op::Applicability tokens_walkable(sym::ShapeEnv& env, const TensorMeta& t, std::string_view arg) {
  sym::Truth ok = env.decide(sym::eq(t.strides.back(), 1) || sym::eq(t.sizes.back(), 1));
  for (std::int64_t i = 0; i + 3 < t.dim(); ++i) {
    const auto u = static_cast<std::size_t>(i);
    ok = sym::truth_and(ok, env.decide(sym::eq(t.strides[u], t.strides[u + 1] * t.sizes[u + 1]) || sym::eq(t.sizes[u], 1)));
  }
  if (ok == sym::Truth::kTrue) return op::Applicability::yes();
  return {ok, fmt::format("{} with strides {} is not a run of [H, D] token blocks", arg, tensor::shape_str(t.strides))};
}

std::int64_t token_stride(const Tensor& t) {
  for (std::int64_t d = t.dim() - 3; d >= 0; --d)
    if (t.size(d) > 1) return t.stride(d);
  return 0;
}

// The cos/sin rows of the tokens' positions as f32, gathered once per call (the table has
// max_positions rows; only the used ones are read).
std::vector<float> cos_sin_rows(const Tensor& cs, const std::vector<std::int64_t>& rows, std::int64_t rd) {
  std::vector<float> out(rows.size() * static_cast<std::size_t>(rd));
  const bool direct = cs.dtype() == DType::kF32 && (rd <= 1 || cs.stride(1) == 1);
  for (std::size_t t = 0; t < rows.size(); ++t) {
    float* dst = out.data() + t * static_cast<std::size_t>(rd);
    if (direct) {
      const float* src = cs.data<float>() + rows[t] * cs.stride(0);
      std::copy(src, src + rd, dst);
    } else {
      for (std::int64_t i = 0; i < rd; ++i) dst[i] = static_cast<float>(cs.item(std::array{rows[t], i}));
    }
  }
  return out;
}

op::Outputs rotary_run(const op::Args& a, op::KernelContext& cx) {
  const Tensor& q = a.tensor("q");
  const Tensor& k = a.tensor("k");
  const Tensor& cs = a.tensor("cos_sin");
  const std::int64_t D = q.size(-1), rd = a.int_value("rotary_dim");
  const std::vector<std::int64_t> rows = rows_of(a.tensor("positions"), cs.size(0));
  const auto style = a.str("style") == "neox" ? kernels::RopeStyle::kNeox : kernels::RopeStyle::kGptj;
  Tensor qo = cx.alloc.output(0, q.sizes(), q.dtype());
  Tensor ko = cx.alloc.output(1, k.sizes(), k.dtype());
  const std::size_t es = q.dtype() == DType::kF32 ? 4 : 2;
  const std::int64_t tq = token_stride(q), tk = token_stride(k), Hq = q.size(-2), Hk = k.size(-2);
  const auto n = static_cast<std::int64_t>(rows.size());
  const std::vector<float> table = cos_sin_rows(cs, rows, rd);
#pragma omp parallel if (n * (Hq + Hk) * D >= 32768)
  {
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < n; ++t) {
      const float* row = table.data() + t * rd;
      const auto at = [es](const Tensor& x, std::int64_t off) {
        return static_cast<char*>(x.data_ptr()) + static_cast<std::size_t>(off) * es;
      };
      kernels::rotary_rows(at(q, t * tq), q.stride(-2), at(qo, t * Hq * D), D, q.dtype(), Hq, D, rd, row, style);
      kernels::rotary_rows(at(k, t * tk), k.stride(-2), at(ko, t * Hk * D), D, k.dtype(), Hk, D, rd, row, style);
    }
  }
  return {qo, ko};
}

}  // namespace

std::vector<op::Variant> rotary_variants() {
  return {{.name = "rotary.f32",
           .isa = Isa::kNone,
           .rule = "f32/bf16/f16 q and k whose tokens are evenly spaced [H, D] blocks with contiguous channels",
           .applicable =
               [](const op::Args& a, sym::ShapeEnv& env) {
                 if (auto r = nn::dtype_is(a.meta("q"), "q", kKernelTypes); r.truth != sym::Truth::kTrue) return r;
                 if (auto r = tokens_walkable(env, a.meta("q"), "q"); r.truth != sym::Truth::kTrue) return r;
                 return tokens_walkable(env, a.meta("k"), "k");
               },
           .run = rotary_run,
           .prepare = std::nullopt}};
}

op::Outputs rope_cos_sin_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(rope_cos_sin_fake, a, "rope_cos_sin");
  kernels::RopeScaling s;
  s.type = *kernels::rope_scaling_type(a.str("scaling"));
  s.factor = a.f64("factor");
  s.low_freq_factor = a.f64("low_freq_factor");
  s.high_freq_factor = a.f64("high_freq_factor");
  s.original_max_positions = a.int_value("original_max_positions");
  s.beta_fast = a.f64("beta_fast");
  s.beta_slow = a.f64("beta_slow");
  s.mscale = a.opt_f64("mscale");
  s.mscale_all_dim = a.opt_f64("mscale_all_dim");
  const std::vector<float> c = kernels::rope_cos_sin(a.int_value("max_positions"), a.int_value("rotary_dim"), a.f64("theta"), s);
  Tensor t = cx.alloc.output(0, nn::out_sizes(f), a.dtype("dtype"));
  nn::write_f64(t, std::vector<double>(c.begin(), c.end()));
  return {t};
}

std::vector<op::Sample> rotary_samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 59;
  struct Case {
    tensor::Shape lead;
    std::int64_t Hq, Hkv, D, rd;
  };
  const Case cases[] = {{{5}, 4, 2, 16, 16}, {{2, 3}, 3, 1, 64, 64}, {{1, 7}, 2, 2, 64, 32},
                        {{}, 1, 1, 8, 8},    {{2, 1, 3}, 2, 1, 34, 10}, {{0}, 2, 1, 8, 8}};
  const std::int64_t P = 37;
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (const Case& c : cases)
      for (const char* style : {"neox", "gptj"}) {
        tensor::Shape qs = c.lead, ks = c.lead;
        qs.insert(qs.end(), {c.Hq, c.D});
        ks.insert(ks.end(), {c.Hkv, c.D});
        out.push_back({fmt::format("lead{}_Hq{}_Hkv{}_D{}_rd{}_{}_{}", c.lead.size(), c.Hq, c.Hkv, c.D, c.rd, style,
                                   tensor::name(dt)),
                       {nn::sample_tensor(qs, dt, ++s), nn::sample_tensor(ks, dt, ++s),
                        nn::sample_tensor(c.lead, DType::kI64, ++s, nn::Layout::kContiguous, 0, P - 0.6f),
                        nn::sample_tensor({P, c.rd}, DType::kF32, ++s), std::string(style), SymInt(c.rd)}});
      }
  // q and k from one fused qkv projection: [T, (Hq + 2 Hkv) · D] sliced (strided tokens).
  const Tensor qkv = nn::sample_tensor({6, 8 * 16}, DType::kBF16, ++s);
  out.push_back({"qkv_slices_bf16", {qkv.narrow(1, 0, 64).view({6, 4, 16}), qkv.narrow(1, 64, 32).view({6, 2, 16}),
                                     nn::sample_tensor({6}, DType::kI32, ++s, nn::Layout::kContiguous, 0, 9.4f),
                                     nn::sample_tensor({10, 16}, DType::kBF16, ++s), std::string("neox"), SymInt(16)}});
  const auto bad = [&](std::string label, tensor::Shape qs, tensor::Shape ks, tensor::Shape ps, tensor::Shape css,
                       std::string style, std::int64_t rd) {
    out.push_back({std::move(label), {nn::sample_tensor(qs, DType::kF32, ++s), nn::sample_tensor(ks, DType::kF32, ++s),
                                      nn::sample_tensor(ps, DType::kI64, ++s, nn::Layout::kContiguous, 0, 3),
                                      nn::sample_tensor(css, DType::kF32, ++s), std::move(style), SymInt(rd)},
                   true});
  };
  bad("C1_positions_shape", {5, 4, 16}, {5, 2, 16}, {4}, {8, 16}, "neox", 16);
  bad("C2_rd_odd", {5, 4, 16}, {5, 2, 16}, {5}, {8, 15}, "neox", 15);
  bad("C2_rd_vs_cache", {5, 4, 16}, {5, 2, 16}, {5}, {8, 16}, "neox", 8);
  bad("C3_style", {5, 4, 16}, {5, 2, 16}, {5}, {8, 16}, "interleaved", 16);
  // C5 is data-dependent (the fake cannot see positions): Rotary.C5_RejectsPositionsPastTheCache.
  return out;
}

std::vector<op::Sample> rope_cos_sin_samples(std::uint64_t) {
  const auto args = [](std::int64_t P, std::int64_t rd, double theta, std::string scaling, double factor, DType dt) {
    return std::vector<op::Value>{SymInt(P), SymInt(rd), theta, std::move(scaling), factor, 1.0, 4.0, SymInt(64),
                                  32.0, 1.0, op::None{}, op::None{}, dt};
  };
  return {{"none_P17_rd8", args(17, 8, 10000, "none", 1, DType::kF32)},
          {"linear_P9_rd16_bf16", args(9, 16, 10000, "linear", 2, DType::kBF16)},
          {"llama3_P300_rd64", args(300, 64, 500000, "llama3", 8, DType::kF32)},
          {"yarn_P70_rd32", args(70, 32, 10000, "yarn", 4, DType::kF32)},
          {"C1_rd_odd", args(9, 7, 10000, "none", 1, DType::kF32), true},
          {"C2_scaling", args(9, 8, 10000, "ntk", 1, DType::kF32), true},
          {"C3_int_dtype", args(9, 8, 10000, "none", 1, DType::kI32), true}};
}

}  // namespace symtrace::ops
