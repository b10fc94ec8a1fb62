// AVX2 RMS norm row: the AVX-512 file's algorithm, 8 lanes at a time.
#include <immintrin.h>

#include <cmath>

#include "ops/linear/vec.hpp"
#include "ops/rms_norm/rms_impl.hpp"

namespace symtrace::ops::rms_detail {

namespace {
inline __m256 round_to(tensor::DType d, __m256 v) {
  if (d == tensor::DType::kBF16)
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(vec::to_bf16_bits(v)), 16));
  if (d == tensor::DType::kF16)
    return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return v;
}
}  // namespace

void row_avx2(const Row& r) {
  __m256 ss = _mm256_setzero_ps();
  for (std::int64_t i = 0; i < r.H; i += 8) {
    __m256 v = vec::load8(r.x, r.dtype, i, r.H - i);
    if (r.residual != nullptr) {
      v = round_to(r.dtype, _mm256_add_ps(v, vec::load8(r.residual, r.dtype, i, r.H - i)));
      vec::store8(r.residual_out, r.dtype, i, v, r.H - i);
    }
    ss = _mm256_fmadd_ps(v, v, ss);
  }
  const void* src = r.residual != nullptr ? r.residual_out : r.x;
  const float inv = 1.f / std::sqrt(vec::hsum8(ss) / static_cast<float>(r.H) + r.eps);
  const __m256 iv = _mm256_set1_ps(inv);
  for (std::int64_t i = 0; i < r.H; i += 8) {
    const __m256 n = round_to(r.dtype, _mm256_mul_ps(vec::load8(src, r.dtype, i, r.H - i), iv));
    vec::store8(r.y, r.dtype, i, _mm256_mul_ps(vec::load8(r.w, r.dtype, i, r.H - i), n), r.H - i);
  }
}

}  // namespace symtrace::ops::rms_detail
