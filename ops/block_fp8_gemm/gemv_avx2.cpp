// block_fp8_gemm decode GEMV, AVX2 + F16C: f32 activations, the weight decoded 16 codes at a
// time through f16 — e4m3 bits b placed as f16 bits ((b & 0x7F) << 7, sign at bit 15) are the
// same number times 2^-8, subnormals included (3 resp. 10 mantissa bits, biases 7 and 15), so
// the block scale carries the factor 256. Code 0x7F (NaN) is mapped to an f16 NaN.
// Anonymous namespace: no AVX2 instantiation can reach a baseline caller through the linker.
#include <cstring>
#include <immintrin.h>

#include <omp.h>

#include "ops/block_fp8_gemm/gemv.hpp"

namespace symtrace::ops::block_fp8_gemm::detail {
namespace {

constexpr int kLanes = 16;  // weight bytes per step
constexpr int kNT = 2;      // weight rows per tile
constexpr int kMaxMT = 2;   // activation rows per pass: 2 * MT * NT accumulators of 16 ymm

inline void decode(__m128i bytes, __m256& lo, __m256& hi) {
  const __m256i w = _mm256_cvtepu8_epi16(bytes);
  const __m256i x = _mm256_slli_epi16(w, 7);  // magnitude at bits 7..13, sign at 14
  // sign 14 -> 15: adding bit 14 to itself carries it up and clears it.
  __m256i h = _mm256_add_epi16(x, _mm256_and_si256(x, _mm256_set1_epi16(0x4000)));
  const __m256i nan_bits = _mm256_set1_epi16(0x3F80);
  const __m256i nan = _mm256_cmpeq_epi16(_mm256_and_si256(x, nan_bits), nan_bits);
  h = _mm256_blendv_epi8(h, _mm256_set1_epi16(0x7E00), nan);
  lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
  hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
}

inline float hsum(__m256 v) {
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 0x55));
  return _mm_cvtss_f32(s4);
}

inline std::int64_t lesser(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

// Lanes [0, left) of 8 as a maskload mask (0 < left < 16).
inline __m256i first_lanes(std::int64_t left) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left)), idx);
}

template <int MT, int NT>
void tile(const Gemv& g, const float* a, std::int64_t lda, std::int64_t m0, std::int64_t n0) {
  const std::uint8_t* wr[NT];
  const float* wsr[NT];
  for (int t = 0; t < NT; ++t) {
    wr[t] = g.w + (n0 + t) * g.ldw;
    wsr[t] = g.ws + ((n0 + t) / g.bn) * g.ws_ld;
  }
  a += m0 * lda;
  __m256 tot[MT][NT];
  for (int i = 0; i < MT; ++i)
    for (int t = 0; t < NT; ++t) tot[i][t] = _mm256_setzero_ps();
  for (std::int64_t j = 0, k_lo = 0; k_lo < g.K; ++j, k_lo += g.bk) {
    const std::int64_t k_hi = lesser(g.K, k_lo + g.bk);
    __m256 blk[MT][NT];
    for (int i = 0; i < MT; ++i)
      for (int t = 0; t < NT; ++t) blk[i][t] = _mm256_setzero_ps();
    for (std::int64_t k = k_lo; k < k_hi; k += kLanes) {
      const std::int64_t left = k_hi - k;
      __m256 lo[NT], hi[NT];
      for (int t = 0; t < NT; ++t) {
        __m128i bytes;
        if (left >= kLanes) {
          bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wr[t] + k));
        } else {  // the block's ragged end: zero codes past it
          alignas(16) std::uint8_t buf[kLanes] = {};
          std::memcpy(buf, wr[t] + k, static_cast<std::size_t>(left));
          bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
        }
        decode(bytes, lo[t], hi[t]);
      }
      for (int i = 0; i < MT; ++i) {
        const float* x = a + i * lda + k;
        __m256 x0, x1;
        if (left >= kLanes) {
          x0 = _mm256_loadu_ps(x);
          x1 = _mm256_loadu_ps(x + 8);
        } else {  // zero lanes past the block (0 * inf would be NaN)
          x0 = _mm256_maskload_ps(x, first_lanes(left));
          x1 = left > 8 ? _mm256_maskload_ps(x + 8, first_lanes(left - 8)) : _mm256_setzero_ps();
        }
        for (int t = 0; t < NT; ++t) {
          blk[i][t] = _mm256_fmadd_ps(x0, lo[t], blk[i][t]);
          blk[i][t] = _mm256_fmadd_ps(x1, hi[t], blk[i][t]);
        }
      }
    }
    for (int i = 0; i < MT; ++i) {
      const float xs = (g.xs ? g.xs[(m0 + i) * g.xs_ld + j] : 1.f) * 256.f;  // the f16 2^-8
      for (int t = 0; t < NT; ++t)
        tot[i][t] = _mm256_fmadd_ps(blk[i][t], _mm256_set1_ps(xs * wsr[t][j]), tot[i][t]);
    }
  }
  for (int i = 0; i < MT; ++i)
    for (int t = 0; t < NT; ++t) g.out[(m0 + i) * g.ldo + n0 + t] = hsum(tot[i][t]);
}

template <int NT>
void rows(const Gemv& g, const float* a, std::int64_t lda, std::int64_t n0) {
  for (std::int64_t m0 = 0; m0 < g.M; m0 += kMaxMT) {
    if (g.M - m0 >= 2)
      tile<2, NT>(g, a, lda, m0, n0);
    else
      tile<1, NT>(g, a, lda, m0, n0);
  }
}

}  // namespace

void gemv_avx2(const Gemv& g, const Expanded& a, int threads) {
  const auto* x = static_cast<const float*>(a.data);
  const std::int64_t tiles = g.N / kNT;
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < tiles; ++t) rows<kNT>(g, x, a.ld, t * kNT);
#pragma omp for schedule(static)
    for (std::int64_t n = tiles * kNT; n < g.N; ++n) rows<1>(g, x, a.ld, n);
  }
}

}  // namespace symtrace::ops::block_fp8_gemm::detail
