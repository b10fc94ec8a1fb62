// fp8_gemm_w8a16 fast path: bf16 activations with fp8 -> bf16 weight panels and vdpbf16ps,
// f16 activations through f32 FMA (f16 is not exact in bf16). Decode (M <= kGemvMaxM, NK
// e4m3 weight) streams the weight through block_fp8_gemm's GEMV with one K block and the
// per-channel scale as a [N, 1] block grid (bn = 1); e5m2 and KN weights keep ops/common's.
#include "ops/block_fp8_gemm/gemv.hpp"
#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm_w8a16/w8a16.hpp"

namespace symtrace::ops::fp8_gemm_w8a16 {
namespace {

// The variant's ISA, lowered to what this process may use (SYMTRACE_ISA caps it).
tensor::Isa gemv_isa(tensor::Isa isa) {
  using tensor::Isa;
  if (isa >= Isa::kAvx512Bf16 && tensor::cpu_supports(Isa::kAvx512Bf16)) return Isa::kAvx512Bf16;
  if (isa >= Isa::kAvx2 && tensor::cpu_supports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kNone;
}

void run_gemv(const op::Args& a, op::KernelContext& cx, tensor::Isa isa, const RowsView& rows,
              Tensor& out) {
  namespace bg = block_fp8_gemm;
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const Tensor* bias = a.opt_tensor("bias");
  const ChannelScale sb = channel_scale(a.tensor("w_scale"));
  bg::Gemv g;
  g.M = rows.M;
  g.N = w.size(0);
  g.K = rows.K;
  g.bn = 1;  // scale row n is channel n (stride 0: per-tensor)
  g.bk = std::max<std::int64_t>(rows.K, 1);
  g.a = rows.data;
  g.act = x.dtype() == DType::kBF16 ? bg::ActKind::kBF16 : bg::ActKind::kF16;
  g.lda = rows.row_stride;
  g.w = static_cast<const std::uint8_t*>(w.data_ptr());
  g.ldw = w.stride(0);
  g.ws = sb.data;
  g.ws_ld = sb.stride;
  g.ldo = g.N;
  isa = gemv_isa(isa);
  gemm_op::Workspace wsp(cx.alloc, {static_cast<std::size_t>(g.M * g.N) * 4,
                                    gemm_op::bias_bytes(bias), bg::gemv_workspace_bytes(g, isa)});
  g.out = reinterpret_cast<float*>(wsp[0].data());
  bg::gemv(g, isa, wsp[2], cx.threads);
  gemm_op::Affine e;
  e.bias = gemm_op::bias_f32(bias, wsp[1]);
  e.out = out.data_ptr();
  e.out_dtype = out.dtype();
  e.ldo = g.N;
  gemm_op::affine_epilogue(e, /*int_acc=*/false)(gemm::Tile{g.out, g.N, 0, g.M, 0, g.N});
}

}  // namespace

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
  if (!kn && w.dtype() == DType::kF8E4M3FN && rows.M > 0 && rows.M <= block_fp8_gemm::kGemvMaxM &&
      N > 0) {
    run_gemv(a, cx, isa, rows, out);
    return {out};
  }
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
