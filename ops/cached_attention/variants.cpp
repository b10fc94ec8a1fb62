// The fast variants of cached_attention: the cache write (a strided copy of S rows), then the
// attention kernel (ops/attention/kernels.hpp) reading the caches in place, q_offset = past.
#include <cmath>

#include <fmt/format.h>

#include "ops/attention/kernels.hpp"
#include "ops/cached_attention/cached_attention.hpp"

namespace symtrace::ops::cached_attention_detail {

namespace {

constexpr std::array kKernelTypes = {DType::kF32, DType::kBF16, DType::kF16};

op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env) {
  if (auto r = nn::dtype_is(a.meta("q"), "q", kKernelTypes); r.truth != sym::Truth::kTrue) return r;
  for (const char* n : {"q", "k_cache", "v_cache"}) {
    const TensorMeta& t = a.meta(n);
    if (t.dim() != 4) return op::Applicability::no(fmt::format("{} is not 4-D", n));
    const sym::Truth unit = env.decide(sym::eq(t.strides[3], 1) || sym::eq(t.sizes[3], 1));
    if (unit != sym::Truth::kTrue) return {unit, fmt::format("{}'s last dim has stride {}", n, t.strides[3].str())};
  }
  return op::Applicability::yes();
}

std::array<std::int64_t, 4> strides4(const Tensor& t) { return {t.stride(0), t.stride(1), t.stride(2), t.stride(3)}; }

op::KernelFn run(Isa isa) {
  return [isa](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    write_cache(a);
    const Tensor& q = a.tensor("q");
    const Tensor& kc = a.tensor("k_cache");
    const Tensor& vc = a.tensor("v_cache");
    const std::int64_t B = q.size(0), S = q.size(1), Hq = q.size(2), D = q.size(3), Dv = vc.size(3);
    const std::int64_t past = a.int_value("past");
    Tensor out = cx.alloc.output(0, {B, S, Hq, Dv}, q.dtype());
    kernels::Attention k{.B = B, .S = S, .T = past + S, .Hq = Hq, .Hkv = kc.size(2), .D = D, .Dv = Dv,
                         .q = q.data_ptr(), .k = kc.data_ptr(), .v = vc.data_ptr(), .out = out.data_ptr(),
                         .q_stride = strides4(q), .k_stride = strides4(kc), .v_stride = strides4(vc),
                         .out_stride = {S * Hq * Dv, Hq * Dv, Dv, 1}, .dtype = q.dtype(),
                         .scale = static_cast<float>(a.opt_f64("scale").value_or(1.0 / std::sqrt(static_cast<double>(D)))),
                         .causal = true, .q_offset = past, .window = a.opt_int("window").value_or(0)};
    kernels::attention(k, isa);
    return {out};
  };
}

}  // namespace

std::vector<op::Variant> variants() {
  const char* rule = "f32/bf16/f16 q and caches with a unit-stride head dim (k, v in any layout)";
  return {{.name = "cached_attention.avx512", .isa = Isa::kAvx512, .rule = rule, .applicable = applicable,
           .run = run(Isa::kAvx512), .prepare = std::nullopt},
          {.name = "cached_attention.avx2", .isa = Isa::kAvx2, .rule = rule, .applicable = applicable,
           .run = run(Isa::kAvx2), .prepare = std::nullopt}};
}

}  // namespace symtrace::ops::cached_attention_detail
