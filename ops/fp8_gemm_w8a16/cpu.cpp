// fp8_gemm_w8a16 fast path: bf16 activations with fp8 -> bf16 weight panels and vdpbf16ps,
// f16 activations through f32 FMA (f16 is not exact in bf16), decode GEMV for M <= 16.
#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm_w8a16/w8a16.hpp"

namespace symtrace::ops::fp8_gemm_w8a16 {

op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa, bool kn) {
  if (!kn) qop::fake_for_real(a, fake);  // prepared tensors carry no tag on the real side
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const RowsView rows = rows_view(x, "x");
  const std::int64_t N = kn ? w.size(1) : w.size(0);
  if (kn && (w.dim() != 2 || w.size(0) != rows.K))
    throw diag::InternalError("fp8_gemm_w8a16.kn: the prepared weight is not [K, N]");
  tensor::Shape out_shape(x.sizes().begin(), x.sizes().end() - 1);
  out_shape.push_back(N);
  Tensor out = cx.alloc.output(0, out_shape, x.dtype());
  gemm_op::FloatCall c;
  const gemm::Elem xe = x.dtype() == DType::kBF16 ? gemm::Elem::kBF16 : gemm::Elem::kF16;
  const gemm::Elem we = w.dtype() == DType::kF8E5M2 ? gemm::Elem::kF8E5M2 : gemm::Elem::kF8E4M3;
  c.a = gemm::MatA{rows.data, xe, rows.row_stride};
  c.M = rows.M;
  c.K = rows.K;
  c.N = N;
  c.b = gemm::MatB{w.data_ptr(), we, w.stride(0), kn};
  c.epi.sb = channel_scale(a.tensor("w_scale"));
  c.epi.out = out.data_ptr();
  c.epi.out_dtype = out.dtype();
  c.epi.ldo = N;
  c.bias = a.opt_tensor("bias");
  gemm::PackKind kind = gemm::PackKind::kF32;
  if (isa == tensor::Isa::kAvx512Bf16) {
    if (xe == gemm::Elem::kBF16)
      kind = gemm::PackKind::kBf16;
    else
      isa = tensor::Isa::kAvx512;  // f16 activations: the AVX-512 f32 microkernel
  }
  gemm_op::compute_float(c, kind, isa, cx);
  return {out};
}

}  // namespace symtrace::ops::fp8_gemm_w8a16
