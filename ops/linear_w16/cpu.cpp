// linear_w16 fast path: the decode GEMV for M <= kGemvMaxM, else ops/common's packed driver
// with f32 panels (its packer widens the bf16/f16 weight; f32 x rows are read in place). The
// call was checked by the fake when it was traced (the executor) or selected (op::call).
#include "ops/common/gemm_op.hpp"
#include "ops/linear/nn_common.hpp"
#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops::linear_w16 {

op::Outputs run(const op::Args& a, op::KernelContext& cx, Isa isa) {
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const Tensor* bias = a.opt_tensor("bias");
  const RowsView rows = rows_view(x, "x");
  const std::int64_t N = w.size(0), K = w.size(1);
  tensor::Shape out_shape(x.sizes().begin(), x.sizes().end() - 1);
  out_shape.push_back(N);
  Tensor out = cx.alloc.output(0, out_shape, DType::kF32);
  if (rows.M == 0 || N == 0) return {out};
  if (rows.M <= kGemvMaxM) {
    const Tensor b = bias != nullptr ? bias->contiguous() : Tensor();
    Gemv g;
    g.M = rows.M;
    g.N = N;
    g.K = K;
    g.x = reinterpret_cast<const float*>(rows.data);
    g.ldx = rows.row_stride;
    g.w = static_cast<const std::uint16_t*>(w.data_ptr());
    g.ldw = w.stride(0);
    g.f16 = w.dtype() == DType::kF16;
    g.bias = bias != nullptr ? b.data<float>() : nullptr;
    g.y = out.data<float>();
    g.ldy = N;
    gemv(g, isa, cx.threads);
    return {out};
  }
  gemm_op::FloatCall c;
  c.a = gemm::MatA{rows.data, gemm::Elem::kF32, rows.row_stride};
  c.M = rows.M;
  c.K = K;
  c.N = N;
  c.b = gemm::MatB{w.data_ptr(), w.dtype() == DType::kF16 ? gemm::Elem::kF16 : gemm::Elem::kBF16,
                   w.stride(0), /*kn=*/false};
  c.epi.out = out.data_ptr();
  c.epi.out_dtype = DType::kF32;
  c.epi.ldo = N;
  c.bias = bias;
  gemm_op::compute_float(c, gemm::PackKind::kF32, isa, cx);
  return {out};
}

}  // namespace symtrace::ops::linear_w16
