// nvfp4_w4a16_gemm fast kernel: activations expanded to f32 once, then (64-row, 16-column)
// output blocks spread over OpenMP threads; each decodes its weight panel (one ISA's
// Fp4Block) and accumulates in f32; the epilogue applies the global scale and bias.
#include <algorithm>

#include <omp.h>

#include <symtrace/tensor/dtype.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/nvfp4_w4a16_gemm/gemm.hpp"

namespace symtrace::ops::nvfp4 {

namespace v2 = boost::variant2;

std::size_t scratch_floats() { return kMaxN * kPanelK + kBlockM * kMaxN; }

void matmul(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
            const Fp4Rows& w, float* y, std::int64_t ldy, float* scratch, Fp4Block block) {
  float* panel = scratch;
  float* acc = scratch + kMaxN * kPanelK;
  for (std::int64_t m0 = 0; m0 < M; m0 += kBlockM)
    for (std::int64_t n0 = 0; n0 < N; n0 += kMaxN) {
      const std::int64_t mm = std::min(kBlockM, M - m0), nn = std::min(kMaxN, N - n0);
      std::fill(acc, acc + mm * kMaxN, 0.f);
      const Fp4Rows wb{w.q + n0 * w.ldq, w.ldq, w.s + n0 * w.lds, w.lds};
      block(mm, nn, K, x + m0 * ldx, ldx, wb, panel, acc, kMaxN);
      for (std::int64_t i = 0; i < mm; ++i)
        std::copy(acc + i * kMaxN, acc + i * kMaxN + nn, y + (m0 + i) * ldy + n0);
    }
}

op::Outputs gemm_run(const op::Args& a, op::KernelContext& cx, Fp4Block block) {
  const op::Outputs metas = qop::fake_for_real(a, gemm_fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  const tensor::Tensor& x = a.tensor("x");
  const tensor::Tensor& wq = a.tensor("weight_packed");
  const tensor::Tensor& ws = a.tensor("weight_scale");
  const auto g =
      static_cast<float>(a.tensor("weight_global_scale").item(std::vector<std::int64_t>{0}));
  const tensor::Tensor* bias = a.opt_tensor("bias");
  const quant::Rows rows = qop::rows_of(x, "x");
  const std::int64_t M = rows.rows, K = rows.cols, N = wq.size(0);
  const int T = cx.threads > 0 ? cx.threads : omp_get_max_threads();
  const std::size_t per_thread = scratch_floats() + kBlockM * kMaxN;
  const std::span<std::byte> wsp =
      cx.alloc.workspace((static_cast<std::size_t>(M * K) + T * per_thread) * sizeof(float));
  auto* xf = reinterpret_cast<float*>(wsp.data());
  auto* scratch = xf + M * K;
  const Fp4Rows w{wq.data<std::uint8_t>(), K / 2, ws.data<std::uint8_t>(), K / kBlock};
  const std::int64_t mb = (M + kBlockM - 1) / kBlockM, nb = (N + kMaxN - 1) / kMaxN;
  const int threads = M * N * K < (1 << 16) ? 1 : T;
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (std::int64_t m = 0; m < M; ++m)
      tensor::convert(rows.row(m), x.dtype(), xf + m * K, DType::kF32, static_cast<std::size_t>(K));
#pragma omp for schedule(dynamic)
    for (std::int64_t item = 0; item < mb * nb; ++item) {
      float* s = scratch + per_thread * omp_get_thread_num();
      float* y = s + scratch_floats();
      const std::int64_t m0 = (item / nb) * kBlockM, n0 = (item % nb) * kMaxN;
      const std::int64_t mm = std::min(kBlockM, M - m0), nn = std::min(kMaxN, N - n0);
      const Fp4Rows wb{w.q + n0 * w.ldq, w.ldq, w.s + n0 * w.lds, w.lds};
      matmul(mm, nn, K, xf + m0 * K, K, wb, y, kMaxN, s, block);
      for (std::int64_t i = 0; i < mm; ++i)
        for (std::int64_t j = 0; j < nn; ++j) {
          const float b = bias ? qop::load(*bias, (n0 + j) * bias->stride(0)) : 0.f;
          quant::store_f32(out.data_ptr(), x.dtype(), (m0 + i) * N + n0 + j,
                           g * y[i * kMaxN + j] + b);
        }
    }
  }
  return {out};
}

}  // namespace symtrace::ops::nvfp4
