// block_fp8_gemm deepgemm_like prepare: requantize each 128x128 block to a power-of-two scale
// (OPS.md §2.1: w = decode(q)*s_old; amax = max(max|w|, 1e-4); s_new = 2^ceil(log2(amax/448));
// q_new = encode_sat(w / s_new)). Rounding the scale up without requantizing would inflate
// every partial sum by s_new/s_old (HF transformers #47030, vLLM #22399).
#include <algorithm>
#include <cmath>

#include <symtrace/op/registry.hpp>

#include "ops/block_fp8_gemm/block_fp8.hpp"
#include "ops/common/quantizers.hpp"
#include "ops/common/quantizers_op.hpp"

namespace symtrace::ops::block_fp8_gemm {
namespace {

QuantizedWeight bind_f32(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "P1"};
  const TensorMeta& s = a.meta("w_scale");
  // Applying the step twice is an error (OPS.md §14 item 10), not a no-op.
  require_scale_format(site, "w_scale", s, {ScaleFormat::kF32});
  const Config c = config(a);
  require_dtype(site, "w", a.meta("w"), {DType::kF8E4M3FN});
  require_layout(site, "w", a.meta("w"), {WeightLayout::kNK});
  return bind_weight(site, "w", a.meta("w"), "w_scale", s, {Granularity::kBlock},
                     BlockShape{c.bn, c.bk});
}

op::Outputs prepare_fake(const op::Args& a, op::FakeContext& cx) {
  const QuantizedWeight b = bind_f32(a, cx);
  TensorMeta w = TensorMeta::contiguous(b.weight->sizes, DType::kF8E4M3FN, b.weight->device);
  w.layout = WeightLayout::kNK;
  TensorMeta s = TensorMeta::contiguous(b.scale->sizes, DType::kF32, b.scale->device);
  s.layout = WeightLayout::kNK;
  s.scale_fmt = ScaleFormat::kF32Pow2;
  return {w, s};
}

op::Outputs prepare_run(const op::Args& a) {
  {
    sym::ShapeEnv env;
    op::FakeContext cx{env, a.schema().name};
    const std::vector<op::Value> metas = op::metas_of(a.values());
    bind_f32(op::Args(a.schema(), metas), cx);
  }
  const Config c = config(a);
  const Tensor w = a.tensor("w").contiguous();
  const Tensor s = a.tensor("w_scale").contiguous();
  const std::int64_t N = w.size(0), K = w.size(1), Kb = s.size(1);
  Tensor wq = Tensor::empty({N, K}, DType::kF8E4M3FN);
  Tensor sq = Tensor::empty(s.sizes(), DType::kF32);
  const auto* q = w.data<std::uint8_t>();
  const float* so = s.data<float>();
  auto* qn = wq.data<std::uint8_t>();
  float* sn = sq.data<float>();
  for (std::int64_t i = 0; i < s.size(0); ++i)
    for (std::int64_t j = 0; j < Kb; ++j) {
      const std::int64_t n0 = i * c.bn, n1 = std::min(N, n0 + c.bn);
      const std::int64_t k0 = j * c.bk, k1 = std::min(K, k0 + c.bk);
      const float old = so[i * Kb + j];
      float amax = 0.f;
      for (std::int64_t n = n0; n < n1; ++n)
        for (std::int64_t k = k0; k < k1; ++k)
          amax = std::max(amax, std::fabs(quant::e4m3fn_decode(q[n * K + k]) * old));
      const float s_new = quant::ceil_pow2(std::max(amax, kRequantAmaxFloor) / quant::kE4m3Max);
      const float inv = 1.f / s_new;  // exact: s_new is a power of two
      for (std::int64_t n = n0; n < n1; ++n)
        for (std::int64_t k = k0; k < k1; ++k)
          qn[n * K + k] = quant::e4m3fn_encode_sat(quant::e4m3fn_decode(q[n * K + k]) * old * inv);
      sn[i * Kb + j] = s_new;
    }
  return {wq, sq};
}

}  // namespace

op::Prepare prepare_requant_ue8m0() {
  op::Prepare p;
  p.name = "block_fp8_gemm.deepgemm_like.prepare";
  p.rewrites = {"w", "w_scale"};
  p.fake = prepare_fake;
  p.run = prepare_run;
  return p;
}

}  // namespace symtrace::ops::block_fp8_gemm
