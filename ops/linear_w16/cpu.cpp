// linear_w16 fast path: the decode GEMV for M <= kGemvMaxM, else linear's blocked f32 GEMM
// (ops/linear/kernels.hpp) over slabs of the weight widened to f32 in a per-thread buffer. The
// call was checked by the fake when it was traced (the executor) or selected (op::call).
//
// Why not ops/common's packed driver (gemm_driver.cpp, f32 panels from a bf16/f16 MatB)? Its
// packer widens element by element: one thread, 32000 x 2048, M = 64 took 92 ms against 59 ms
// for linear on the f32 weight, and 69 ms at M = 8 (the GEMV: 10.4 ms).
#include <algorithm>

#include <omp.h>

#include "ops/common/gemm_kernels.hpp"
#include "ops/common/quant.hpp"
#include "ops/linear/kernels.hpp"
#include "ops/linear/nn_common.hpp"
#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops::linear_w16 {
namespace {

// Weight rows widened per slab: about the ~384 KiB of w that linear's driver keeps in L2,
// a multiple of its 24-row tiles.
constexpr std::int64_t kSlabBytes = 384 * 1024;

// y[:, n0:n0+nb] per slab of nb weight rows: widen once, then every x row against it. Slab
// bounds do not depend on the thread count, and within a slab gemm_nt sums in a fixed order,
// so the result is the same for any number of threads.
void run_slabs(const RowsView& rows, const Tensor& w, const float* bias, float* y, Isa isa,
               op::KernelContext& cx) {
  const std::int64_t M = rows.M, N = w.size(0), K = w.size(1), ldw = w.stride(0);
  const std::int64_t nb =
      std::clamp<std::int64_t>(kSlabBytes / std::max<std::int64_t>(K * 4, 1) / 24 * 24, 24, 480);
  const std::int64_t slabs = (N + nb - 1) / nb;
  const int threads =
      static_cast<int>(std::min<std::int64_t>(gemm::resolve_threads(cx.threads), slabs));
  const std::span<std::byte> ws =
      cx.alloc.workspace(static_cast<std::size_t>(threads * nb * std::max<std::int64_t>(K, 1)) * 4);
  const Isa path = kernels::gemm_nt_path(DType::kF32, isa);
  const auto* wp = static_cast<const std::uint16_t*>(w.data_ptr());
  const kernels::RowsK x{rows.data, DType::kF32, rows.row_stride};
  // gemm_nt's own OpenMP loop runs on one thread inside this region (nested regions are
  // inactive by default), as attention's calls do.
#pragma omp parallel num_threads(threads)
  {
    float* slab = reinterpret_cast<float*>(ws.data()) + omp_get_thread_num() * nb * K;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t j = 0; j < slabs; ++j) {
      const std::int64_t n0 = j * nb, n = std::min(nb, N - n0);
      if (ldw == K) {
        tensor::convert(wp + n0 * K, w.dtype(), slab, DType::kF32, static_cast<std::size_t>(n * K));
      } else {
        for (std::int64_t r = 0; r < n; ++r)
          tensor::convert(wp + (n0 + r) * ldw, w.dtype(), slab + r * K, DType::kF32,
                          static_cast<std::size_t>(K));
      }
      kernels::gemm_nt_on_path(M, n, K, x, {slab, DType::kF32, K},
                               bias != nullptr ? bias + n0 : nullptr, DType::kF32, y + n0,
                               DType::kF32, N, path);
    }
  }
}

}  // namespace

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
  const Tensor b = bias != nullptr ? bias->contiguous() : Tensor();
  const float* bp = bias != nullptr ? b.data<float>() : nullptr;
  if (rows.M > kGemvMaxM) {
    run_slabs(rows, w, bp, out.data<float>(), isa, cx);
    return {out};
  }
  Gemv g;
  g.M = rows.M;
  g.N = N;
  g.K = K;
  g.x = reinterpret_cast<const float*>(rows.data);
  g.ldx = rows.row_stride;
  g.w = static_cast<const std::uint16_t*>(w.data_ptr());
  g.ldw = w.stride(0);
  g.f16 = w.dtype() == DType::kF16;
  g.bias = bp;
  g.y = out.data<float>();
  g.ldy = N;
  gemv(g, isa, cx.threads);
  return {out};
}

}  // namespace symtrace::ops::linear_w16
