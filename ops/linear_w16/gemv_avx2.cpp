// linear_w16 decode GEMV, AVX2 + FMA + F16C: 8 weight values at a time widened to f32 (bf16 by
// a zero-extend and a 16-bit shift, f16 by vcvtph2ps) and FMA'd into every activation row's
// lanes; a ragged K end goes through zero-padded copies. Anonymous namespace: no AVX2
// instantiation can reach a baseline caller through the linker.
#include <cstring>
#include <immintrin.h>

#include <omp.h>

#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops::linear_w16::detail {
namespace {

constexpr int kLanes = 8;             // f32 lanes: weight values per quarter step
constexpr int kStep = 32;             // weight values per step: one 64-byte line of each row
constexpr std::int64_t kAhead = 512;  // prefetch distance per weight row, in values (1 KiB)
constexpr int kNt4MaxM = 2;           // 4 weight rows up to M = 2, then 2 rows x 4 activation rows

template <bool F16>
inline __m256 widen(const std::uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (F16)
    return _mm256_cvtph_ps(h);
  else
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline float hsum(__m256 v) {
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 0x55));
  return _mm_cvtss_f32(s4);
}

// 8 lanes of every (activation row, weight row) pair; w[t] and x already point at k.
template <bool F16, int MT, int NT>
inline void quarter(__m256 (&acc)[MT][NT], const std::uint16_t* const (&w)[NT], const float* x,
                    std::int64_t ldx, std::int64_t k) {
  __m256 wv[NT];
  for (int t = 0; t < NT; ++t) wv[t] = widen<F16>(w[t] + k);
  for (int i = 0; i < MT; ++i) {
    const __m256 xv = _mm256_loadu_ps(x + i * ldx + k);
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm256_fmadd_ps(xv, wv[t], acc[i][t]);
  }
}

template <bool F16, int MT, int NT>
void tile(const Gemv& g, std::int64_t m0, std::int64_t n0) {
  const std::uint16_t* wr[NT];
  for (int t = 0; t < NT; ++t) wr[t] = g.w + (n0 + t) * g.ldw;
  const float* x = g.x + m0 * g.ldx;
  __m256 acc[MT][NT];
  for (int i = 0; i < MT; ++i)
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm256_setzero_ps();
  std::int64_t k = 0;
  for (; k + kStep <= g.K; k += kStep) {
    for (int t = 0; t < NT; ++t)
      _mm_prefetch(reinterpret_cast<const char*>(wr[t] + k + kAhead), _MM_HINT_T0);
    for (int q = 0; q < kStep; q += kLanes) quarter<F16, MT, NT>(acc, wr, x, g.ldx, k + q);
  }
  for (; k + kLanes <= g.K; k += kLanes) quarter<F16, MT, NT>(acc, wr, x, g.ldx, k);
  if (k < g.K) {
    // The last K % 8 values, zero-padded on both sides.
    const auto left = static_cast<std::size_t>(g.K - k);
    std::uint16_t wt[NT][kLanes] = {};
    float xt[MT][kLanes] = {};
    const std::uint16_t* wp[NT];
    for (int t = 0; t < NT; ++t) {
      std::memcpy(wt[t], wr[t] + k, left * 2);
      wp[t] = wt[t];
    }
    for (int i = 0; i < MT; ++i) std::memcpy(xt[i], x + i * g.ldx + k, left * 4);
    quarter<F16, MT, NT>(acc, wp, xt[0], kLanes, 0);
  }
  for (int i = 0; i < MT; ++i)
    for (int t = 0; t < NT; ++t)
      g.y[(m0 + i) * g.ldy + n0 + t] = hsum(acc[i][t]) + (g.bias ? g.bias[n0 + t] : 0.f);
}

template <bool F16, int NT, int MaxMT, int MT = 1>
void rows_from(const Gemv& g, std::int64_t m0, std::int64_t n0) {
  if constexpr (MT <= MaxMT) {
    if (g.M - m0 == MT || (MT == MaxMT && g.M - m0 > MT)) {
      tile<F16, MT, NT>(g, m0, n0);
      if (g.M - m0 > MT) rows_from<F16, NT, MaxMT, 1>(g, m0 + MT, n0);
      return;
    }
    rows_from<F16, NT, MaxMT, MT + 1>(g, m0, n0);
  }
}

template <bool F16, int NT, int MaxMT>
void run(const Gemv& g, int threads) {
  const std::int64_t tiles = g.N / NT;
  const std::int64_t chunk = 1 + (std::int64_t{1} << 18) / (NT * 2 * (g.K > 0 ? g.K : 1));
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(dynamic, chunk) nowait
    for (std::int64_t t = 0; t < tiles; ++t) rows_from<F16, NT, MaxMT>(g, 0, t * NT);
#pragma omp for schedule(static)
    for (std::int64_t n = tiles * NT; n < g.N; ++n) rows_from<F16, 1, 4>(g, 0, n);
  }
}

template <bool F16>
void run_for_m(const Gemv& g, int threads) {
  if (g.M <= kNt4MaxM) return run<F16, 4, kNt4MaxM>(g, threads);
  run<F16, 2, 4>(g, threads);
}

}  // namespace

void gemv_avx2(const Gemv& g, int threads) {
  if (g.f16)
    run_for_m<true>(g, threads);
  else
    run_for_m<false>(g, threads);
}

}  // namespace symtrace::ops::linear_w16::detail
