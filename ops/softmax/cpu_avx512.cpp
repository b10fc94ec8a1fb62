// AVX-512 softmax row: max, exp and sum 16 lanes at a time (vexp.hpp), one rounding at the store.
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
#include <limits>

#include "ops/linear/vec.hpp"
#include "ops/softmax/softmax_impl.hpp"
#include "ops/softmax/vexp.hpp"

namespace symtrace::ops::softmax_detail {

void row_avx512(const void* x, tensor::DType xt, void* y, tensor::DType yt, std::int64_t n,
                bool log, float* tmp) {
  __m512 mx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (std::int64_t i = 0; i < n; i += 16) {
    const std::int64_t rem = n - i;
    const __m512 v = vec::load16(x, xt, i, rem);
    _mm512_mask_storeu_ps(tmp + i, vec::mask16(rem), v);
    mx = _mm512_mask_max_ps(mx, vec::mask16(rem), mx, v);
  }
  const __m512 m = _mm512_set1_ps(vec::hmax16(mx));
  __m512 sum = _mm512_setzero_ps();
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = vec::mask16(n - i);
    const __m512 e = vexp::exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, tmp + i), m));
    sum = _mm512_mask_add_ps(sum, k, sum, e);
    if (!log) _mm512_mask_storeu_ps(tmp + i, k, e);
  }
  const float s = vec::hsum16(sum);
  if (log) {
    const __m512 shift = _mm512_add_ps(m, _mm512_set1_ps(std::log(s)));
    for (std::int64_t i = 0; i < n; i += 16) {
      const __mmask16 k = vec::mask16(n - i);
      vec::store16(y, yt, i, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, tmp + i), shift), n - i);
    }
  } else {
    const __m512 inv = _mm512_set1_ps(1.f / s);
    for (std::int64_t i = 0; i < n; i += 16) {
      const __mmask16 k = vec::mask16(n - i);
      vec::store16(y, yt, i, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, tmp + i), inv), n - i);
    }
  }
}

}  // namespace symtrace::ops::softmax_detail
