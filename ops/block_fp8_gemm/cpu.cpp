// block_fp8_gemm fast path: activations quantized per 1 x bk group (ops/common/quantizers),
// then for M <= kGemvMaxM the decode GEMV (gemv.hpp: the weight streamed once, no packing),
// else the packed driver with a block-scaled K loop (K block = bk). Both multiply each block's
// partial sum by xs[m, j] * ws[n / bn, j] before it joins the f32 accumulator.
#include "ops/block_fp8_gemm/block_fp8.hpp"
#include "ops/block_fp8_gemm/gemv.hpp"
#include "ops/common/quantizers.hpp"
#include "ops/common/quantizers_op.hpp"

namespace symtrace::ops::block_fp8_gemm {
namespace {

// The variant's ISA, lowered to what this process may use (SYMTRACE_ISA caps it).
tensor::Isa gemv_isa(tensor::Isa isa) {
  using tensor::Isa;
  if (isa >= Isa::kAvx512Bf16 && tensor::cpu_supports(Isa::kAvx512Bf16)) return Isa::kAvx512Bf16;
  if (isa >= Isa::kAvx2 && tensor::cpu_supports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kNone;
}

ActKind act_kind(DType d) {
  return d == DType::kBF16 ? ActKind::kBF16 : d == DType::kF16 ? ActKind::kF16 : ActKind::kF32;
}

// M <= kGemvMaxM: quantize the rows (the same quantizer as the packed path), stream the weight.
void run_gemv(const op::Args& a, op::KernelContext& cx, tensor::Isa isa, bool pow2_act,
              const RowsView& rows, Tensor& out) {
  const Config c = config(a);
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const Tensor ws = a.tensor("w_scale").contiguous();
  const Tensor* bias = a.opt_tensor("bias");
  Gemv g;
  g.M = rows.M;
  g.N = w.size(0);
  g.K = rows.K;
  g.bn = c.bn;
  g.bk = c.bk;
  g.w = static_cast<const std::uint8_t*>(w.data_ptr());
  g.ldw = w.stride(0);
  g.ws = ws.data<float>();
  g.ws_ld = ws.size(1);
  g.ldo = g.N;
  const std::int64_t G = ws.size(1);
  g.act = c.quantize_act ? ActKind::kE4m3 : act_kind(x.dtype());
  isa = gemv_isa(isa);
  gemm_op::Workspace wsp(
      cx.alloc, {c.quantize_act ? static_cast<std::size_t>(g.M * g.K) : 0,
                 c.quantize_act ? static_cast<std::size_t>(g.M * G) * 4 : 0,
                 static_cast<std::size_t>(g.M * g.N) * 4, gemm_op::bias_bytes(bias),
                 gemv_workspace_bytes(g, isa)});
  if (c.quantize_act) {
    auto* q = reinterpret_cast<std::uint8_t*>(wsp[0].data());
    auto* xs = reinterpret_cast<float*>(wsp[1].data());
    quant::fp8_dynamic_group(qop::rows_of(x, "x"), c.bk, pow2_act, q, g.K,
                             quant::GroupScales{xs, nullptr, G, 1}, cx.threads);
    g.a = q;
    g.lda = g.K;
    g.xs = xs;
    g.xs_ld = G;
  } else {
    g.a = rows.data;
    g.lda = rows.row_stride;
  }
  g.out = reinterpret_cast<float*>(wsp[2].data());
  gemv(g, isa, wsp[4], cx.threads);
  gemm_op::Affine e;
  e.bias = gemm_op::bias_f32(bias, wsp[3]);
  e.out = out.data_ptr();
  e.out_dtype = out.dtype();
  e.ldo = g.N;
  gemm_op::affine_epilogue(e, /*int_acc=*/false)(gemm::Tile{g.out, g.N, 0, g.M, 0, g.N});
}

}  // namespace

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
  if (M <= kGemvMaxM) {
    run_gemv(a, cx, isa, pow2_act, rows, out);
    return {out};
  }

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
