// int8_gemm fast path: the decode GEMV for small M on AVX-512 VNNI, else the packed-panel
// driver (ops/common/gemm_driver.cpp) with the VNNI, AVX2 or scalar microkernel.
#include <algorithm>

#include <omp.h>

#include "ops/common/gemm_kernels.hpp"
#include "ops/common/quantizers_op.hpp"
#include "ops/int8_gemm/int8_gemm.hpp"

namespace symtrace::ops::int8_gemm {

using gemm::PackKind;

void compute(Call c, tensor::Isa isa, op::KernelContext& cx) {
  const std::int64_t N = c.b->size(0), K = c.K, M = c.M;
  if (M == 0 || N == 0) return;
  const auto* b = c.b->data<std::int8_t>();
  const std::int64_t ldb = c.b->stride(0);
  const int threads = gemm::resolve_threads(cx.threads);
  const bool gemv = isa == tensor::Isa::kAvx512Vnni && M <= gemm::kGemvMaxM;
  const PackKind kind = isa == tensor::Isa::kAvx512Vnni ? PackKind::kVnniU8 : PackKind::kS16;
  const gemm::Microkernel& mk = gemm_op::microkernel(kind, isa);
  const gemm::MatA src{c.a, gemm::Elem::kI8, c.lda};
  gemm::Problem p{M, N, K, {}, gemm::MatB{b, gemm::Elem::kI8, ldb, false}, nullptr};
  const bool want_colsum = c.epi.z != nullptr;
  const std::size_t acc_bytes = gemv ? static_cast<std::size_t>(M * N) * 4 : 0;
  gemm_op::Workspace ws(
      cx.alloc, {gemm_op::bias_bytes(c.bias), want_colsum ? static_cast<std::size_t>(N) * 4 : 0,
                 acc_bytes, gemv ? 0 : gemm::a_words_bytes(kind, src, M, K),
                 gemv ? 0 : gemm::workspace_bytes(mk, p, threads)});
  c.epi.bias = gemm_op::bias_f32(c.bias, ws[0]);
  auto* colsum = want_colsum ? reinterpret_cast<std::int32_t*>(ws[1].data()) : nullptr;
  c.epi.colsum = colsum;
  const gemm::Epilogue epilogue = gemm_op::affine_epilogue(c.epi, /*int_acc=*/true);

  if (gemv) {
    auto* acc = reinterpret_cast<std::int32_t*>(ws[2].data());
    gemm::gemv_i8(M, N, K, c.a, c.lda, b, ldb, acc, N, colsum, threads);
    epilogue(gemm::Tile{acc, N, 0, M, 0, N});
    return;
  }
  if (colsum) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::int64_t n = 0; n < N; ++n) {
      std::int32_t s = 0;
      for (std::int64_t k = 0; k < K; ++k) s += b[n * ldb + k];
      colsum[n] = s;
    }
  }
  p.a = gemm::to_words(kind, src, M, K, ws[3], threads);
  gemm::run_gemm(mk, p, ws[4], threads, epilogue);
}

op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  Tensor out = qop::alloc_like(cx.alloc, 0, boost::variant2::get<TensorMeta>(metas[0]));
  const Tensor& x = a.tensor("a");
  const RowsView rows = rows_view(x, "a");
  const Tensor* azp = a.opt_tensor("azp");
  Call c;
  c.a = reinterpret_cast<const std::int8_t*>(rows.data);
  c.lda = rows.row_stride;
  c.M = rows.M;
  c.K = rows.K;
  const Tensor b = a.tensor("b");
  c.b = &b;
  c.epi.sa = row_scale(a.tensor("scale_a"));
  c.epi.sb = channel_scale(a.tensor("b_scale"));
  if (azp) {
    const RowScale zs = row_scale(*azp);  // same [1] / [*, 1] shape rule as the scale
    c.epi.z = azp->data<std::int32_t>();
    c.epi.z_stride = zs.stride;
  }
  c.epi.out = out.data_ptr();
  c.epi.out_dtype = out.dtype();
  c.epi.ldo = c.b->size(0);
  c.bias = a.opt_tensor("bias");
  compute(c, isa, cx);
  return {out};
}

}  // namespace symtrace::ops::int8_gemm
