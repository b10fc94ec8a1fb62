// AVX-512 dequantize row: 16 codes per step (8-bit codes through a gathered 256-entry
// table, e2m1 nibbles through vpermps), scaled per group; rows whose group size is not a
// multiple of 16 use the scalar row.
#include <cstdint>
#include <immintrin.h>

#include "ops/dequantize/dequant.hpp"
#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC PR 105593 (_mm512_undefined_*)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace symtrace::ops::dequant {

void row_avx512(const RowJob& j) {
  if (j.g < j.n && j.g % 16 != 0) return row_scalar(j);
  const __m512 z = _mm512_set1_ps(j.z), gm = _mm512_set1_ps(j.gm);
  const __m512 e2m1 = _mm512_loadu_ps(nvfp4::kE2m1);
  std::int64_t i = 0;
  for (; i + 16 <= j.n; i += 16) {
    __m512 v;
    if (j.fp4) {
      const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(j.q + i / 2));
      const __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0F));
      const __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0F));
      v = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi)), e2m1);
    } else {
      const __m512i idx =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(j.q + i)));
      v = _mm512_i32gather_ps(idx, j.table, 4);
    }
    const __m512 s = _mm512_set1_ps(j.s[i / j.g]);
    _mm512_storeu_ps(j.out + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(v, z), s), gm));
  }
  // Tail: element by element with its own scale (i need not start a group).
  for (; i < j.n; ++i) {
    const std::uint8_t b = j.fp4 ? j.q[i / 2] : j.q[i];
    const float v = j.fp4 ? nvfp4::kE2m1[i % 2 == 0 ? (b & 0xF) : (b >> 4)] : j.table[b];
    j.out[i] = (v - j.z) * j.s[i / j.g] * j.gm;
  }
}

}  // namespace symtrace::ops::dequant
