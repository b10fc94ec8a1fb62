// linear_w16 decode GEMV, AVX-512: each 64-byte line of a weight row (32 bf16/f16 values) is
// widened to f32 once — bf16 by a zero-extend and a 16-bit shift, f16 by vcvtph2ps, both
// exact — and FMA'd into every activation row's f32 lanes; one horizontal sum per output.
// Everything sits in an anonymous namespace, so no AVX-512 instantiation can be picked by the
// linker for a baseline caller. GCC 12's AVX-512 intrinsics warn about their own "undefined"
// merge registers at every inlining site; the warning is noise here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <omp.h>

#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops::linear_w16::detail {
namespace {

constexpr int kLanes = 16;  // f32 lanes: weight values per half step
constexpr int kStep = 32;   // weight values per step: one 64-byte line of each row
// Software prefetch distance per weight row, in values (1 KiB). The hardware prefetcher
// alone keeps fewer lines in flight than NT concurrent row streams need.
constexpr std::int64_t kAhead = 512;
// Largest M served by 8 weight rows per work item; beyond, 4 rows with 4 activation rows per
// pass: the MT * NT accumulators plus NT widened weight vectors fit in 32 zmm. 4 x 4 beat
// 2 rows x 8 activation rows (measured, one thread, 32000 x 2048: M = 16 15.7 vs 21.8 ms,
// M = 8 10.6 vs 10.8 ms).
constexpr int kNt8MaxM = 2;

template <bool F16>
inline __m512 widen(__m256i h) {
  if constexpr (F16)
    return _mm512_cvtph_ps(h);
  else
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// GCC 12's _mm512_reduce_add_ps reads an "undefined" register; halves by zero-masked extract.
inline float hsum(__m512 v) {
  const __m256i up = _mm512_maskz_extracti64x4_epi64(0xFF, _mm512_castps_si512(v), 1);
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castsi256_ps(up));
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 0x55));
  return _mm_cvtss_f32(s4);
}

// 16 lanes at k of every (activation row, weight row) pair. Full: no mask (the loads fold
// into the widening and FMA instructions); else lanes outside `m` read as zero on both sides.
template <bool F16, int MT, int NT, bool Full>
inline void half(__m512 (&acc)[MT][NT], const std::uint16_t* const (&wr)[NT], const float* x,
                 std::int64_t ldx, std::int64_t k, __mmask16 m) {
  __m512 wv[NT];
  for (int t = 0; t < NT; ++t)
    wv[t] = widen<F16>(Full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[t] + k))
                            : _mm256_maskz_loadu_epi16(m, wr[t] + k));
  for (int i = 0; i < MT; ++i) {
    const float* xi = x + i * ldx + k;
    const __m512 xv = Full ? _mm512_loadu_ps(xi) : _mm512_maskz_loadu_ps(m, xi);
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm512_fmadd_ps(xv, wv[t], acc[i][t]);
  }
}

// MT activation rows from m0 x NT weight rows [n0, n0 + NT).
template <bool F16, int MT, int NT>
void tile(const Gemv& g, std::int64_t m0, std::int64_t n0) {
  const std::uint16_t* wr[NT];
  for (int t = 0; t < NT; ++t) wr[t] = g.w + (n0 + t) * g.ldw;
  const float* x = g.x + m0 * g.ldx;
  __m512 acc[MT][NT];
  for (int i = 0; i < MT; ++i)
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm512_setzero_ps();
  std::int64_t k = 0;
  for (; k + kStep <= g.K; k += kStep) {
    // Prefetch never faults: past a row's end it only touches the next row or nothing.
    for (int t = 0; t < NT; ++t)
      _mm_prefetch(reinterpret_cast<const char*>(wr[t] + k + kAhead), _MM_HINT_T0);
    half<F16, MT, NT, true>(acc, wr, x, g.ldx, k, 0);
    half<F16, MT, NT, true>(acc, wr, x, g.ldx, k + kLanes, 0);
  }
  for (; k < g.K; k += kLanes) {
    const std::int64_t left = g.K - k;
    const auto m = static_cast<__mmask16>(left >= kLanes ? 0xFFFF : (1u << left) - 1);
    half<F16, MT, NT, false>(acc, wr, x, g.ldx, k, m);
  }
  for (int i = 0; i < MT; ++i)
    for (int t = 0; t < NT; ++t)
      g.y[(m0 + i) * g.ldy + n0 + t] = hsum(acc[i][t]) + (g.bias ? g.bias[n0 + t] : 0.f);
}

// All M rows against weight rows [n0, n0 + NT): groups of up to MaxMT activation rows (later
// groups re-read the weight rows from L1/L2).
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
  // Dynamic chunks of about 256 KiB of weight: a thread that loses its core to another
  // process does not hold the whole call back.
  const std::int64_t chunk = 1 + (std::int64_t{1} << 18) / (NT * 2 * (g.K > 0 ? g.K : 1));
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(dynamic, chunk) nowait
    for (std::int64_t t = 0; t < tiles; ++t) rows_from<F16, NT, MaxMT>(g, 0, t * NT);
#pragma omp for schedule(static)
    for (std::int64_t n = tiles * NT; n < g.N; ++n) rows_from<F16, 1, 8>(g, 0, n);
  }
}

template <bool F16>
void run_for_m(const Gemv& g, int threads) {
  if (g.M <= kNt8MaxM) return run<F16, 8, kNt8MaxM>(g, threads);
  run<F16, 4, 4>(g, threads);
}

}  // namespace

void gemv_avx512(const Gemv& g, int threads) {
  if (g.f16)
    run_for_m<true>(g, threads);
  else
    run_for_m<false>(g, threads);
}

}  // namespace symtrace::ops::linear_w16::detail
