// AVX2 int8 tile for the MoE expert GEMMs: bytes sign-extended to int16 and multiplied
// with vpmaddwd (exact: pairs of int8 products summed in int32; vpmaddubsw would
// saturate), 2 routes x 4 weight rows per pass, 16 K-elements per step, scalar K tail.
#include <cstdint>
#include <immintrin.h>

#include "ops/int8_moe_experts/int8_moe.hpp"

namespace symtrace::ops::int8_moe {
namespace {

std::int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

__m256i load16(const std::int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <int MT, int NT>
void block(std::int64_t K, const std::int8_t* a, std::int64_t lda, const std::int8_t* b,
           std::int64_t ldb, std::int32_t* out, std::int64_t ldo) {
  __m256i acc[MT][NT];
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) acc[i][j] = _mm256_setzero_si256();
  const std::int64_t K16 = K / 16 * 16;
  for (std::int64_t c = 0; c < K16; c += 16) {
    __m256i bv[NT];
    for (int j = 0; j < NT; ++j) bv[j] = load16(b + j * ldb + c);
    for (int i = 0; i < MT; ++i) {
      const __m256i av = load16(a + i * lda + c);
      for (int j = 0; j < NT; ++j)
        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(av, bv[j]));
    }
  }
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) {
      std::int32_t s = hsum(acc[i][j]);
      for (std::int64_t c = K16; c < K; ++c) s += std::int32_t{a[i * lda + c]} * b[j * ldb + c];
      out[i * ldo + j] = s;
    }
}

template <int MT>
void rows(std::int64_t N, std::int64_t K, const std::int8_t* a, std::int64_t lda,
          const std::int8_t* b, std::int64_t ldb, std::int32_t* out, std::int64_t ldo) {
  std::int64_t n = 0;
  for (; n + 4 <= N; n += 4) block<MT, 4>(K, a, lda, b + n * ldb, ldb, out + n, ldo);
  for (; n < N; ++n) block<MT, 1>(K, a, lda, b + n * ldb, ldb, out + n, ldo);
}

}  // namespace

void tile_avx2(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a,
               std::int64_t lda, const std::int8_t* b, std::int64_t ldb, std::int32_t* out,
               std::int64_t ldo) {
  std::int64_t m = 0;
  for (; m + 2 <= M; m += 2) rows<2>(N, K, a + m * lda, lda, b, ldb, out + m * ldo, ldo);
  if (m < M) rows<1>(N, K, a + m * lda, lda, b, ldb, out + m * ldo, ldo);
}

}  // namespace symtrace::ops::int8_moe
