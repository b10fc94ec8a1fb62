// AVX2 NVFP4 block: as cpu_avx512.cpp with 8 lanes; e2m1 magnitudes through the 8-entry
// vpermps table, the sign (code bit 3) moved to bit 31; 2 activation rows x 4 weight rows.
#include <cstdint>
#include <immintrin.h>

#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops::nvfp4 {
namespace {

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void decode_panel(std::int64_t N, std::int64_t k0, std::int64_t kk, const Fp4Rows& w,
                  float* panel) {
  const __m256 mag = _mm256_loadu_ps(kE2m1);  // codes 0..7
  const float* st = e4m3_table();
  for (std::int64_t n = 0; n < N; ++n) {
    const std::uint8_t* q = w.q + n * w.ldq + k0 / 2;
    const std::uint8_t* s = w.s + n * w.lds + k0 / kBlock;
    float* out = panel + n * kPanelK;
    for (std::int64_t k = 0; k < kk; k += 8) {
      std::int32_t four;
      __builtin_memcpy(&four, q + k / 2, 4);
      const __m128i b = _mm_cvtsi32_si128(four);
      const __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0F));
      const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0F));
      const __m256i c = _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
      const __m256 m = _mm256_permutevar8x32_ps(mag, c);  // uses the low 3 bits
      const __m256i sign = _mm256_slli_epi32(_mm256_srli_epi32(c, 3), 31);
      const __m256 v = _mm256_xor_ps(m, _mm256_castsi256_ps(sign));
      _mm256_storeu_ps(out + k, _mm256_mul_ps(v, _mm256_set1_ps(st[s[k / kBlock]])));
    }
  }
}

template <int MT, int NT>
void tile(std::int64_t kk, const float* x, std::int64_t ldx, const float* p, float* acc,
          std::int64_t ldacc) {
  __m256 c[MT][NT];
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) c[i][j] = _mm256_setzero_ps();
  for (std::int64_t k = 0; k < kk; k += 8) {
    __m256 wv[NT];
    for (int j = 0; j < NT; ++j) wv[j] = _mm256_loadu_ps(p + j * kPanelK + k);
    for (int i = 0; i < MT; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * ldx + k);
      for (int j = 0; j < NT; ++j) c[i][j] = _mm256_fmadd_ps(xv, wv[j], c[i][j]);
    }
  }
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) acc[i * ldacc + j] += hsum(c[i][j]);
}

template <int MT>
void rows(std::int64_t N, std::int64_t kk, const float* x, std::int64_t ldx, const float* panel,
          float* acc, std::int64_t ldacc) {
  std::int64_t n = 0;
  for (; n + 4 <= N; n += 4) tile<MT, 4>(kk, x, ldx, panel + n * kPanelK, acc + n, ldacc);
  for (; n < N; ++n) tile<MT, 1>(kk, x, ldx, panel + n * kPanelK, acc + n, ldacc);
}

}  // namespace

void block_avx2(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                const Fp4Rows& w, float* panel, float* acc, std::int64_t ldacc) {
  for (std::int64_t k0 = 0; k0 < K; k0 += kPanelK) {
    const std::int64_t kk = K - k0 < kPanelK ? K - k0 : kPanelK;
    decode_panel(N, k0, kk, w, panel);
    std::int64_t m = 0;
    for (; m + 2 <= M; m += 2) rows<2>(N, kk, x + m * ldx + k0, ldx, panel, acc + m * ldacc, ldacc);
    for (; m < M; ++m) rows<1>(N, kk, x + m * ldx + k0, ldx, panel, acc + m * ldacc, ldacc);
  }
}

}  // namespace symtrace::ops::nvfp4
