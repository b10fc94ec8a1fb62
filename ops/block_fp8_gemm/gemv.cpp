// block_fp8_gemm decode GEMV: the ISA choice, the activation expansion, and the scalar kernel
// (baseline x86-64; the vector kernels live in gemv_avx512.cpp and gemv_avx2.cpp).
#include "ops/block_fp8_gemm/gemv.hpp"

#include <algorithm>

#include <omp.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/dtype.hpp>

#include "ops/common/gemm_kernels.hpp"

namespace symtrace::ops::block_fp8_gemm {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::int64_t kBytesPerThread = 256 << 10;

tensor::DType dtype_of(ActKind k) {
  switch (k) {
    case ActKind::kE4m3:
      return tensor::DType::kF8E4M3FN;
    case ActKind::kBF16:
      return tensor::DType::kBF16;
    case ActKind::kF16:
      return tensor::DType::kF16;
    case ActKind::kF32:
      break;
  }
  return tensor::DType::kF32;
}

// The AVX-512 kernel dots bf16 words when the activation is exact in bf16 (e4m3 codes, bf16).
bool bf16_words(const Gemv& g, tensor::Isa isa) {
  return isa == tensor::Isa::kAvx512Bf16 &&
         (g.act == ActKind::kE4m3 || g.act == ActKind::kBF16);
}

// Bytes of the expanded activation (0: read in place).
std::size_t expanded_bytes(const Gemv& g, tensor::Isa isa) {
  const auto n = static_cast<std::size_t>(g.M * g.K);
  if (bf16_words(g, isa)) return g.act == ActKind::kBF16 ? 0 : n * 2;
  return g.act == ActKind::kF32 ? 0 : n * 4;
}

// Scalar kernel: one weight row per step, every activation row against it per K block.
void gemv_rows_scalar(const Gemv& g, const float* a, std::int64_t lda, std::int64_t n) {
  const float* tab = gemm::f32_table(gemm::Elem::kF8E4M3);
  const std::uint8_t* w = g.w + n * g.ldw;
  const float* ws = g.ws + (n / g.bn) * g.ws_ld;
  float tot[kGemvMaxM] = {};
  for (std::int64_t j = 0, k_lo = 0; k_lo < g.K; ++j, k_lo += g.bk) {
    const std::int64_t k_hi = std::min(g.K, k_lo + g.bk);
    for (std::int64_t m = 0; m < g.M; ++m) {
      const float* x = a + m * lda;
      float p = 0.f;
      for (std::int64_t k = k_lo; k < k_hi; ++k) p += x[k] * tab[w[k]];
      tot[m] += p * ((g.xs ? g.xs[m * g.xs_ld + j] : 1.f) * ws[j]);
    }
  }
  for (std::int64_t m = 0; m < g.M; ++m) g.out[m * g.ldo + n] = tot[m];
}

}  // namespace

namespace detail {

void gemv_scalar(const Gemv& g, const Expanded& a, int threads) {
  const auto* x = static_cast<const float*>(a.data);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t n = 0; n < g.N; ++n) gemv_rows_scalar(g, x, a.ld, n);
}

}  // namespace detail

std::size_t gemv_workspace_bytes(const Gemv& g, tensor::Isa isa) {
  return expanded_bytes(g, isa) + kAlign;
}

void gemv(const Gemv& g, tensor::Isa isa, std::span<std::byte> workspace, int threads) {
  if (g.M < 1 || g.M > kGemvMaxM || g.bk < 1 || g.bn < 1)
    throw diag::InternalError("block_fp8_gemm gemv: needs 1 <= M <= kGemvMaxM and positive blocks");
  if (g.N == 0) return;
  // A fork/join costs microseconds (milliseconds when another process holds the core a
  // worker waits for): below kBytesPerThread of weight per thread, fewer threads.
  const std::int64_t by_size = std::max<std::int64_t>(1, g.N * g.K / kBytesPerThread);
  threads = static_cast<int>(std::min<std::int64_t>(gemm::resolve_threads(threads), by_size));
  const std::size_t need = expanded_bytes(g, isa);
  if (workspace.size() < need + kAlign)
    throw diag::InternalError("block_fp8_gemm gemv: workspace too small");
  auto* buf = reinterpret_cast<std::byte*>(
      (reinterpret_cast<std::uintptr_t>(workspace.data()) + kAlign - 1) / kAlign * kAlign);
  detail::Expanded a{g.a, bf16_words(g, isa), g.lda};
  if (need > 0) {
    // Each row once (M * K elements): negligible beside the N * K weight bytes.
    a.data = buf;
    a.ld = g.K;
    const tensor::DType src = dtype_of(g.act);
    const std::size_t eb = tensor::info(src).bytes;
    for (std::int64_t m = 0; m < g.M; ++m) {
      const auto* row = static_cast<const std::byte*>(g.a) + static_cast<std::size_t>(m * g.lda) * eb;
      if (a.bf16)  // e4m3 -> bf16 words, exact
        detail::expand_e4m3_bf16_avx512(reinterpret_cast<const std::uint8_t*>(row), g.K,
                                        reinterpret_cast<std::uint16_t*>(buf) + m * g.K);
      else
        tensor::convert(row, src, reinterpret_cast<float*>(buf) + m * g.K, tensor::DType::kF32,
                        static_cast<std::size_t>(g.K));
    }
  }
  switch (isa) {
    case tensor::Isa::kAvx512Bf16:
      return detail::gemv_avx512(g, a, threads);
    case tensor::Isa::kAvx2:
      return detail::gemv_avx2(g, a, threads);
    case tensor::Isa::kNone:
      return detail::gemv_scalar(g, a, threads);
    default:
      break;
  }
  throw diag::InternalError("block_fp8_gemm gemv: no kernel for this ISA");
}

}  // namespace symtrace::ops::block_fp8_gemm
