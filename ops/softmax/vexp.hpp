// Vector exp for the softmax and attention kernels (AVX-512 / AVX2 builds include this and get
// the functions for their instruction set; a baseline build gets none).
//
// exp(x) = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 (ln 2 split in two for an exact
// product), e^r from a degree-6 polynomial on |r| <= ln2/2 (Cephes expf coefficients; max
// relative error about 2 ulp; inputs above 88 clamp, softmax only feeds x <= 0). Inputs below −87.3 give 0 (e^x is then below f32's normal
// range; the tolerance of the ops allows an absolute 2^-126); NaN propagates.
#pragma once

#include <immintrin.h>

namespace symtrace::ops::vexp {
namespace {  // internal linkage: each ISA build keeps its own copy

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kMinArg = -87.3365447f;  // below: the result is under 2^-126
constexpr float kMaxArg = 88.f;  // keeps 2^n finite in the AVX2 exponent trick
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f,
                kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

#if defined(__AVX512F__)
inline __m512 exp512(__m512 x) {
  const __m512 xc = _mm512_min_ps(_mm512_set1_ps(kMaxArg), x);  // NaN stays NaN
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  __m512 e = _mm512_scalef_ps(p, n);
  // Below the normal range: 0 (the NaN check keeps NaN inputs NaN).
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kMinArg), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(tiny, e, _mm512_setzero_ps());
}
#endif

#if defined(__AVX2__) && defined(__FMA__)
inline __m256 exp256(__m256 x) {
  const __m256 xc = _mm256_min_ps(_mm256_set1_ps(kMaxArg), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  // 2^n through the exponent field; n >= -126 here except where x < kMinArg (blended to 0).
  const __m256 nc = _mm256_max_ps(n, _mm256_set1_ps(-126.f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nc), _mm256_set1_epi32(127)), 23);
  const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(kMinArg), _CMP_LT_OQ);
  return _mm256_andnot_ps(tiny, e);
}
#endif

}  // namespace
}  // namespace symtrace::ops::vexp
