// GEMM driver: splits y into blocks that keep a slab of w in L2, runs the blocks on OpenMP
// threads and calls the per-ISA block kernel. Also the portable (scalar) block kernel.
#include <algorithm>
#include <cstddef>

#include <symtrace/diag/diagnostic.hpp>

#include "ops/linear/gemm_impl.hpp"
#include "ops/linear/kernels.hpp"

namespace symtrace::ops::kernels {
namespace detail {

// Portable path: 4x4 register tiles, f32 accumulation in k order.
void gemm_nt_block_scalar(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                          std::int64_t n1) {
  constexpr std::int64_t kT = 4;
  for (std::int64_t m = m0; m < m1; m += kT) {
    const std::int64_t mb = std::min(kT, m1 - m);
    for (std::int64_t n = n0; n < n1; n += kT) {
      const std::int64_t nb = std::min(kT, n1 - n);
      float acc[kT][kT] = {};
      for (std::int64_t k = 0; k < p.K; ++k) {
        float xv[kT], wv[kT];
        for (std::int64_t i = 0; i < mb; ++i) xv[i] = elem::load(p.x, p.in, (m + i) * p.ldx + k);
        for (std::int64_t j = 0; j < nb; ++j) wv[j] = elem::load(p.w, p.in, (n + j) * p.ldw + k);
        for (std::int64_t i = 0; i < mb; ++i)
          for (std::int64_t j = 0; j < nb; ++j) acc[i][j] += xv[i] * wv[j];
      }
      for (std::int64_t i = 0; i < mb; ++i)
        for (std::int64_t j = 0; j < nb; ++j) store_out(p, m + i, n + j, acc[i][j]);
    }
  }
}

}  // namespace detail

namespace {

using BlockFn = void (*)(const detail::GemmNt&, std::int64_t, std::int64_t, std::int64_t,
                         std::int64_t);

BlockFn block_fn(Isa path) {
  switch (path) {
    case Isa::kAvx512Bf16: return detail::gemm_nt_block_avx512_bf16;
    case Isa::kAvx512: return detail::gemm_nt_block_avx512;
    case Isa::kAvx2: return detail::gemm_nt_block_avx2;
    default: return detail::gemm_nt_block_scalar;
  }
}

// w rows per block: the slab w[n0:n0+nb, :] is reused by every row of x, so keep it in
// L2 (1 MiB per core here; half of it leaves room for x rows and y).
constexpr std::int64_t kL2SlabBytes = 384 * 1024;
constexpr std::int64_t kRowsPerMBlock = 48;
constexpr std::int64_t kMinParallelFlops = 1 << 16;  // below: one thread beats a fork/join

}  // namespace

Isa gemm_nt_path(DType dtype, Isa isa) {
  const auto allowed = [&](Isa want) {
    if (want == Isa::kAvx512Bf16)
      return (isa == Isa::kAvx512Bf16) && tensor::cpu_supports(want);
    if (want == Isa::kAvx512)
      return (isa == Isa::kAvx512 || isa == Isa::kAvx512Bf16 || isa == Isa::kAvx512Vnni) &&
             tensor::cpu_supports(want);
    return isa != Isa::kNone && tensor::cpu_supports(want);
  };
  if (dtype == DType::kBF16 && allowed(Isa::kAvx512Bf16)) return Isa::kAvx512Bf16;
  if (dtype != DType::kBF16 && allowed(Isa::kAvx512)) return Isa::kAvx512;
  if (allowed(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kNone;
}

void gemm_nt(std::int64_t M, std::int64_t N, std::int64_t K, RowsK x, RowsK w, const void* bias,
             DType bias_dtype, void* y, DType y_dtype, std::int64_t ldy, Isa isa) {
  gemm_nt_on_path(M, N, K, x, w, bias, bias_dtype, y, y_dtype, ldy, gemm_nt_path(x.dtype, isa));
}

void gemm_nt_on_path(std::int64_t M, std::int64_t N, std::int64_t K, RowsK x, RowsK w,
                     const void* bias, DType bias_dtype, void* y, DType y_dtype, std::int64_t ldy,
                     Isa path) {
  if (M < 0 || N < 0 || K < 0)
    throw diag::InternalError("gemm_nt: negative size");
  if (x.dtype != w.dtype || !elem::is_kernel_float(x.dtype) || !elem::is_kernel_float(y_dtype) ||
      (bias != nullptr && !elem::is_kernel_float(bias_dtype)))
    throw diag::InternalError("gemm_nt: unsupported dtype combination");
  if (M == 0 || N == 0) return;
  detail::GemmNt p{.M = M, .N = N, .K = K, .x = x.data, .ldx = x.ld, .w = w.data, .ldw = w.ld,
                   .in = x.dtype, .bias = bias, .bias_dtype = bias_dtype, .y = y, .ldy = ldy,
                   .out = y_dtype};
  const BlockFn fn = block_fn(path);

  const std::int64_t elem_bytes = x.dtype == DType::kF32 ? 4 : 2;
  const std::int64_t slab = std::max<std::int64_t>(1, kL2SlabBytes / std::max<std::int64_t>(1, K * elem_bytes));
  const std::int64_t nb = std::clamp<std::int64_t>(slab / 24 * 24, 24, 480);  // multiple of tiles
  const std::int64_t mb = kRowsPerMBlock;
  const std::int64_t n_blocks = (N + nb - 1) / nb;
  const std::int64_t m_blocks = (M + mb - 1) / mb;
  const bool parallel = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) >=
                            kMinParallelFlops &&
                        n_blocks * m_blocks > 1;
  // Blocks along N outermost: with a static schedule each thread owns a contiguous range of
  // w slabs, which stay in its own L2 while the (smaller) x rows stream past.
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
  for (std::int64_t jb = 0; jb < n_blocks; ++jb) {
    for (std::int64_t ib = 0; ib < m_blocks; ++ib) {
      const std::int64_t n0 = jb * nb, m0 = ib * mb;
      fn(p, m0, std::min(M, m0 + mb), n0, std::min(N, n0 + nb));
    }
  }
}

void linear_f32(const float* x, const float* w, const float* bias, float* y, std::int64_t M,
                std::int64_t N, std::int64_t K, std::int64_t ldx, std::int64_t ldw,
                std::int64_t ldy) {
  gemm_nt(M, N, K, {x, DType::kF32, ldx}, {w, DType::kF32, ldw}, bias, DType::kF32, y,
          DType::kF32, ldy, tensor::best_isa());
}

void linear_bf16(const std::uint16_t* x, const std::uint16_t* w, const std::uint16_t* bias,
                 std::uint16_t* y, std::int64_t M, std::int64_t N, std::int64_t K,
                 std::int64_t ldx, std::int64_t ldw, std::int64_t ldy) {
  gemm_nt(M, N, K, {x, DType::kBF16, ldx}, {w, DType::kBF16, ldw}, bias, DType::kBF16, y,
          DType::kBF16, ldy, tensor::best_isa());
}

void linear_f16(const std::uint16_t* x, const std::uint16_t* w, const std::uint16_t* bias,
                std::uint16_t* y, std::int64_t M, std::int64_t N, std::int64_t K, std::int64_t ldx,
                std::int64_t ldw, std::int64_t ldy) {
  gemm_nt(M, N, K, {x, DType::kF16, ldx}, {w, DType::kF16, ldw}, bias, DType::kF16, y,
          DType::kF16, ldy, tensor::best_isa());
}

}  // namespace symtrace::ops::kernels
