// AVX-512 block kernels for y = x · w^T (+ bias): dot-product tiles over K-contiguous rows.
//
// Why dot-product tiles instead of packed outer-product panels: linear's operands are both
// K-contiguous ([M, K] and [N, K]), so a tile of MR rows of x and NR rows of w can be read in
// place, without the per-call transpose that packing w into N-major panels would cost (that
// transpose doubles the memory traffic of the decode GEMV, M = 1). Each 16-wide (f32) or
// 32-wide (bf16 pairs) step of K loads MR + NR vectors and issues MR·NR FMAs; the MR·NR
// horizontal sums are paid once per tile.
// GCC 12's AVX-512 intrinsics build their "undefined" vectors from themselves (GCC PR 105593),
// which -Wuninitialized then reports in every caller; the pragma covers the header only.
#if defined(__GNUC__) && !defined(__clang__)  // GCC 12's AVX-512 headers (PR 105593)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <array>
#include <utility>

#include "ops/linear/gemm_impl.hpp"

namespace symtrace::ops::kernels::detail {
namespace {

constexpr int kMr = 4;  // rows of x per tile
constexpr int kNr = 6;  // rows of w per tile: 24 accumulators + 4 x vectors + 1 w vector

// 16 consecutive elements starting at p (f32 or f16 in memory) as f32; `rem` < 16 loads only
// that many and zero-fills the rest.
template <DType In>
inline __m512 load16(const void* p, std::int64_t i) {
  if constexpr (In == DType::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(p) + i);
  } else {
    return _mm512_cvtph_ps(_mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const std::uint16_t*>(p) + i)));
  }
}
template <DType In>
inline __m512 load16_masked(const void* p, std::int64_t i, __mmask16 m) {
  if constexpr (In == DType::kF32) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + i);
  } else {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(p) + i));
  }
}

// Horizontal sum. (GCC 12's _mm512_reduce_add_ps trips -Wuninitialized inside its own header.)
inline float hsum(__m512 v) {
  const __m512 h = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));  // 8 lanes
  const __m256 a = _mm512_castps512_ps256(h);
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

template <DType In, int MR, int NR>
void tile_fma(const GemmNt& p, std::int64_t m, std::int64_t n) {
  constexpr std::int64_t es = In == DType::kF32 ? 4 : 2;
  const char* xr[MR];
  const char* wr[NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) xr[i] = static_cast<const char*>(p.x) + (m + i) * p.ldx * es;
  #pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) wr[j] = static_cast<const char*>(p.w) + (n + j) * p.ldw * es;
  __m512 acc[MR][NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  std::int64_t k = 0;
  for (; k + 16 <= p.K; k += 16) {
    __m512 xv[MR];
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xv[i] = load16<In>(xr[i], k);
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const __m512 wv = load16<In>(wr[j], k);
      #pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (k < p.K) {
    const auto mask = static_cast<__mmask16>((1u << (p.K - k)) - 1u);
    __m512 xv[MR];
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xv[i] = load16_masked<In>(xr[i], k, mask);
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const __m512 wv = load16_masked<In>(wr[j], k, mask);
      #pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) store_out(p, m + i, n + j, hsum(acc[i][j]));
}

// bf16: vdpbf16ps multiplies adjacent bf16 pairs exactly and adds both products into an f32
// lane, so 32 values of K go through per instruction with no conversion.
template <int MR, int NR>
void tile_dpbf16(const GemmNt& p, std::int64_t m, std::int64_t n) {
  const std::uint16_t* xr[MR];
  const std::uint16_t* wr[NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) xr[i] = static_cast<const std::uint16_t*>(p.x) + (m + i) * p.ldx;
  #pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) wr[j] = static_cast<const std::uint16_t*>(p.w) + (n + j) * p.ldw;
  __m512 acc[MR][NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  std::int64_t k = 0;
  for (; k + 32 <= p.K; k += 32) {
    __m512bh xv[MR];
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xv[i] = (__m512bh)_mm512_loadu_si512(xr[i] + k);
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const auto wv = (__m512bh)_mm512_loadu_si512(wr[j] + k);
      #pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv[i], wv);
    }
  }
  if (k < p.K) {
    const auto mask = static_cast<__mmask32>((1ull << (p.K - k)) - 1ull);
    __m512bh xv[MR];
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xv[i] = (__m512bh)_mm512_maskz_loadu_epi16(mask, xr[i] + k);
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const auto wv = (__m512bh)_mm512_maskz_loadu_epi16(mask, wr[j] + k);
      #pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv[i], wv);
    }
  }
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) store_out(p, m + i, n + j, hsum(acc[i][j]));
}

using TileFn = void (*)(const GemmNt&, std::int64_t, std::int64_t);

template <DType In>
struct FmaTile {
  template <int MR, int NR>
  static void run(const GemmNt& p, std::int64_t m, std::int64_t n) {
    tile_fma<In, MR, NR>(p, m, n);
  }
};
struct Bf16Tile {
  template <int MR, int NR>
  static void run(const GemmNt& p, std::int64_t m, std::int64_t n) {
    tile_dpbf16<MR, NR>(p, m, n);
  }
};

// Table of tile functions for every edge shape (1..kMr) x (1..kNr).
template <class T, int MR, int... NR>
constexpr std::array<TileFn, kNr> row_of(std::integer_sequence<int, NR...>) {
  return {&T::template run<MR, NR + 1>...};
}
template <class T, int... MR>
constexpr std::array<std::array<TileFn, kNr>, kMr> table_of(std::integer_sequence<int, MR...>) {
  return {row_of<T, MR + 1>(std::make_integer_sequence<int, kNr>{})...};
}
template <class T>
constexpr auto kTiles = table_of<T>(std::make_integer_sequence<int, kMr>{});

template <class T>
void run_block(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
               std::int64_t n1) {
  for (std::int64_t m = m0; m < m1; m += kMr) {
    const auto mr = static_cast<int>(std::min<std::int64_t>(kMr, m1 - m));
    for (std::int64_t n = n0; n < n1; n += kNr) {
      const auto nr = static_cast<int>(std::min<std::int64_t>(kNr, n1 - n));
      kTiles<T>[mr - 1][nr - 1](p, m, n);
    }
  }
}

}  // namespace

void gemm_nt_block_avx512(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                          std::int64_t n1) {
  if (p.in == DType::kF32)
    run_block<FmaTile<DType::kF32>>(p, m0, m1, n0, n1);
  else
    run_block<FmaTile<DType::kF16>>(p, m0, m1, n0, n1);  // bf16 takes the _bf16 path
}

void gemm_nt_block_avx512_bf16(const GemmNt& p, std::int64_t m0, std::int64_t m1,
                               std::int64_t n0, std::int64_t n1) {
  run_block<Bf16Tile>(p, m0, m1, n0, n1);
}

}  // namespace symtrace::ops::kernels::detail
