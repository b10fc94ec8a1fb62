// AVX2 softmax row for the MoE routers: an 8-lane exp (as cpu_avx512.cpp, 2^n built in the
// exponent field; inputs clamped to the normal range), scalar tails.
#include <cmath>
#include <cstdint>
#include <immintrin.h>

#include "ops/moe_route_softmax/route.hpp"

namespace symtrace::ops::route {
namespace {

// exp(x) for x <= 0; x below -87.3 gives exp(-87.3) ~ 1.2e-38 (negligible next to the max's 1).
__m256 exp8(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.f / 720.f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

void softmax_row_avx2(const float* x, std::int64_t n, float* p) {
  float mx = -__builtin_inff();
  bool nan = false;
  for (std::int64_t i = 0; i < n; ++i) {
    nan |= x[i] != x[i];
    mx = x[i] > mx ? x[i] : mx;
  }
  if (nan) {
    for (std::int64_t i = 0; i < n; ++i) p[i] = __builtin_nanf("");
    return;
  }
  const __m256 vmax = _mm256_set1_ps(mx);
  __m256 acc = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(p + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  if (i < n) {
    alignas(32) float buf[8] = {};
    for (std::int64_t j = i; j < n; ++j) buf[j - i] = x[j] - mx;
    alignas(32) float e[8];
    _mm256_store_ps(e, exp8(_mm256_load_ps(buf)));
    for (std::int64_t j = i; j < n; ++j) p[j] = e[j - i];
    for (std::int64_t j = 0; j < n - i; ++j) buf[j] = e[j];
    for (std::int64_t j = n - i; j < 8; ++j) buf[j] = 0.f;
    acc = _mm256_add_ps(acc, _mm256_load_ps(buf));
  }
  const float sum = hsum(acc);
  for (std::int64_t j = 0; j < n; ++j) p[j] /= sum;
}

}  // namespace symtrace::ops::route
