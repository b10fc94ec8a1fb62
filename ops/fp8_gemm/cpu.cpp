// fp8_gemm fast path: fp8 -> bf16 expansion and vdpbf16ps (AVX512_BF16), or f32 FMA on
// AVX2 / scalar; the decode GEMV for M <= 16 on AVX-512 (ops/common/gemm_*).
#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm/fp8_gemm.hpp"

namespace symtrace::ops::fp8_gemm {

op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  Tensor out = qop::alloc_like(cx.alloc, 0, boost::variant2::get<TensorMeta>(metas[0]));
  const RowsView rows = rows_view(a.tensor("a"), "a");
  const Tensor& b = a.tensor("b");
  gemm_op::FloatCall c;
  c.a = gemm::MatA{rows.data, gemm::Elem::kF8E4M3, rows.row_stride};
  c.M = rows.M;
  c.K = rows.K;
  c.N = b.size(0);
  c.b = gemm::MatB{b.data_ptr(), gemm::Elem::kF8E4M3, b.stride(0), false};
  c.epi.sa = row_scale(a.tensor("scale_a"));
  c.epi.sb = channel_scale(a.tensor("b_scale"));
  c.epi.out = out.data_ptr();
  c.epi.out_dtype = out.dtype();
  c.epi.ldo = c.N;
  c.bias = a.opt_tensor("bias");
  const gemm::PackKind kind =
      isa == tensor::Isa::kAvx512Bf16 ? gemm::PackKind::kBf16 : gemm::PackKind::kF32;
  gemm_op::compute_float(c, kind, isa, cx);
  return {out};
}

}  // namespace symtrace::ops::fp8_gemm
