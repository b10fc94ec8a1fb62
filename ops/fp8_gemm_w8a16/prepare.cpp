// fp8_gemm_w8a16 prepare: NK -> KN for weight and scale in one step (OPS.md §6, §14 item 2).
#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm_w8a16/w8a16.hpp"

namespace symtrace::ops::fp8_gemm_w8a16 {
namespace {

// Checks the bundle as the op does and refuses one that is already KN.
QuantizedWeight bind_nk(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "P1"};
  const TensorMeta& w = a.meta("w");
  if (layout_of(w) != WeightLayout::kNK)
    fail(site, violation("layout", "w", "NK", std::string(tensor::weight_layout_name(layout_of(w))),
                         "prepare NK->KN applied to a weight already tagged KN",
                         "a prepare step runs once per bundle; the weight is already transposed"));
  require_dtype(site, "w", w, {DType::kF8E4M3FN, DType::kF8E5M2});
  return bind_weight(site, "w", w, "w_scale", a.meta("w_scale"),
                     {Granularity::kTensor, Granularity::kChannel});
}

op::Outputs prepare_fake(const op::Args& a, op::FakeContext& cx) {
  const QuantizedWeight b = bind_nk(a, cx);
  TensorMeta w = TensorMeta::contiguous({b.K, b.N}, b.weight->dtype, b.weight->device);
  w.layout = WeightLayout::kKN;
  const bool per_channel = b.spec.granularity == Granularity::kChannel;
  TensorMeta s = TensorMeta::contiguous(per_channel ? SymShape{1, b.N} : SymShape{1}, DType::kF32,
                                        b.scale->device);
  s.layout = WeightLayout::kKN;
  s.scale_fmt = ScaleFormat::kF32;
  return {w, s};
}

op::Outputs prepare_run(const op::Args& a) {
  {
    sym::ShapeEnv env;
    op::FakeContext cx{env, a.schema().name};
    const std::vector<op::Value> metas = op::metas_of(a.values());
    bind_nk(op::Args(a.schema(), metas), cx);
  }
  const Tensor& w = a.tensor("w");
  const Tensor& s = a.tensor("w_scale");
  Tensor wt = w.transpose(0, 1).contiguous();
  Tensor st = s.numel() == 1 || s.dim() == 1 ? s.contiguous().clone()
                                             : s.transpose(0, 1).contiguous().clone();
  return {wt, st};
}

}  // namespace

op::Prepare prepare_nk_to_kn() {
  op::Prepare p;
  p.name = "fp8_gemm_w8a16.avx512_bf16.kn.prepare";
  p.rewrites = {"w", "w_scale"};
  p.fake = prepare_fake;
  p.run = prepare_run;
  return p;
}

}  // namespace symtrace::ops::fp8_gemm_w8a16
