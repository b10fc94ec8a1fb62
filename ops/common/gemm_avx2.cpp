// AVX2 microkernels: int8 as s16 pairs through vpmaddwd (exact, unlike the saturating
// vpmaddubsw), and f32 FMA for fp8/bf16/f16 operands expanded by the packer.
#include <cstring>
#include <immintrin.h>

#include "ops/common/gemm_kernels.hpp"

namespace symtrace::ops::gemm {
namespace {

constexpr int kMR = 6;
constexpr int kNV = 2;  // ymm per tile row: NR = 16

inline std::int32_t word_at(const void* row, std::int64_t w) {
  std::int32_t v;
  std::memcpy(&v, static_cast<const std::byte*>(row) + 4 * w, 4);
  return v;
}

void s16_6x16(std::int64_t kw, const void* const* a, const void* bp, void* c, std::int64_t ldc,
              bool accumulate) {
  __m256i acc[kMR][kNV];
  auto* ci = static_cast<std::int32_t*>(c);
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j)
      acc[i][j] = accumulate
                      ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ci + i * ldc + 8 * j))
                      : _mm256_setzero_si256();
  const auto* b = static_cast<const std::byte*>(bp);
  for (std::int64_t w = 0; w < kw; ++w, b += 64) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32));
    for (int i = 0; i < kMR; ++i) {
      const __m256i ai = _mm256_set1_epi32(word_at(a[i], w));
      acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(ai, b0));
      acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(ai, b1));
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(ci + i * ldc + 8 * j), acc[i][j]);
}

template <bool Scaled>
void f32_6x16(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
              bool accumulate, const float* rs, const float* cs) {
  __m256 acc[kMR][kNV];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j)
      acc[i][j] =
          (!Scaled && accumulate) ? _mm256_loadu_ps(c + i * ldc + 8 * j) : _mm256_setzero_ps();
  const auto* b = static_cast<const float*>(bp);
  for (std::int64_t w = 0; w < kw; ++w, b += 16) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    for (int i = 0; i < kMR; ++i) {
      float av;
      std::memcpy(&av, static_cast<const std::byte*>(a[i]) + 4 * w, 4);
      const __m256 ai = _mm256_set1_ps(av);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j) {
      float* out = c + i * ldc + 8 * j;
      if constexpr (Scaled) {
        const __m256 s = _mm256_mul_ps(_mm256_set1_ps(rs[i]), _mm256_loadu_ps(cs + 8 * j));
        _mm256_storeu_ps(out, _mm256_fmadd_ps(acc[i][j], s, _mm256_loadu_ps(out)));
      } else {
        _mm256_storeu_ps(out, acc[i][j]);
      }
    }
}

void f32_run(std::int64_t kw, const void* const* a, const void* bp, void* c, std::int64_t ldc,
             bool accumulate) {
  f32_6x16<false>(kw, a, bp, static_cast<float*>(c), ldc, accumulate, nullptr, nullptr);
}
void f32_scaled(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
                const float* rs, const float* cs) {
  f32_6x16<true>(kw, a, bp, c, ldc, false, rs, cs);
}

}  // namespace

namespace avx2 {
const Microkernel kS16{PackKind::kS16, kMR, 8 * kNV, "avx2", s16_6x16, nullptr};
const Microkernel kF32{PackKind::kF32, kMR, 8 * kNV, "avx2", f32_run, f32_scaled};
}  // namespace avx2

}  // namespace symtrace::ops::gemm
