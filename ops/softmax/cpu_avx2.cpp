// AVX2 softmax row: the AVX-512 file's algorithm, 8 lanes at a time.
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "ops/linear/vec.hpp"
#include "ops/softmax/softmax_impl.hpp"
#include "ops/softmax/vexp.hpp"

namespace symtrace::ops::softmax_detail {

void row_avx2(const void* x, tensor::DType xt, void* y, tensor::DType yt, std::int64_t n, bool log,
              float* tmp) {
  const float ninf = -std::numeric_limits<float>::infinity();
  __m256 mx = _mm256_set1_ps(ninf);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = vec::load8(x, xt, i);
    _mm256_storeu_ps(tmp + i, v);
    mx = _mm256_max_ps(mx, v);
  }
  float m = vec::hmax8(mx);
  for (; i < n; ++i) {  // the tail, one element at a time (keeps padding out of the max)
    const __m256 v = vec::load8(x, xt, i, 1);
    tmp[i] = _mm_cvtss_f32(_mm256_castps256_ps128(v));
    m = std::fmax(m, tmp[i]);
  }
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = vexp::exp256(_mm256_sub_ps(_mm256_loadu_ps(tmp + i), mv));
    sum = _mm256_add_ps(sum, e);
    if (!log) _mm256_storeu_ps(tmp + i, e);
  }
  float s = vec::hsum8(sum);
  if (i < n) {
    alignas(32) float t[8] = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf};
    for (std::int64_t j = i; j < n; ++j) t[j - i] = tmp[j];
    alignas(32) float e[8];
    _mm256_store_ps(e, vexp::exp256(_mm256_sub_ps(_mm256_load_ps(t), mv)));
    for (std::int64_t j = i; j < n; ++j) {
      s += e[j - i];
      if (!log) tmp[j] = e[j - i];
    }
  }
  if (log) {
    const __m256 shift = _mm256_set1_ps(m + std::log(s));
    for (i = 0; i < n; i += 8)
      vec::store8(y, yt, i, _mm256_sub_ps(vec::load8(tmp, tensor::DType::kF32, i, n - i), shift),
                  n - i);
  } else {
    const __m256 inv = _mm256_set1_ps(1.f / s);
    for (i = 0; i < n; i += 8)
      vec::store8(y, yt, i, _mm256_mul_ps(vec::load8(tmp, tensor::DType::kF32, i, n - i), inv),
                  n - i);
  }
}

}  // namespace symtrace::ops::softmax_detail
