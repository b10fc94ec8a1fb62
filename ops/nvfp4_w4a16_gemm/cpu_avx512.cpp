// AVX-512 NVFP4 block: a panel of up to 16 weight rows x 1024 K is decoded to f32 (8 bytes
// -> 16 nibbles in element order -> vpermps through the 16-entry e2m1 table -> times the
// e4m3 block scale), then 4 activation rows x 4 weight rows accumulate with FMAs over the
// panel (16 lanes along K, reduced once per panel).
#include <cstdint>
#include <immintrin.h>

#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC PR 105593 (_mm512_undefined_*)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace symtrace::ops::nvfp4 {
namespace {

// 16 e2m1 codes of 8 packed bytes, element order (low nibble first), as int32 lanes.
__m512i codes16(const std::uint8_t* p) {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  const __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0F));
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0F));
  return _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
}

void decode_panel(std::int64_t N, std::int64_t k0, std::int64_t kk, const Fp4Rows& w,
                  float* panel) {
  const __m512 table = _mm512_loadu_ps(kE2m1);
  const float* st = e4m3_table();
  for (std::int64_t n = 0; n < N; ++n) {
    const std::uint8_t* q = w.q + n * w.ldq + k0 / 2;
    const std::uint8_t* s = w.s + n * w.lds + k0 / kBlock;
    float* out = panel + n * kPanelK;
    for (std::int64_t k = 0; k < kk; k += kBlock) {
      const __m512 v = _mm512_permutexvar_ps(codes16(q + k / 2), table);
      _mm512_storeu_ps(out + k, _mm512_mul_ps(v, _mm512_set1_ps(st[s[k / kBlock]])));
    }
  }
}

template <int MT, int NT>
void tile(std::int64_t kk, const float* x, std::int64_t ldx, const float* p, float* acc,
          std::int64_t ldacc) {
  __m512 c[MT][NT];
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) c[i][j] = _mm512_setzero_ps();
  for (std::int64_t k = 0; k < kk; k += 16) {
    __m512 wv[NT];
    for (int j = 0; j < NT; ++j) wv[j] = _mm512_loadu_ps(p + j * kPanelK + k);
    for (int i = 0; i < MT; ++i) {
      const __m512 xv = _mm512_loadu_ps(x + i * ldx + k);
      for (int j = 0; j < NT; ++j) c[i][j] = _mm512_fmadd_ps(xv, wv[j], c[i][j]);
    }
  }
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) acc[i * ldacc + j] += _mm512_reduce_add_ps(c[i][j]);
}

template <int MT>
void rows(std::int64_t N, std::int64_t kk, const float* x, std::int64_t ldx, const float* panel,
          float* acc, std::int64_t ldacc) {
  std::int64_t n = 0;
  for (; n + 4 <= N; n += 4) tile<MT, 4>(kk, x, ldx, panel + n * kPanelK, acc + n, ldacc);
  for (; n < N; ++n) tile<MT, 1>(kk, x, ldx, panel + n * kPanelK, acc + n, ldacc);
}

}  // namespace

void block_avx512(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                  const Fp4Rows& w, float* panel, float* acc, std::int64_t ldacc) {
  for (std::int64_t k0 = 0; k0 < K; k0 += kPanelK) {
    const std::int64_t kk = K - k0 < kPanelK ? K - k0 : kPanelK;  // a multiple of 16
    decode_panel(N, k0, kk, w, panel);
    std::int64_t m = 0;
    for (; m + 4 <= M; m += 4) rows<4>(N, kk, x + m * ldx + k0, ldx, panel, acc + m * ldacc, ldacc);
    for (; m < M; ++m) rows<1>(N, kk, x + m * ldx + k0, ldx, panel, acc + m * ldacc, ldacc);
  }
}

}  // namespace symtrace::ops::nvfp4
