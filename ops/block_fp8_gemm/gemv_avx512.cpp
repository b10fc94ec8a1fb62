// block_fp8_gemm decode GEMV, AVX-512 BF16: each 32-byte slice of a weight row is decoded to
// bf16 once (a 128-entry magnitude table in four zmm, two vpermt2w, the sign or-ed back in)
// and dotted with every activation row by vdpbf16ps. With e4m3 activations both operands are
// exact in bf16 and so are their products (4-bit x 4-bit significands); f16/f32 activations
// (act_quant 'none') take an f32 FMA loop over the same decoded weight.
// Everything sits in an anonymous namespace, so no AVX-512 instantiation can be picked by the
// linker for a baseline caller. GCC 12's AVX-512 intrinsics warn about their own "undefined"
// merge registers at every inlining site; the warning is noise here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <omp.h>

#include "ops/block_fp8_gemm/gemv.hpp"
#include "ops/common/gemm_kernels.hpp"

namespace symtrace::ops::block_fp8_gemm::detail {
namespace {

constexpr int kLanes = 32;  // weight bytes (and bf16 activation words) per step
// Software prefetch distance along each weight row, in bytes. The hardware prefetcher alone
// left the GEMVs latency-bound (int8 M=1 14336x4096: 2.23 -> 1.73 ms with it); past a row's
// end it touches the next rows, which are read next anyway.
constexpr std::int64_t kPrefetch = 512;
// Largest M served by 8 and 4 weight rows per work item (2 rows beyond, 8 activation rows
// per pass).
constexpr int kNt8MaxM = 2, kNt4MaxM = 4;

// bf16 bits of the 128 e4m3 magnitudes (code 0x7F is NaN) in four registers of 32 words.
struct Lut {
  __m512i t0, t1, t2, t3;
};
Lut make_lut() {
  const std::uint16_t* tab = gemm::bf16_table(gemm::Elem::kF8E4M3);  // 256 entries, signed
  return {_mm512_loadu_si512(tab), _mm512_loadu_si512(tab + 32), _mm512_loadu_si512(tab + 64),
          _mm512_loadu_si512(tab + 96)};
}

// 32 e4m3 codes -> 32 bf16 words. vpermt2w reads index bits 0..5 (bit 5 picks the second
// table), bit 6 picks the pair; bit 7, the sign, moves to bit 15.
inline __m512i decode(__m256i bytes, const Lut& L) {
  const __m512i w = _mm512_cvtepu8_epi16(bytes);
  const __m512i lo = _mm512_permutex2var_epi16(L.t0, w, L.t1);
  const __m512i hi = _mm512_permutex2var_epi16(L.t2, w, L.t3);
  const __mmask32 upper = _mm512_test_epi16_mask(w, _mm512_set1_epi16(0x40));
  const __m512i mag = _mm512_mask_blend_epi16(upper, lo, hi);
  // mag | (w << 8 & 0x8000)
  return _mm512_ternarylogic_epi32(mag, _mm512_slli_epi16(w, 8),
                                   _mm512_set1_epi16(static_cast<short>(0x8000)), 0xF8);
}

// bf16 words -> f32 (the low and high 16 lanes).
inline __m512 bf16_lo(__m512i v) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(v)), 16));
}
inline __m512 bf16_hi(__m512i v) {
  const __m256i h = _mm512_maskz_extracti64x4_epi64(0xFF, v, 1);
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

inline std::int64_t lesser(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

// One 32-lane step at k of every (activation row, weight row) pair. Full: no mask (the
// loads then fold into the dot instructions); else lanes outside `m` read as zero on both
// sides, so a bf16 pair never straddles a block end.
template <bool Bf16, int MT, int NT, bool Full>
inline void step(__m512 (&blk)[MT][NT], const std::uint8_t* const (&wr)[NT], const void* a,
                 std::int64_t lda, std::int64_t k, __mmask32 m, const Lut& L) {
  __m512i wv[NT];
  #pragma GCC unroll 16
  for (int t = 0; t < NT; ++t)
    wv[t] = decode(Full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[t] + k))
                        : _mm256_maskz_loadu_epi8(m, wr[t] + k),
                   L);
  #pragma GCC unroll 16
  for (int i = 0; i < MT; ++i) {
    if constexpr (Bf16) {
      const std::uint16_t* x = static_cast<const std::uint16_t*>(a) + i * lda + k;
      const __m512i av = Full ? _mm512_loadu_si512(x) : _mm512_maskz_loadu_epi16(m, x);
      #pragma GCC unroll 16
      for (int t = 0; t < NT; ++t)
        blk[i][t] = _mm512_dpbf16_ps(blk[i][t], reinterpret_cast<const __m512bh&>(wv[t]),
                                     reinterpret_cast<const __m512bh&>(av));
    } else {
      const float* x = static_cast<const float*>(a) + i * lda + k;
      const __m512 x0 = Full ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(__mmask16(m), x);
      const __m512 x1 =
          Full ? _mm512_loadu_ps(x + 16) : _mm512_maskz_loadu_ps(__mmask16(m >> 16), x + 16);
      #pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) {
        blk[i][t] = _mm512_fmadd_ps(x0, bf16_lo(wv[t]), blk[i][t]);
        blk[i][t] = _mm512_fmadd_ps(x1, bf16_hi(wv[t]), blk[i][t]);
      }
    }
  }
}

// MT activation rows x NT weight rows [n0, n0 + NT). Bf16: activations are bf16 words, else f32.
template <bool Bf16, int MT, int NT>
void tile(const Gemv& g, const Expanded& a, std::int64_t m0, std::int64_t n0, const Lut& L) {
  const std::uint8_t* wr[NT];
  const float* wsr[NT];
  #pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) {
    wr[t] = g.w + (n0 + t) * g.ldw;
    wsr[t] = g.ws + ((n0 + t) / g.bn) * g.ws_ld;
  }
  const std::size_t eb = Bf16 ? 2 : 4;
  const void* arow = static_cast<const std::byte*>(a.data) + static_cast<std::size_t>(m0 * a.ld) * eb;
  __m512 tot[MT][NT];
  #pragma GCC unroll 16
  for (int i = 0; i < MT; ++i)
    #pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) tot[i][t] = _mm512_setzero_ps();
  for (std::int64_t j = 0, k_lo = 0; k_lo < g.K; ++j, k_lo += g.bk) {
    const std::int64_t k_hi = lesser(g.K, k_lo + g.bk);
    __m512 blk[MT][NT];
    #pragma GCC unroll 16
    for (int i = 0; i < MT; ++i)
      #pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) blk[i][t] = _mm512_setzero_ps();
    std::int64_t k = k_lo;
    for (; k + kLanes <= k_hi; k += kLanes) {
      if ((k & 63) == 0)
        #pragma GCC unroll 16
        for (int t = 0; t < NT; ++t)
          _mm_prefetch(reinterpret_cast<const char*>(wr[t] + k + kPrefetch), _MM_HINT_T0);
      step<Bf16, MT, NT, true>(blk, wr, arow, a.ld, k, 0, L);
    }
    if (k < k_hi)
      step<Bf16, MT, NT, false>(blk, wr, arow, a.ld, k, (__mmask32{1} << (k_hi - k)) - 1, L);
    #pragma GCC unroll 16
    for (int i = 0; i < MT; ++i) {
      const float xs = g.xs ? g.xs[(m0 + i) * g.xs_ld + j] : 1.f;
      #pragma GCC unroll 16
      for (int t = 0; t < NT; ++t)
        tot[i][t] = _mm512_fmadd_ps(blk[i][t], _mm512_set1_ps(xs * wsr[t][j]), tot[i][t]);
    }
  }
  #pragma GCC unroll 16
  for (int i = 0; i < MT; ++i)
    #pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) g.out[(m0 + i) * g.ldo + n0 + t] = hsum(tot[i][t]);
}

// All M rows against weight rows [n0, n0 + NT): groups of up to MaxMT activation rows (later
// groups re-read the weight rows from L1).
template <bool Bf16, int NT, int MaxMT, int MT = 1>
void rows_from(const Gemv& g, const Expanded& a, std::int64_t m0, std::int64_t n0, const Lut& L) {
  if constexpr (MT <= MaxMT) {
    if (g.M - m0 == MT || (MT == MaxMT && g.M - m0 > MT)) {
      tile<Bf16, MT, NT>(g, a, m0, n0, L);
      if (g.M - m0 > MT) rows_from<Bf16, NT, MaxMT, 1>(g, a, m0 + MT, n0, L);
      return;
    }
    rows_from<Bf16, NT, MaxMT, MT + 1>(g, a, m0, n0, L);
  }
}

// Weight rows per work item by M. More rows in flight keep more DRAM streams busy (measured,
// one thread, 4096 x 4096: 4 rows 10 GB/s, 8 rows 13 GB/s of a 16.6 GB/s read peak); the
// 2 * MT * NT accumulators bound it as M grows.
template <bool Bf16, int NT, int MaxMT>
void run(const Gemv& g, const Expanded& a, int threads) {
  const std::int64_t tiles = g.N / NT;
  // Dynamic chunks of about 256 KiB of weight: a thread that loses its core to another
  // process does not hold the whole call back.
  const std::int64_t chunk = 1 + (std::int64_t{1} << 18) / (NT * (g.K > 0 ? g.K : 1));
#pragma omp parallel num_threads(threads)
  {
    const Lut L = make_lut();
#pragma omp for schedule(dynamic, chunk) nowait
    for (std::int64_t t = 0; t < tiles; ++t) rows_from<Bf16, NT, MaxMT>(g, a, 0, t * NT, L);
#pragma omp for schedule(static)
    for (std::int64_t n = tiles * NT; n < g.N; ++n) rows_from<Bf16, 1, 8>(g, a, 0, n, L);
  }
}

template <bool Bf16>
void run_for_m(const Gemv& g, const Expanded& a, int threads) {
  if (g.M <= kNt8MaxM) return run<Bf16, 8, kNt8MaxM>(g, a, threads);
  if (g.M <= kNt4MaxM) return run<Bf16, 4, kNt4MaxM>(g, a, threads);
  run<Bf16, 2, 8>(g, a, threads);
}

}  // namespace

void gemv_avx512(const Gemv& g, const Expanded& a, int threads) {
  if (a.bf16)
    run_for_m<true>(g, a, threads);
  else
    run_for_m<false>(g, a, threads);
}

void expand_e4m3_bf16_avx512(const std::uint8_t* q, std::int64_t n, std::uint16_t* out) {
  const Lut L = make_lut();
  for (std::int64_t k = 0; k < n; k += kLanes) {
    const std::int64_t left = n - k;
    const __mmask32 m = left >= kLanes ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
    _mm512_mask_storeu_epi16(out + k, m, decode(_mm256_maskz_loadu_epi8(m, q + k), L));
  }
}

}  // namespace symtrace::ops::block_fp8_gemm::detail
