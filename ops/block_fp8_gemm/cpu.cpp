// block_fp8_gemm fast path: activations quantized per 1 x bk group (ops/common/quantizers),
// then the packed driver with a block-scaled K loop (K block = bk): each block's partial sum
// is multiplied by xs[m, j] * ws[n / bn, j] before it joins the f32 accumulator.
#include "ops/block_fp8_gemm/block_fp8.hpp"
#include "ops/common/quantizers.hpp"
#include "ops/common/quantizers_op.hpp"

namespace symtrace::ops::block_fp8_gemm {

op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa, bool pow2_act) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  Tensor out = qop::alloc_like(cx.alloc, 0, boost::variant2::get<TensorMeta>(metas[0]));
  const Config c = config(a);
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const Tensor ws = a.tensor("w_scale").contiguous();
  const RowsView rows = rows_view(x, "x");
  const std::int64_t M = rows.M, K = rows.K, N = w.size(0), G = ws.size(1);
  if (M == 0 || N == 0) return {out};

  gemm_op::FloatCall call;
  call.M = M;
  call.N = N;
  call.K = K;
  call.b = gemm::MatB{w.data_ptr(), gemm::Elem::kF8E4M3, w.stride(0), false};
  call.epi.out = out.data_ptr();
  call.epi.out_dtype = out.dtype();
  call.epi.ldo = N;
  call.bias = a.opt_tensor("bias");
  gemm::BlockScales bs{nullptr, G, ws.data<float>(), G, c.bn, c.bk};
  call.block = &bs;

  gemm::PackKind kind = gemm::PackKind::kF32;
  gemm::Elem xe = x.dtype() == DType::kBF16  ? gemm::Elem::kBF16
                  : x.dtype() == DType::kF16 ? gemm::Elem::kF16
                                             : gemm::Elem::kF32;
  if (c.quantize_act) xe = gemm::Elem::kF8E4M3;
  if (isa == tensor::Isa::kAvx512Bf16) {
    if (xe == gemm::Elem::kF8E4M3 || xe == gemm::Elem::kBF16)
      kind = gemm::PackKind::kBf16;
    else
      isa = tensor::Isa::kAvx512;  // f16/f32 activations are not exact in bf16
  }
  gemm_op::Workspace ws_q(cx.alloc, {c.quantize_act ? static_cast<std::size_t>(M * K) : 0,
                                     static_cast<std::size_t>(M * G) * 4});
  auto* xs = reinterpret_cast<float*>(ws_q[1].data());
  if (c.quantize_act) {
    auto* q = reinterpret_cast<std::uint8_t*>(ws_q[0].data());
    quant::fp8_dynamic_group(qop::rows_of(x, "x"), c.bk, pow2_act, q, K,
                             quant::GroupScales{xs, nullptr, G, 1}, cx.threads);
    call.a = gemm::MatA{q, xe, K};
  } else {
    std::fill(xs, xs + M * G, 1.f);  // act_quant = "none": only the weight blocks scale
    call.a = gemm::MatA{rows.data, xe, rows.row_stride};
  }
  bs.xs = xs;
  gemm_op::compute_float(call, kind, isa, cx);
  return {out};
}

}  // namespace symtrace::ops::block_fp8_gemm
