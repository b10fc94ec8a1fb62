// AVX2 + FMA block kernels for y = x · w^T (+ bias): the same dot-product tiles as the AVX-512
// file (see there for why), 8 lanes wide. bf16 widens to f32 with a shift, f16 through F16C.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "ops/linear/gemm_impl.hpp"

namespace symtrace::ops::kernels::detail {
namespace {

constexpr int kMr = 3;  // 12 accumulators + 3 x vectors + 1 w vector = 16 ymm registers
constexpr int kNr = 4;

template <DType In>
inline __m256 load8(const void* p, std::int64_t i) {
  if constexpr (In == DType::kF32) {
    return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  } else {
    const __m128i h = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(p) + i));
    if constexpr (In == DType::kF16) {
      return _mm256_cvtph_ps(h);
    } else {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
  }
}

// The last rem < 8 elements, zero-padded (AVX2 has no 16-bit masked load; a copy to the stack
// is cheap next to the K loop it ends).
template <DType In>
inline __m256 load8_tail(const void* p, std::int64_t i, std::int64_t rem) {
  constexpr std::size_t es = In == DType::kF32 ? 4 : 2;
  alignas(32) unsigned char buf[32] = {};
  std::memcpy(buf, static_cast<const unsigned char*>(p) + i * static_cast<std::int64_t>(es),
              static_cast<std::size_t>(rem) * es);
  return load8<In>(buf, 0);
}

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

template <DType In, int MR, int NR>
void tile(const GemmNt& p, std::int64_t m, std::int64_t n) {
  constexpr std::int64_t es = In == DType::kF32 ? 4 : 2;
  const char* xr[MR];
  const char* wr[NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) xr[i] = static_cast<const char*>(p.x) + (m + i) * p.ldx * es;
  #pragma GCC unroll 8
  for (int j = 0; j < NR; ++j) wr[j] = static_cast<const char*>(p.w) + (n + j) * p.ldw * es;
  __m256 acc[MR][NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_ps();
  std::int64_t k = 0;
  for (; k + 8 <= p.K; k += 8) {
    __m256 xv[MR];
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xv[i] = load8<In>(xr[i], k);
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const __m256 wv = load8<In>(wr[j], k);
      #pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (k < p.K) {
    const std::int64_t rem = p.K - k;
    __m256 xv[MR];
    #pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) xv[i] = load8_tail<In>(xr[i], k, rem);
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) {
      const __m256 wv = load8_tail<In>(wr[j], k, rem);
      #pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  #pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) store_out(p, m + i, n + j, hsum(acc[i][j]));
}

using TileFn = void (*)(const GemmNt&, std::int64_t, std::int64_t);

// Table of tile functions for every edge shape (1..kMr) x (1..kNr).
template <DType In, int MR, int... NR>
constexpr std::array<TileFn, kNr> row_of(std::integer_sequence<int, NR...>) {
  return {&tile<In, MR, NR + 1>...};
}
template <DType In, int... MR>
constexpr std::array<std::array<TileFn, kNr>, kMr> table_of(std::integer_sequence<int, MR...>) {
  return {row_of<In, MR + 1>(std::make_integer_sequence<int, kNr>{})...};
}
template <DType In>
constexpr auto kTiles = table_of<In>(std::make_integer_sequence<int, kMr>{});

template <DType In>
void run_block(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
               std::int64_t n1) {
  for (std::int64_t m = m0; m < m1; m += kMr) {
    const auto mr = static_cast<int>(std::min<std::int64_t>(kMr, m1 - m));
    for (std::int64_t n = n0; n < n1; n += kNr) {
      const auto nr = static_cast<int>(std::min<std::int64_t>(kNr, n1 - n));
      kTiles<In>[mr - 1][nr - 1](p, m, n);
    }
  }
}

}  // namespace

void gemm_nt_block_avx2(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                        std::int64_t n1) {
  switch (p.in) {
    case DType::kBF16: run_block<DType::kBF16>(p, m0, m1, n0, n1); break;
    case DType::kF16: run_block<DType::kF16>(p, m0, m1, n0, n1); break;
    default: run_block<DType::kF32>(p, m0, m1, n0, n1); break;
  }
}

}  // namespace symtrace::ops::kernels::detail
