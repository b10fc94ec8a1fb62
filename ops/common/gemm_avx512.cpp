// AVX-512 microkernels (VNNI vpdpbusd, BF16 vdpbf16ps, F32 FMA) and decode GEMVs.
// Everything here sits in an anonymous namespace except the tables the driver reads, so no
// inline function compiled with AVX-512 can be picked by the linker for a baseline caller.
// GCC 12's AVX-512 intrinsics (cvtph_ps, extracts, reductions) pass an "undefined" register
// as the merge source and then warn about it at every inlining site; the warning is noise.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <algorithm>
#include <cstring>
#include <immintrin.h>

#include <omp.h>

#include "ops/common/gemm_kernels.hpp"

namespace symtrace::ops::gemm {
namespace {

constexpr int kMR = 6;
constexpr int kNV = 4;  // zmm vectors per tile row: NR = 64 columns

inline std::int32_t word_at(const void* row, std::int64_t w) {
  std::int32_t v;
  std::memcpy(&v, static_cast<const std::byte*>(row) + 4 * w, 4);
  return v;
}

// ---- VNNI: u8 (packed B) x s8 (broadcast A) -> i32 ------------------------------------
void vnni_6x64(std::int64_t kw, const void* const* a, const void* bp, void* c, std::int64_t ldc,
               bool accumulate) {
  __m512i acc[kMR][kNV];
  auto* ci = static_cast<std::int32_t*>(c);
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j)
      acc[i][j] = accumulate ? _mm512_loadu_si512(ci + i * ldc + 16 * j) : _mm512_setzero_si512();
  const auto* b = static_cast<const std::byte*>(bp);
  for (std::int64_t w = 0; w < kw; ++w, b += 256) {
    const __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
    const __m512i b2 = _mm512_loadu_si512(b + 128), b3 = _mm512_loadu_si512(b + 192);
    for (int i = 0; i < kMR; ++i) {
      const __m512i ai = _mm512_set1_epi32(word_at(a[i], w));
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], b0, ai);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], b1, ai);
      acc[i][2] = _mm512_dpbusd_epi32(acc[i][2], b2, ai);
      acc[i][3] = _mm512_dpbusd_epi32(acc[i][3], b3, ai);
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j) _mm512_storeu_si512(ci + i * ldc + 16 * j, acc[i][j]);
}

// ---- BF16 pairs -> f32 ------------------------------------------------------------------
inline __m512 dot_bf16(__m512 acc, __m512i b, __m512i a) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh&>(b), reinterpret_cast<__m512bh&>(a));
}

template <bool Scaled>
void bf16_6x64(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
               bool accumulate, const float* rs, const float* cs) {
  __m512 acc[kMR][kNV];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j)
      acc[i][j] =
          (!Scaled && accumulate) ? _mm512_loadu_ps(c + i * ldc + 16 * j) : _mm512_setzero_ps();
  const auto* b = static_cast<const std::byte*>(bp);
  for (std::int64_t w = 0; w < kw; ++w, b += 256) {
    const __m512i b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
    const __m512i b2 = _mm512_loadu_si512(b + 128), b3 = _mm512_loadu_si512(b + 192);
    for (int i = 0; i < kMR; ++i) {
      const __m512i ai = _mm512_set1_epi32(word_at(a[i], w));
      acc[i][0] = dot_bf16(acc[i][0], b0, ai);
      acc[i][1] = dot_bf16(acc[i][1], b1, ai);
      acc[i][2] = dot_bf16(acc[i][2], b2, ai);
      acc[i][3] = dot_bf16(acc[i][3], b3, ai);
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j) {
      float* out = c + i * ldc + 16 * j;
      if constexpr (Scaled) {
        const __m512 s = _mm512_mul_ps(_mm512_set1_ps(rs[i]), _mm512_loadu_ps(cs + 16 * j));
        _mm512_storeu_ps(out, _mm512_fmadd_ps(acc[i][j], s, _mm512_loadu_ps(out)));
      } else {
        _mm512_storeu_ps(out, acc[i][j]);
      }
    }
}

template <bool Scaled>
void f32_6x64(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
              bool accumulate, const float* rs, const float* cs) {
  __m512 acc[kMR][kNV];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j)
      acc[i][j] =
          (!Scaled && accumulate) ? _mm512_loadu_ps(c + i * ldc + 16 * j) : _mm512_setzero_ps();
  const auto* b = static_cast<const float*>(bp);
  for (std::int64_t w = 0; w < kw; ++w, b += 64) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    const __m512 b2 = _mm512_loadu_ps(b + 32), b3 = _mm512_loadu_ps(b + 48);
    for (int i = 0; i < kMR; ++i) {
      float av;
      std::memcpy(&av, static_cast<const std::byte*>(a[i]) + 4 * w, 4);
      const __m512 ai = _mm512_set1_ps(av);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
      acc[i][2] = _mm512_fmadd_ps(ai, b2, acc[i][2]);
      acc[i][3] = _mm512_fmadd_ps(ai, b3, acc[i][3]);
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j) {
      float* out = c + i * ldc + 16 * j;
      if constexpr (Scaled) {
        const __m512 s = _mm512_mul_ps(_mm512_set1_ps(rs[i]), _mm512_loadu_ps(cs + 16 * j));
        _mm512_storeu_ps(out, _mm512_fmadd_ps(acc[i][j], s, _mm512_loadu_ps(out)));
      } else {
        _mm512_storeu_ps(out, acc[i][j]);
      }
    }
}

void bf16_run(std::int64_t kw, const void* const* a, const void* bp, void* c, std::int64_t ldc,
              bool accumulate) {
  bf16_6x64<false>(kw, a, bp, static_cast<float*>(c), ldc, accumulate, nullptr, nullptr);
}
void bf16_scaled(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
                 const float* rs, const float* cs) {
  bf16_6x64<true>(kw, a, bp, c, ldc, false, rs, cs);
}
void f32_run(std::int64_t kw, const void* const* a, const void* bp, void* c, std::int64_t ldc,
             bool accumulate) {
  f32_6x64<false>(kw, a, bp, static_cast<float*>(c), ldc, accumulate, nullptr, nullptr);
}
void f32_scaled(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
                const float* rs, const float* cs) {
  f32_6x64<true>(kw, a, bp, c, ldc, false, rs, cs);
}

// Horizontal sums. GCC 12's _mm512_reduce_* read an "undefined" register and trip
// -Wuninitialized, so the halves are taken with zero-masked extracts.
inline __m256i upper(__m512i v) { return _mm512_maskz_extracti64x4_epi64(0xFF, v, 1); }
inline std::int32_t hsum(__m512i v) {
  const __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(v), upper(v));
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
  return _mm_cvtsi128_si32(s4);
}
inline float hsum(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castsi256_ps(upper(bits)));
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 0x55));
  return _mm_cvtss_f32(s4);
}

// Software prefetch distance along each weight row, in bytes: the hardware prefetcher alone
// left the GEMVs latency-bound (int8 M=1 14336x4096: 2.23 -> 1.73 ms, M=16 6.41 -> 4.41 ms).
constexpr std::int64_t kGemvPrefetch = 512;

// acc += u8 x s8 dot products, in place. GCC 12 copies the tied accumulator of
// _mm512_dpbusd_epi32 around every call when the accumulators are an array (two zmm moves per
// dot, measured ~1.9x slower at M = 8); the asm names it read-write, so it stays put.
inline void dpbusd(__m512i& acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
}

// ---- int8 GEMV: MT activation rows x NT weight rows per tile, 64 K per step -------------
// The tile loops are unrolled by pragma so that GCC keeps acc[][] in registers (it does not
// scalarize an array whose loops it unrolls only later).
// The weight is the u8 side (b ^ 0x80) and the activation the s8 side, so the correction is
// 128 * rowsum(a), computed once per row; colsum(b) rides along when asked (azp: CS). CS is a
// template argument so the common path's loop carries no branch and no spilled accumulators.
template <int MT, int NT, bool CS>
void gemv_i8_tile(std::int64_t K, const std::int8_t* const* a, const std::int8_t* const* b,
                  const std::int32_t* rowsum, std::int32_t* out, std::int64_t ldo,
                  std::int32_t* colsum) {
  __m512i acc[MT][NT], cs[NT];
#pragma GCC unroll 16
  for (int i = 0; i < MT; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < NT; ++j) acc[i][j] = _mm512_setzero_si512();
#pragma GCC unroll 16
  for (int j = 0; j < NT; ++j) cs[j] = _mm512_setzero_si512();
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i ones = _mm512_set1_epi8(1);
  for (std::int64_t k = 0; k < K; k += 64) {
    const __mmask64 m = K - k >= 64 ? ~__mmask64{0} : (__mmask64{1} << (K - k)) - 1;
    __m512i bu[NT];
#pragma GCC unroll 16
    for (int j = 0; j < NT; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(b[j] + k + kGemvPrefetch), _MM_HINT_T0);
      const __m512i raw = _mm512_maskz_loadu_epi8(m, b[j] + k);
      if constexpr (CS) dpbusd(cs[j], ones, raw);
      bu[j] = _mm512_xor_si512(raw, flip);  // masked-off bytes become 128 against a = 0
    }
#pragma GCC unroll 16
    for (int i = 0; i < MT; ++i) {
      const __m512i ai = _mm512_maskz_loadu_epi8(m, a[i] + k);
#pragma GCC unroll 16
      for (int j = 0; j < NT; ++j) dpbusd(acc[i][j], bu[j], ai);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MT; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < NT; ++j) out[i * ldo + j] = hsum(acc[i][j]) - 128 * rowsum[i];
  if constexpr (CS)
#pragma GCC unroll 16
    for (int j = 0; j < NT; ++j) colsum[j] = hsum(cs[j]);
}

// All M activation rows against NT weight rows: groups of up to MaxMT rows (later groups
// re-read the weight rows from L1); colsum, when asked, from the first group.
template <int NT, int MaxMT, bool CS, int MT = 1>
void gemv_i8_rows(std::int64_t M, std::int64_t K, const std::int8_t* a, std::int64_t lda,
                  const std::int8_t* const* brow, const std::int32_t* rowsum, std::int32_t* out,
                  std::int64_t ldo, std::int32_t* colsum) {
  if constexpr (MT <= MaxMT) {
    if (M == MT || (MT == MaxMT && M > MT)) {
      const std::int8_t* arow[MT];
      for (int i = 0; i < MT; ++i) arow[i] = a + i * lda;
      gemv_i8_tile<MT, NT, CS>(K, arow, brow, rowsum, out, ldo, colsum);
      if (M > MT)
        gemv_i8_rows<NT, MaxMT, false>(M - MT, K, a + MT * lda, lda, brow, rowsum + MT, out + MT * ldo, ldo,
                                       nullptr);
      return;
    }
    gemv_i8_rows<NT, MaxMT, CS, MT + 1>(M, K, a, lda, brow, rowsum, out, ldo, colsum);
  }
}

// Weight rows per tile by M: more rows in flight keep more DRAM streams busy (one thread,
// M = 1, 14336 x 4096: 4 rows 2.73 ms, 8 rows 2.20 ms) while MT * NT accumulators fit in
// registers: 8 rows at M <= 2, else 4 rows x 4 activation rows per pass, later passes
// re-reading the 4 rows from L1 (M = 8, 5632 x 2048: 0.49 ms; 2 rows x 8 activation rows,
// 0.54 ms: fewer DRAM streams).
template <int NT, int MaxMT, bool CS>
void gemv_i8_run(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a, std::int64_t lda,
                 const std::int8_t* b, std::int64_t ldb, const std::int32_t* rowsum, std::int32_t* out,
                 std::int64_t ldo, std::int32_t* colsum, int threads) {
  const std::int64_t tiles = (N + NT - 1) / NT;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t t = 0; t < tiles; ++t) {
    const std::int64_t n0 = t * NT;
    const std::int8_t* brow[NT];
    if (N - n0 >= NT) {
      for (int j = 0; j < NT; ++j) brow[j] = b + (n0 + j) * ldb;
      gemv_i8_rows<NT, MaxMT, CS>(M, K, a, lda, brow, rowsum, out + n0, ldo, CS ? colsum + n0 : nullptr);
    } else {
      for (std::int64_t n = n0; n < N; ++n) {
        brow[0] = b + n * ldb;
        gemv_i8_rows<1, 8, CS>(M, K, a, lda, brow, rowsum, out + n, ldo, CS ? colsum + n : nullptr);
      }
    }
  }
}

// ---- fp8 e4m3fn -> f32, 32 at a time --------------------------------------------------
// e4m3 bits b placed as f16 bits ((b & 0x7F) << 7, sign at bit 15) is the same number times
// 2^-8, subnormals included (both formats have 3 resp. 10 mantissa bits and a bias 8 apart);
// the caller multiplies the sum by 256. Code 0x7F/0xFF (NaN) becomes an f16 NaN.
inline void e4m3x32_to_f32(__m256i bytes, __m512& lo, __m512& hi) {
  const __m512i w = _mm512_cvtepu8_epi16(bytes);
  const __m512i x = _mm512_slli_epi16(w, 7);  // magnitude at 7..13, sign at 14
  __m512i h = _mm512_add_epi16(x, _mm512_and_si512(x, _mm512_set1_epi16(0x4000)));  // sign -> 15
  const __mmask32 nan = _mm512_cmpeq_epi16_mask(_mm512_and_si512(x, _mm512_set1_epi16(0x3F80)),
                                                _mm512_set1_epi16(0x3F80));
  h = _mm512_mask_mov_epi16(h, nan, _mm512_set1_epi16(0x7E00));
  lo = _mm512_cvtph_ps(_mm512_castsi512_si256(h));
  hi = _mm512_cvtph_ps(upper(h));
}

template <int MT, int NT>
void gemv_f8_tile(std::int64_t K, const float* const* x, const std::uint8_t* const* b, float* out,
                  std::int64_t ldo) {
  __m512 acc[MT][NT];
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) acc[i][j] = _mm512_setzero_ps();
  for (std::int64_t k = 0; k < K; k += 32) {
    const std::int64_t left = K - k;
    const __mmask32 m = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
    const __mmask16 m0 = static_cast<__mmask16>(m), m1 = static_cast<__mmask16>(m >> 16);
    __m512 lo[NT], hi[NT];
    if ((k & 63) == 0)
      for (int j = 0; j < NT; ++j) _mm_prefetch(reinterpret_cast<const char*>(b[j] + k + kGemvPrefetch), _MM_HINT_T0);
    for (int j = 0; j < NT; ++j) e4m3x32_to_f32(_mm256_maskz_loadu_epi8(m, b[j] + k), lo[j], hi[j]);
    for (int i = 0; i < MT; ++i) {
      const __m512 x0 = _mm512_maskz_loadu_ps(m0, x[i] + k);
      const __m512 x1 = _mm512_maskz_loadu_ps(m1, x[i] + k + 16);
      for (int j = 0; j < NT; ++j) {
        acc[i][j] = _mm512_fmadd_ps(x0, lo[j], acc[i][j]);
        acc[i][j] = _mm512_fmadd_ps(x1, hi[j], acc[i][j]);
      }
    }
  }
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) out[i * ldo + j] = hsum(acc[i][j]) * 256.f;
}

template <int NT>
void gemv_f8_rows(std::int64_t M, std::int64_t K, const float* x, std::int64_t ldx,
                  const std::uint8_t* const* brow, float* out, std::int64_t ldo) {
  for (std::int64_t m0 = 0; m0 < M; m0 += 4) {
    const float* xr[4];
    const std::int64_t mt = std::min<std::int64_t>(4, M - m0);
    for (std::int64_t i = 0; i < mt; ++i) xr[i] = x + (m0 + i) * ldx;
    float* o = out + m0 * ldo;
    switch (mt) {
      case 1:
        gemv_f8_tile<1, NT>(K, xr, brow, o, ldo);
        break;
      case 2:
        gemv_f8_tile<2, NT>(K, xr, brow, o, ldo);
        break;
      case 3:
        gemv_f8_tile<3, NT>(K, xr, brow, o, ldo);
        break;
      default:
        gemv_f8_tile<4, NT>(K, xr, brow, o, ldo);
        break;
    }
  }
}

// KN GEMV: NV zmm of columns per activation row, walking the K rows of a column strip.
template <int MT, int NV>
void gemv_f8_kn_strip(std::int64_t K, const float* const* x, const std::uint8_t* b,
                      std::int64_t ldb, std::int64_t cols, float* out, std::int64_t ldo) {
  __m512 acc[MT][NV];
  for (int i = 0; i < MT; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  for (std::int64_t k = 0; k < K; ++k) {
    const std::uint8_t* row = b + k * ldb;
    __m512 w[NV];
    for (int v = 0; v < NV; v += 2) {
      const std::int64_t left = cols - 16 * v;
      const __mmask32 m = left >= 32 ? ~__mmask32{0} : left <= 0 ? 0 : (__mmask32{1} << left) - 1;
      e4m3x32_to_f32(_mm256_maskz_loadu_epi8(m, row + 16 * v), w[v], w[v + 1]);
    }
    for (int i = 0; i < MT; ++i) {
      const __m512 xi = _mm512_set1_ps(x[i][k]);
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(xi, w[v], acc[i][v]);
    }
  }
  const __m512 s = _mm512_set1_ps(256.f);
  for (int i = 0; i < MT; ++i)
    for (int v = 0; v < NV; ++v) {
      const std::int64_t left = cols - 16 * v;
      if (left <= 0) break;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
      _mm512_mask_storeu_ps(out + i * ldo + 16 * v, m, _mm512_mul_ps(acc[i][v], s));
    }
}

}  // namespace

namespace avx512 {

const Microkernel kVnni{PackKind::kVnniU8, kMR, 16 * kNV, "avx512_vnni", vnni_6x64, nullptr};
const Microkernel kBf16{PackKind::kBf16, kMR, 16 * kNV, "avx512_bf16", bf16_run, bf16_scaled};
const Microkernel kF32{PackKind::kF32, kMR, 16 * kNV, "avx512", f32_run, f32_scaled};

bool gemv_i8(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a, std::int64_t lda,
             const std::int8_t* b, std::int64_t ldb, std::int32_t* out, std::int64_t ldo,
             std::int32_t* colsum, int threads) {
  if (M > kGemvMaxM) return false;
  std::int32_t rowsum[kGemvMaxM] = {};
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t k = 0; k < K; ++k) rowsum[m] += a[m * lda + k];
  threads = resolve_threads(threads);
  if (M <= 2) {
    if (colsum) gemv_i8_run<8, 2, true>(M, N, K, a, lda, b, ldb, rowsum, out, ldo, colsum, threads);
    else gemv_i8_run<8, 2, false>(M, N, K, a, lda, b, ldb, rowsum, out, ldo, colsum, threads);
  } else {
    if (colsum) gemv_i8_run<4, 4, true>(M, N, K, a, lda, b, ldb, rowsum, out, ldo, colsum, threads);
    else gemv_i8_run<4, 4, false>(M, N, K, a, lda, b, ldb, rowsum, out, ldo, colsum, threads);
  }
  return true;
}

bool gemv_f8(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
             const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo, int threads) {
  if (M > kGemvMaxM) return false;
  constexpr int NT = 4;
  const std::int64_t tiles = (N + NT - 1) / NT;
#pragma omp parallel for schedule(static) num_threads(resolve_threads(threads))
  for (std::int64_t t = 0; t < tiles; ++t) {
    const std::int64_t n0 = t * NT;
    const std::uint8_t* brow[NT];
    if (N - n0 >= NT) {
      for (int j = 0; j < NT; ++j) brow[j] = b + (n0 + j) * ldb;
      gemv_f8_rows<NT>(M, K, x, ldx, brow, out + n0, ldo);
    } else {
      for (std::int64_t n = n0; n < N; ++n) {
        brow[0] = b + n * ldb;
        gemv_f8_rows<1>(M, K, x, ldx, brow, out + n, ldo);
      }
    }
  }
  return true;
}

bool gemv_f8_kn(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo,
                int threads) {
  if (M > kGemvMaxM) return false;
  // 128-column strips: 8 zmm accumulators per activation row, 2 rows per pass.
  constexpr int NV = 8;
  constexpr std::int64_t kStrip = 16 * NV;
  const std::int64_t strips = (N + kStrip - 1) / kStrip;
#pragma omp parallel for schedule(static) num_threads(resolve_threads(threads))
  for (std::int64_t s = 0; s < strips; ++s) {
    const std::int64_t n0 = s * kStrip, cols = std::min(kStrip, N - n0);
    for (std::int64_t m0 = 0; m0 < M; m0 += 2) {
      const float* xr[2] = {x + m0 * ldx, x + std::min(m0 + 1, M - 1) * ldx};
      if (M - m0 >= 2)
        gemv_f8_kn_strip<2, NV>(K, xr, b + n0, ldb, cols, out + m0 * ldo + n0, ldo);
      else
        gemv_f8_kn_strip<1, NV>(K, xr, b + n0, ldb, cols, out + m0 * ldo + n0, ldo);
    }
  }
  return true;
}

}  // namespace avx512
}  // namespace symtrace::ops::gemm
