// AVX-512 RMS norm row: f32 sum of squares 16 lanes at a time, then the two roundings of the
// HF order (normalized value to the dtype, product with w to the dtype).
#if defined(__GNUC__) && !defined(__clang__)  // GCC 12's AVX-512 headers (PR 105593)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cmath>

#include "ops/linear/vec.hpp"
#include "ops/rms_norm/rms_impl.hpp"

namespace symtrace::ops::rms_detail {

namespace {
// v rounded to the dtype and back (identity for f32).
inline __m512 round_to(tensor::DType d, __m512 v) {
  if (d == tensor::DType::kBF16)
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(vec::to_bf16_bits(v)), 16));
  if (d == tensor::DType::kF16)
    return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return v;
}
}  // namespace

void row_avx512(const Row& r) {
  __m512 ss = _mm512_setzero_ps();
  const void* src = r.x;
  for (std::int64_t i = 0; i < r.H; i += 16) {
    __m512 v = vec::load16(r.x, r.dtype, i, r.H - i);
    if (r.residual != nullptr) {
      v = round_to(r.dtype, _mm512_add_ps(v, vec::load16(r.residual, r.dtype, i, r.H - i)));
      vec::store16(r.residual_out, r.dtype, i, v, r.H - i);
    }
    ss = _mm512_fmadd_ps(v, v, ss);
  }
  if (r.residual != nullptr) src = r.residual_out;
  const float inv = 1.f / std::sqrt(vec::hsum16(ss) / static_cast<float>(r.H) + r.eps);
  const __m512 iv = _mm512_set1_ps(inv);
  for (std::int64_t i = 0; i < r.H; i += 16) {
    const __m512 n = round_to(r.dtype, _mm512_mul_ps(vec::load16(src, r.dtype, i, r.H - i), iv));
    vec::store16(r.y, r.dtype, i, _mm512_mul_ps(vec::load16(r.w, r.dtype, i, r.H - i), n), r.H - i);
  }
}

}  // namespace symtrace::ops::rms_detail
