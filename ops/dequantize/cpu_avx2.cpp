// AVX2 dequantize row: 8 codes per step (gathered table for 8-bit codes; e2m1 magnitude
// through vpermps, sign from bit 3), scaled per group; rows whose group size is not a
// multiple of 8 use the scalar row.
#include <cstdint>
#include <immintrin.h>

#include "ops/dequantize/dequant.hpp"
#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops::dequant {

void row_avx2(const RowJob& j) {
  if (j.g < j.n && j.g % 8 != 0) return row_scalar(j);
  const __m256 z = _mm256_set1_ps(j.z), gm = _mm256_set1_ps(j.gm);
  const __m256 mag = _mm256_loadu_ps(nvfp4::kE2m1);
  std::int64_t i = 0;
  for (; i + 8 <= j.n; i += 8) {
    __m256 v;
    if (j.fp4) {
      std::int32_t four;
      __builtin_memcpy(&four, j.q + i / 2, 4);
      const __m128i b = _mm_cvtsi32_si128(four);
      const __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0F));
      const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0F));
      const __m256i c = _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
      const __m256i sign = _mm256_slli_epi32(_mm256_srli_epi32(c, 3), 31);
      v = _mm256_xor_ps(_mm256_permutevar8x32_ps(mag, c), _mm256_castsi256_ps(sign));
    } else {
      const __m256i idx =
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(j.q + i)));
      v = _mm256_i32gather_ps(j.table, idx, 4);
    }
    const __m256 s = _mm256_set1_ps(j.s[i / j.g]);
    _mm256_storeu_ps(j.out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(v, z), s), gm));
  }
  // Tail: element by element with its own scale (i need not start a group).
  for (; i < j.n; ++i) {
    const std::uint8_t b = j.fp4 ? j.q[i / 2] : j.q[i];
    const float v = j.fp4 ? nvfp4::kE2m1[i % 2 == 0 ? (b & 0xF) : (b >> 4)] : j.table[b];
    j.out[i] = (v - j.z) * j.s[i / j.g] * j.gm;
  }
}

}  // namespace symtrace::ops::dequant
