// Quantized toy ops for the catch tests: a weight-only linear with a per-channel scale
// bound by layout tag (and buggy prepare steps), a block-scaled GEMM with a DeepGEMM-like
// variant, an NVFP4-like GEMM, and a fused-MoE stand-in. Kernels are plain loops.
#pragma once

#include "tests/graph/toy_ops.hpp"

namespace symtrace::toy {

using tensor::ScaleFormat;
using tensor::WeightLayout;

[[noreturn]] inline void fail_code(const FakeContext& cx, std::string code, std::string arg,
                                   std::string expected, std::string got, std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.op = std::string(cx.op);
  d.argument = std::move(arg);
  d.expected = std::move(expected);
  d.got = std::move(got);
  d.message = std::move(message);
  throw diag::Error(std::move(d));
}

inline bool is_kn(const TensorMeta& w) { return w.layout == WeightLayout::kKN; }

// --- qlinear(x, w, w_scale): y = x @ (w * s)^T, w NK [N, K] or KN [K, N] by tag ------------

// The strict fake checks the per-channel scale against the weight's layout tag; the lax
// one (`check_scale` false) is the "kernel indexes scale[n] and runs fine" kind.
inline OpDef qlinear_op(bool check_scale = true) {
  OpDef d;
  d.name = "qlinear";
  d.schema = Schema::parse("qlinear(Tensor x, Tensor w, Tensor w_scale) -> Tensor");
  d.fake = [check_scale](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& x = a.meta("x");
    const TensorMeta& w = a.meta("w");
    const TensorMeta& s = a.meta("w_scale");
    const SymInt N = is_kn(w) ? w.sizes[1] : w.sizes[0];
    const SymInt K = is_kn(w) ? w.sizes[0] : w.sizes[1];
    if (!same(cx, K, x.size(-1)))
      shape_error(cx, "w", fmt::format("K = {}", x.size(-1).str()), w.shape_str(), "K mismatch");
    if (check_scale) {
      const SymShape want = is_kn(w) ? SymShape{1, N} : SymShape{N, 1};
      bool ok = s.dim() == 2 && same(cx, s.sizes[0], want[0]) && same(cx, s.sizes[1], want[1]);
      if (!ok)
        fail_code(cx, "scale-layout", "w_scale", tensor::shape_str(want), s.shape_str(),
                  "per-channel scale must follow the weight's output-channel axis");
    }
    SymShape out(x.sizes.begin(), x.sizes.end() - 1);
    out.push_back(N);
    return {TensorMeta::contiguous(out, x.dtype)};
  };
  d.reference = [](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor& x = a.tensor("x");
    const Tensor& w = a.tensor("w");
    const bool kn = w.size(0) == x.size(-1) && w.size(1) != x.size(-1);
    const std::int64_t K = x.size(-1), N = kn ? w.size(1) : w.size(0), M = x.numel() / K;
    std::vector<float> xv = x.to_f32(), wv = w.to_f32(), sv = a.tensor("w_scale").to_f32();
    std::vector<float> y(static_cast<std::size_t>(M * N));
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (std::int64_t k = 0; k < K; ++k) acc += double(xv[m * K + k]) * (kn ? wv[k * N + n] : wv[n * K + k]);
        y[m * N + n] = float(acc * sv[n]);
      }
    std::vector<std::int64_t> sizes = lead(x);
    sizes.push_back(N);
    Tensor out = cx.alloc.output(0, sizes, x.dtype());
    store(out, y);
    return {out};
  };
  return d;
}

enum class KnPrepare {
  kCorrect,     // weight and scale transposed together, tags set, refuses a KN bundle
  kWeightOnly,  // vLLM #42725: the weight transposed, the scale left behind
  kByShape,     // skips the weight transpose when it "already looks [K, N]" (#44110)
};

// A variant wanting KN weights, with the chosen prepare behaviour.
inline op::Variant qlinear_kn_variant(KnPrepare kind) {
  op::Variant v;
  v.name = kind == KnPrepare::kCorrect      ? "qlinear.kn"
           : kind == KnPrepare::kWeightOnly ? "qlinear.kn_weight_only"
                                            : "qlinear.kn_by_shape";
  v.rule = "KN-tagged weight";
  if (kind != KnPrepare::kByShape)  // the by-shape kernel trusts its prepare step, as Marlin did
    v.applicable = [](const Args& a, sym::ShapeEnv&) {
      return is_kn(a.meta("w")) ? Applicability::yes() : Applicability::no("needs a KN weight");
    };
  v.run = qlinear_op().reference;
  op::Prepare p;
  p.name = v.name + ".prepare";
  p.rewrites = {"w", "w_scale"};
  p.fake = [kind](const Args& a, FakeContext& cx) -> Outputs {
    const TensorMeta& w = a.meta("w");
    const TensorMeta& s = a.meta("w_scale");
    if (is_kn(w)) fail_code(cx, "layout", "w", "NK", "KN", "the weight is already KN");
    bool transpose_weight = true;
    if (kind == KnPrepare::kByShape) {
      // "Already [K, N]?" asked of the shape: a guard when N and K are distinct symbols.
      transpose_weight = cx.env.require(sym::eq(w.sizes[0], a.meta("x").size(-1)),
                                        "weight already looks [K, N]") != sym::Truth::kTrue;
    }
    TensorMeta w2 = w, s2 = s;
    if (transpose_weight) {
      w2 = TensorMeta::contiguous({w.sizes[1], w.sizes[0]}, w.dtype);
      w2.layout = WeightLayout::kKN;
    }
    if (kind != KnPrepare::kWeightOnly) {  // the scale follows (unconditionally, as in #42725)
      s2 = TensorMeta::contiguous({s.sizes[1], s.sizes[0]}, s.dtype);
      s2.scale_fmt = s.scale_fmt;
      s2.layout = WeightLayout::kKN;
    }
    return {w2, s2};
  };
  p.run = [](const Args& a) -> Outputs {
    return {a.tensor("w").transpose(0, 1).contiguous(),
            a.tensor("w_scale").transpose(0, 1).contiguous()};
  };
  v.prepare = p;
  return v;
}

// --- bgemm(x, w, ws, out_dtype): block-scaled GEMM, 128x128 blocks ------------------------

inline Applicability divisible_rule(sym::ShapeEnv& env, const SymInt& x, std::int64_t m,
                                    const char* what, bool guard) {
  const sym::Cond c = sym::divisible(x, m);
  sym::Truth t = env.decide(c);
  if (t == sym::Truth::kUnknown && guard)
    t = env.require(c, fmt::format("bgemm.deepgemm_guarded: {} % {} == 0", what, m)) ==
                sym::Truth::kFalse
            ? sym::Truth::kFalse
            : sym::Truth::kTrue;  // recorded: checked at bind
  if (t == sym::Truth::kTrue) return Applicability::yes();
  return {t, fmt::format("{} % {} == 0 is {}: {} = {}", what, m, sym::truth_name(t), what, x.str())};
}

// The output dtype on either side (metas at trace time, tensors in kernels).
inline DType bgemm_out(const Args& a) {
  const op::Value& x = a["x"];
  const auto* m = boost::variant2::get_if<TensorMeta>(&x);
  return a.opt_dtype("out_dtype").value_or(m ? m->dtype : boost::variant2::get<Tensor>(x).dtype());
}

inline op::Variant bgemm_deepgemm(bool guard) {
  op::Variant v;
  v.name = guard ? "bgemm.deepgemm_guarded" : "bgemm.deepgemm_like";
  v.rule = "bf16 out, N % 64 == 0, K % 128 == 0, UE8M0 scales";
  v.applicable = [guard](const Args& a, sym::ShapeEnv& env) -> Applicability {
    if (bgemm_out(a) != DType::kBF16)
      return Applicability::no(fmt::format("out dtype {} != bf16", tensor::name(bgemm_out(a))));
    if (a.meta("ws").scale_fmt != ScaleFormat::kUE8M0)
      return Applicability::no(fmt::format("reads UE8M0 scales; got {}",
                                           tensor::scale_format_name(a.meta("ws").scale_fmt)));
    Applicability n = divisible_rule(env, a.meta("w").sizes[0], 64, "N", guard);
    if (n.truth != sym::Truth::kTrue) return n;
    return divisible_rule(env, a.meta("w").sizes[1], 128, "K", guard);
  };
  v.run = [](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor& x = a.tensor("x");
    std::vector<std::int64_t> sizes = lead(x);
    sizes.push_back(a.tensor("w").size(0));
    Tensor out = cx.alloc.output(0, sizes, bgemm_out(a));
    out.fill(0);
    return {out};
  };
  op::Prepare p;
  p.name = v.name + ".prepare";
  p.rewrites = {"ws"};
  p.fake = [](const Args& a, FakeContext& cx) -> Outputs {
    TensorMeta s = a.meta("ws");
    if (s.scale_fmt == ScaleFormat::kUE8M0)
      fail_code(cx, "scale-format", "ws", "f32", "ue8m0", "scales are already UE8M0");
    s.dtype = DType::kF8E8M0FNU;
    s.scale_fmt = ScaleFormat::kUE8M0;
    return {s};
  };
  p.run = [](const Args& a) -> Outputs { return {a.tensor("ws").to(DType::kF8E8M0FNU)}; };
  v.prepare = p;
  return v;
}

inline op::Variant bgemm_generic() {
  op::Variant v;
  v.name = "bgemm.generic";
  v.rule = "f32 scales";
  v.applicable = [](const Args& a, sym::ShapeEnv&) -> Applicability {
    const ScaleFormat f = a.meta("ws").scale_fmt;
    if (f != ScaleFormat::kF32 && f != ScaleFormat::kNone)
      return Applicability::no(fmt::format("reads f32 scales; got {}", tensor::scale_format_name(f)));
    return Applicability::yes();
  };
  v.run = bgemm_deepgemm(false).run;
  return v;
}

inline OpDef bgemm_op(std::vector<op::Variant> variants) {
  OpDef d;
  d.name = "bgemm";
  d.schema = Schema::parse("bgemm(Tensor x, Tensor w, Tensor ws, *, ScalarType? out_dtype=None) -> Tensor");
  d.fake = [](const Args& a, FakeContext&) -> Outputs {
    const TensorMeta& x = a.meta("x");
    SymShape out(x.sizes.begin(), x.sizes.end() - 1);
    out.push_back(a.meta("w").sizes[0]);
    return {TensorMeta::contiguous(out, bgemm_out(a))};
  };
  d.reference = bgemm_deepgemm(false).run;
  d.variants = std::move(variants);
  return d;
}

// --- fp4_gemm: NVFP4 weights; kernels gate on the activation scheme -----------------------

inline OpDef fp4_gemm_op() {
  OpDef d;
  d.name = "fp4_gemm";
  d.schema = Schema::parse(
      "fp4_gemm(Tensor x, Tensor w, Tensor w_scale, Tensor? input_scale=None) -> Tensor");
  d.fake = [](const Args& a, FakeContext&) -> Outputs {
    const TensorMeta& x = a.meta("x");
    SymShape out(x.sizes.begin(), x.sizes.end() - 1);
    out.push_back(a.meta("w").sizes[0]);
    return {TensorMeta::contiguous(out, x.dtype)};
  };
  d.reference = bgemm_deepgemm(false).run;
  auto needs_act = [&d](const char* name) {
    op::Variant v;
    v.name = name;
    v.rule = "NVFP4 activations (input_scale given)";
    v.applicable = [](const Args& a, sym::ShapeEnv&) -> Applicability {
      if (a.is_none("input_scale"))
        return Applicability::no("needs NVFP4 activations (an input_scale); the checkpoint is "
                                 "weight-only (W4A16)");
      return Applicability::yes();
    };
    v.run = d.reference;
    return v;
  };
  op::Variant marlin;
  marlin.name = "fp4_gemm.marlin_w4a16";
  marlin.rule = "f16 activations";
  marlin.applicable = [](const Args& a, sym::ShapeEnv&) -> Applicability {
    if (a.meta("x").dtype != DType::kF16)
      return Applicability::no(fmt::format("needs f16 activations; got {}", tensor::name(a.meta("x").dtype)));
    return Applicability::yes();
  };
  marlin.run = d.reference;
  d.variants = {needs_act("fp4_gemm.b12x_w4a4"), needs_act("fp4_gemm.cutlass_w4a4"), marlin};
  return d;
}

// --- moe(x, w13, w13_scale): a fused-MoE stand-in whose kernel indexes scale[e*N + n] -------

inline OpDef moe_op() {
  OpDef d;
  d.name = "moe";
  d.schema = Schema::parse("moe(Tensor x, Tensor w13, Tensor w13_scale) -> Tensor");
  d.fake = [](const Args& a, FakeContext&) -> Outputs {  // lax: the Quark bug runs "fine"
    return {TensorMeta::contiguous(a.meta("x").sizes, a.meta("x").dtype)};
  };
  d.reference = [](const Args& a, KernelContext& cx) -> Outputs {
    Tensor out = cx.alloc.output(0, a.tensor("x").sizes(), a.tensor("x").dtype());
    out.fill(0);
    return {out};
  };
  return d;
}

}  // namespace symtrace::toy
