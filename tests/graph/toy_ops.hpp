// Small op definitions for the graph and executor tests: f32 kernels written as plain loops,
// fakes that decide through the ShapeEnv. The tests build their own registries from these
// (and plant bugs in copies), so the graph code is tested without depending on ops/.
#pragma once

#include <cmath>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include <symtrace/graph/graph.hpp>
#include <symtrace/op/registry.hpp>

namespace symtrace::toy {

using op::Applicability;
using op::Args;
using op::FakeContext;
using op::KernelContext;
using op::OpDef;
using op::Outputs;
using op::Schema;
using sym::SymInt;
using tensor::DType;
using tensor::SymShape;
using tensor::Tensor;
using tensor::TensorMeta;

[[noreturn]] inline void shape_error(const FakeContext& cx, std::string arg, std::string expected,
                                     std::string got, std::string message) {
  diag::Diagnostic d;
  d.code = "shape";
  d.op = std::string(cx.op);
  d.argument = std::move(arg);
  d.expected = std::move(expected);
  d.got = std::move(got);
  d.message = std::move(message);
  throw diag::Error(std::move(d));
}

// Two dims are the same when identical or proven equal.
inline bool same(FakeContext& cx, const SymInt& a, const SymInt& b) {
  return a.identical(b) || cx.env.decide(sym::eq(a, b)) == sym::Truth::kTrue;
}

inline std::vector<std::int64_t> lead(const Tensor& t) {
  return {t.sizes().begin(), t.sizes().end() - 1};
}

// Writes f32 values into a kernel output (any float dtype, any strides).
inline void store(Tensor& out, const std::vector<float>& v) {
  Tensor tmp = Tensor::from_f32(out.sizes(), v, DType::kF32);
  out.copy_from(tmp);
}

// --- elementwise -----------------------------------------------------------------------

inline OpDef add_op(std::string name = "add") {
  OpDef d;
  d.name = name;
  d.schema = Schema::parse(name + "(Tensor x, Tensor y) -> Tensor");
  d.fake = [](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& x = a.meta("x");
    const TensorMeta& y = a.meta("y");
    bool ok = x.dim() == y.dim();
    for (std::int64_t i = 0; ok && i < x.dim(); ++i) ok = same(cx, x.sizes[i], y.sizes[i]);
    if (!ok) shape_error(cx, "y", x.shape_str(), y.shape_str(), "y must have the shape of x");
    return {TensorMeta::contiguous(x.sizes, x.dtype)};
  };
  d.reference = [](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor& x = a.tensor("x");
    std::vector<float> xv = x.to_f32(), yv = a.tensor("y").to_f32();
    for (std::size_t i = 0; i < xv.size(); ++i) xv[i] += yv[i];
    Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
    store(out, xv);
    return {out};
  };
  return d;
}

// --- linear and a flattening copy of it --------------------------------------------------

inline Outputs linear_kernel(const Args& a, KernelContext& cx) {
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const std::int64_t N = w.size(0), K = w.size(1), M = x.numel() / K;
  std::vector<float> xv = x.to_f32(), wv = w.to_f32(), y(static_cast<std::size_t>(M * N));
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (std::int64_t k = 0; k < K; ++k) acc += double(xv[m * K + k]) * wv[n * K + k];
      y[m * N + n] = static_cast<float>(acc);
    }
  std::vector<std::int64_t> sizes = lead(x);
  sizes.push_back(N);
  Tensor out = cx.alloc.output(0, sizes, x.dtype());
  store(out, y);
  return {out};
}

inline OpDef linear_op(std::string name = "linear", bool flatten_bug = false) {
  OpDef d;
  d.name = name;
  d.schema = Schema::parse(name + "(Tensor x, Tensor w) -> Tensor");
  d.fake = [flatten_bug](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& x = a.meta("x");
    const TensorMeta& w = a.meta("w");
    if (!same(cx, x.size(-1), w.size(1)))
      shape_error(cx, "w", fmt::format("[N, {}]", x.size(-1).str()), w.shape_str(),
                  "w must be [N, K] with K = x.size(-1)");
    SymShape out(x.sizes.begin(), x.sizes.end() - 1);
    if (flatten_bug) {  // vLLM #39984: view(-1, K) then [M, N]
      SymInt m = 1;
      for (const SymInt& s : out) m *= s;
      out = {m};
    }
    out.push_back(w.sizes[0]);
    return {TensorMeta::contiguous(out, x.dtype)};
  };
  d.reference = linear_kernel;
  return d;
}

// --- normalisation, activation ------------------------------------------------------------

inline OpDef rms_norm_op() {
  OpDef d;
  d.name = "rms_norm";
  d.schema = Schema::parse("rms_norm(Tensor x, Tensor w, float eps) -> Tensor");
  d.fake = [](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& x = a.meta("x");
    if (a.meta("w").dim() != 1 || !same(cx, a.meta("w").sizes[0], x.size(-1)))
      shape_error(cx, "w", fmt::format("[{}]", x.size(-1).str()), a.meta("w").shape_str(),
                  "w must be [H]");
    return {TensorMeta::contiguous(x.sizes, x.dtype)};
  };
  d.reference = [](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor& x = a.tensor("x");
    const std::int64_t H = x.size(-1), M = x.numel() / H;
    std::vector<float> xv = x.to_f32(), wv = a.tensor("w").to_f32();
    const double eps = a.f64("eps");
    for (std::int64_t m = 0; m < M; ++m) {
      double ss = 0;
      for (std::int64_t h = 0; h < H; ++h) ss += double(xv[m * H + h]) * xv[m * H + h];
      const double r = 1.0 / std::sqrt(ss / double(H) + eps);
      for (std::int64_t h = 0; h < H; ++h) xv[m * H + h] = float(xv[m * H + h] * r) * wv[h];
    }
    Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
    store(out, xv);
    return {out};
  };
  return d;
}

inline OpDef silu_mul_op() {
  OpDef d;
  d.name = "silu_mul";
  d.schema = Schema::parse("silu_mul(Tensor x) -> Tensor");
  d.fake = [](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& x = a.meta("x");
    if (cx.env.decide(sym::divisible(x.size(-1), 2)) != sym::Truth::kTrue)
      shape_error(cx, "x", "[*, 2*d]", x.shape_str(), "the last dim must be even");
    SymShape out = x.sizes;
    out.back() = sym::floordiv(out.back(), 2);
    return {TensorMeta::contiguous(out, x.dtype)};
  };
  d.reference = [](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor& x = a.tensor("x");
    const std::int64_t D2 = x.size(-1), D = D2 / 2, M = x.numel() / D2;
    std::vector<float> xv = x.to_f32(), y(static_cast<std::size_t>(M * D));
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t i = 0; i < D; ++i) {
        const float g = xv[m * D2 + i], u = xv[m * D2 + D + i];
        y[m * D + i] = g / (1.f + std::exp(-g)) * u;
      }
    std::vector<std::int64_t> sizes = lead(x);
    sizes.push_back(D);
    Tensor out = cx.alloc.output(0, sizes, x.dtype());
    store(out, y);
    return {out};
  };
  return d;
}

// --- views -----------------------------------------------------------------------------

inline OpDef view_op() {
  OpDef d;
  d.name = "view";
  d.schema = Schema::parse("view(Tensor x, SymInt[] size) -> Tensor");
  d.is_view = true;
  d.fake = [](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& x = a.meta("x");
    const std::vector<SymInt>& size = a.sym_ints("size");
    SymInt n = 1;
    for (const SymInt& s : size) n *= s;
    if (!same(cx, n, x.numel()))
      shape_error(cx, "size", x.numel().str(), n.str(), "a view keeps the number of elements");
    if (x.is_contiguous(cx.env) != sym::Truth::kTrue)
      shape_error(cx, "x", "contiguous", x.str(), "view needs a contiguous input");
    TensorMeta out = TensorMeta::contiguous(size, x.dtype);
    out.storage_offset = x.storage_offset;
    return {out};
  };
  d.reference = [](const Args& a, KernelContext&) -> Outputs {
    return {a.tensor("x").view(a.ints("size"))};
  };
  return d;
}

// --- attention over [B, S, H, D] (causal, GQA) ---------------------------------------------

inline OpDef attention_op() {
  OpDef d;
  d.name = "attention";
  d.schema = Schema::parse("attention(Tensor q, Tensor k, Tensor v) -> Tensor");
  d.fake = [](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& q = a.meta("q");
    const TensorMeta& k = a.meta("k");
    if (q.dim() != 4 || k.dim() != 4 || !same(cx, q.sizes[3], k.sizes[3]) ||
        !same(cx, q.sizes[1], k.sizes[1]))
      shape_error(cx, "k", "[B, S, Hkv, D]", k.shape_str(), "k must match q");
    return {TensorMeta::contiguous(q.sizes, q.dtype)};
  };
  d.reference = [](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor& q = a.tensor("q");
    const std::int64_t B = q.size(0), S = q.size(1), Hq = q.size(2), D = q.size(3);
    const std::int64_t Hkv = a.tensor("k").size(2), group = Hq / Hkv;
    std::vector<float> qv = q.to_f32(), kv = a.tensor("k").to_f32(), vv = a.tensor("v").to_f32();
    std::vector<float> out(qv.size());
    const double scale = 1.0 / std::sqrt(double(D));
    auto at = [&](std::int64_t b, std::int64_t s, std::int64_t h, std::int64_t H) {
      return ((b * S + s) * H + h) * D;
    };
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t h = 0; h < Hq; ++h)
        for (std::int64_t i = 0; i < S; ++i) {
          std::vector<double> p(static_cast<std::size_t>(i + 1));
          double mx = -1e300, sum = 0;
          for (std::int64_t j = 0; j <= i; ++j) {
            double dot = 0;
            for (std::int64_t c = 0; c < D; ++c)
              dot += double(qv[at(b, i, h, Hq) + c]) * kv[at(b, j, h / group, Hkv) + c];
            p[j] = dot * scale;
            mx = std::max(mx, p[j]);
          }
          for (double& x : p) sum += (x = std::exp(x - mx));
          for (std::int64_t c = 0; c < D; ++c) {
            double acc = 0;
            for (std::int64_t j = 0; j <= i; ++j) acc += p[j] / sum * vv[at(b, j, h / group, Hkv) + c];
            out[at(b, i, h, Hq) + c] = float(acc);
          }
        }
    Tensor o = cx.alloc.output(0, q.sizes(), q.dtype());
    store(o, out);
    return {o};
  };
  return d;
}

// A registry of the ops above.
inline op::Registry basic_registry() {
  op::Registry r;
  r.add(add_op());
  r.add(linear_op());
  r.add(rms_norm_op());
  r.add(silu_mul_op());
  r.add(view_op());
  r.add(attention_op());
  return r;
}

}  // namespace symtrace::toy
