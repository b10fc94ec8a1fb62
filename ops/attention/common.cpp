// What attention and scaled_dot_product_attention share: problem, f64 reference, variants,
// tolerance (attention.hpp).
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ops/attention/attention.hpp"
#include "ops/attention/kernels.hpp"

namespace symtrace::ops::attention_detail {

namespace {

std::array<std::int64_t, 4> strides_of(const Tensor& t, bool actual) {
  if (actual) return {t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
  const std::int64_t s3 = 1, s2 = t.size(3), s1 = s2 * t.size(2), s0 = s1 * t.size(1);
  return {s0, s1, s2, s3};
}

}  // namespace

Problem problem(const op::Args& a, bool actual) {
  const Tensor& q = a.tensor("q");
  const Tensor& k = a.tensor("k");
  const Tensor& v = a.tensor("v");
  Problem p;
  p.B = q.size(0), p.S = q.size(1), p.Hq = q.size(2), p.D = q.size(3);
  p.T = k.size(1), p.Hkv = k.size(2), p.Dv = v.size(3);
  p.qs = strides_of(q, actual);
  p.ks = strides_of(k, actual);
  p.vs = strides_of(v, actual);
  p.os = {p.S * p.Hq * p.Dv, p.Hq * p.Dv, p.Dv, 1};
  p.scale = a.opt_f64("scale").value_or(1.0 / std::sqrt(static_cast<double>(p.D)));
  p.causal = a.flag("causal");
  p.q_offset = a.is_none("q_offset") ? p.T - p.S : a.sym_int("q_offset").value();
  p.window = a.opt_int("window").value_or(0);
  return p;
}

void require_gqa(const nn::Site& site, const SymInt& Hq, const SymInt& Hkv) {
  const sym::Cond c = sym::eq(mod(Hq, Hkv), 0);
  if (site.env.require(c, fmt::format("{} {}: Hq % Hkv == 0", site.op, site.constraint)) == sym::Truth::kFalse) {
    const SymInt syms[] = {Hq, Hkv};
    nn::fail(site, "shape-mismatch", "k", fmt::format("a number of kv heads dividing {}", Hq.str()), Hkv.str(),
             fmt::format("the {} kv heads must divide the {} query heads (GQA)", Hkv.str(), Hq.str()), syms);
  }
}

namespace {

// Visits every (b, h, i) row: calls f(b, h, i, scores over visible keys [lo, hi), lo).
template <class F>
void for_each_row(const Problem& p, const std::vector<double>& Q, const std::vector<double>& K, F&& f) {
  const std::int64_t group = p.Hq / p.Hkv;
  std::vector<double> s;
  for (std::int64_t b = 0; b < p.B; ++b)
    for (std::int64_t h = 0; h < p.Hq; ++h)
      for (std::int64_t i = 0; i < p.S; ++i) {
        std::int64_t lo = 0, hi = p.T;
        if (p.causal) {
          hi = std::clamp<std::int64_t>(i + p.q_offset + 1, 0, p.T);
          if (p.window > 0) lo = std::clamp<std::int64_t>(i + p.q_offset - p.window + 1, 0, p.T);
        }
        s.assign(static_cast<std::size_t>(std::max<std::int64_t>(hi - lo, 0)), 0.0);
        for (std::int64_t j = lo; j < hi; ++j) {
          double dot = 0;
          for (std::int64_t d = 0; d < p.D; ++d)
            dot += Q[static_cast<std::size_t>(b * p.qs[0] + i * p.qs[1] + h * p.qs[2] + d * p.qs[3])] *
                   K[static_cast<std::size_t>(b * p.ks[0] + j * p.ks[1] + (h / group) * p.ks[2] + d * p.ks[3])];
          s[static_cast<std::size_t>(j - lo)] = p.scale * dot;
        }
        f(b, h, i, s, lo);
      }
}

}  // namespace

std::vector<double> reference(const Problem& p, const Tensor& q, const Tensor& k, const Tensor& v) {
  const std::vector<double> Q = nn::read_f64(q), K = nn::read_f64(k), V = nn::read_f64(v);
  std::vector<double> out(static_cast<std::size_t>(p.B * p.S * p.Hq * p.Dv), 0.0);
  const std::int64_t group = p.Hq / p.Hkv;
  for_each_row(p, Q, K, [&](std::int64_t b, std::int64_t h, std::int64_t i, std::vector<double>& s, std::int64_t lo) {
    if (s.empty()) return;  // sees no key: zeros
    double mx = -std::numeric_limits<double>::infinity(), sum = 0;
    for (double x : s) mx = std::max(mx, x);
    for (double& x : s) sum += (x = std::exp(x - mx));
    for (std::int64_t c = 0; c < p.Dv; ++c) {
      double acc = 0;
      for (std::size_t j = 0; j < s.size(); ++j)
        acc += s[j] * V[static_cast<std::size_t>(b * p.vs[0] + (lo + static_cast<std::int64_t>(j)) * p.vs[1] +
                                                 (h / group) * p.vs[2] + c * p.vs[3])];
      out[static_cast<std::size_t>(b * p.os[0] + i * p.os[1] + h * p.os[2] + c * p.os[3])] = acc / sum;
    }
  });
  return out;
}

namespace {

constexpr std::array kKernelTypes = {DType::kF32, DType::kBF16, DType::kF16};

op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env, std::span<const std::string> names) {
  const TensorMeta& q = a.meta(names[0]);
  if (auto r = nn::dtype_is(q, names[0], kKernelTypes); r.truth != sym::Truth::kTrue) return r;
  for (const std::string& n : names) {
    const TensorMeta& t = a.meta(n);
    if (t.dim() != 4) return op::Applicability::no(fmt::format("{} is not 4-D", n));
    const sym::Truth unit = env.decide(sym::eq(t.strides[3], 1) || sym::eq(t.sizes[3], 1));
    if (unit != sym::Truth::kTrue) return {unit, fmt::format("{}'s last dim has stride {}", n, t.strides[3].str())};
  }
  return op::Applicability::yes();
}

}  // namespace

std::vector<op::Variant> variants(const std::string& op, ProblemFn problem_of, Extra extra) {
  const std::vector<std::string> names = op == "attention" ? std::vector<std::string>{"q", "k", "v"}
                                                           : std::vector<std::string>{"query", "key", "value"};
  const auto app = [names, extra](const op::Args& a, sym::ShapeEnv& env) {
    if (auto r = applicable(a, env, names); r.truth != sym::Truth::kTrue) return r;
    return extra ? extra(a, env) : op::Applicability::yes();
  };
  const auto run = [names, problem_of](Isa isa) {
    return [names, problem_of, isa](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
      const Problem p = problem_of(a, true);
      const Tensor& q = a.tensor(names[0]);
      // The output keeps the op's own layout ([B, S, H, Dv] or [B, H, S, Dv]); p.os says how.
      tensor::Shape sizes = names[0] == "q" ? tensor::Shape{p.B, p.S, p.Hq, p.Dv} : tensor::Shape{p.B, p.Hq, p.S, p.Dv};
      Tensor out = cx.alloc.output(0, sizes, q.dtype());
      kernels::Attention k{.B = p.B, .S = p.S, .T = p.T, .Hq = p.Hq, .Hkv = p.Hkv, .D = p.D, .Dv = p.Dv,
                           .q = q.data_ptr(), .k = a.tensor(names[1]).data_ptr(), .v = a.tensor(names[2]).data_ptr(),
                           .out = out.data_ptr(), .q_stride = p.qs, .k_stride = p.ks, .v_stride = p.vs,
                           .out_stride = p.os, .dtype = q.dtype(), .scale = static_cast<float>(p.scale),
                           .causal = p.causal, .q_offset = p.q_offset, .window = p.window};
      kernels::attention(k, isa);
      return {out};
    };
  };
  const char* rule = "f32/bf16/f16 q, k, v with a unit-stride head dim (any other strides, e.g. a KV cache view)";
  return {{.name = op + ".avx512", .isa = Isa::kAvx512, .rule = rule, .applicable = app, .run = run(Isa::kAvx512),
           .prepare = std::nullopt},
          {.name = op + ".avx2", .isa = Isa::kAvx2, .rule = rule, .applicable = app, .run = run(Isa::kAvx2),
           .prepare = std::nullopt}};
}

CompareFn compare(ProblemFn problem_of) {
  return [problem_of](const op::Args& a, std::size_t, const Tensor& got, const Tensor& ref) {
    const Problem p = problem_of(a, false);
    const bool attention = a.schema().name == "attention";
    const Tensor& q = a.tensor(attention ? "q" : "query");
    const Tensor& k = a.tensor(attention ? "k" : "key");
    const Tensor& v = a.tensor(attention ? "v" : "value");
    const std::vector<double> Q = nn::read_f64(q), K = nn::read_f64(k), V = nn::read_f64(v);
    std::vector<double> bound(static_cast<std::size_t>(ref.numel()), 0.0);
    const std::int64_t group = p.Hq / p.Hkv;
    for_each_row(p, Q, K, [&](std::int64_t b, std::int64_t h, std::int64_t i, std::vector<double>& s, std::int64_t lo) {
      if (s.empty()) return;
      // |Δscore| from f32 dot products, relative to |q|·|k|.
      double qk = 0;
      for (std::size_t j = 0; j < s.size(); ++j) {
        double t = 0;
        for (std::int64_t d = 0; d < p.D; ++d)
          t += std::fabs(Q[static_cast<std::size_t>(b * p.qs[0] + i * p.qs[1] + h * p.qs[2] + d * p.qs[3])] *
                         K[static_cast<std::size_t>(b * p.ks[0] + (lo + static_cast<std::int64_t>(j)) * p.ks[1] +
                                                    (h / group) * p.ks[2] + d * p.ks[3])]);
        qk = std::max(qk, p.scale * t);
      }
      double mx = -std::numeric_limits<double>::infinity(), sum = 0, spread = 0;
      for (double x : s) mx = std::max(mx, x);
      for (double x : s) spread = std::max(spread, mx - x);
      for (double& x : s) sum += (x = std::exp(x - mx));
      const double rel = 0x1p-24 * (static_cast<double>(p.D + 2) * qk + static_cast<double>(s.size()) + 32 + 2 * spread);
      for (std::int64_t c = 0; c < p.Dv; ++c) {
        double pv = 0;
        for (std::size_t j = 0; j < s.size(); ++j)
          pv += s[j] / sum * std::fabs(V[static_cast<std::size_t>(b * p.vs[0] + (lo + static_cast<std::int64_t>(j)) * p.vs[1] +
                                                                 (h / group) * p.vs[2] + c * p.vs[3])]);
        bound[static_cast<std::size_t>(b * p.os[0] + i * p.os[1] + h * p.os[2] + c * p.os[3])] = rel * pv;
      }
    });
    return nn::compare_bounded(got, ref, bound);
  };
}

}  // namespace symtrace::ops::attention_detail
