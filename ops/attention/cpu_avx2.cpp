// AVX2 P·V: the AVX-512 file's scheme, 8 lanes at a time.
#include <immintrin.h>

#include "ops/attention/attention_impl.hpp"
#include "ops/linear/vec.hpp"

namespace symtrace::ops::attention_detail {

void pv_avx2(const float* p, std::int64_t n, const void* v, std::int64_t ldv, std::int64_t Dv,
             tensor::DType d, void* out, float* acc) {
  const std::size_t es = d == tensor::DType::kF32 ? 4 : 2;
  for (std::int64_t c = 0; c < Dv; c += 32) {
    const std::int64_t w = Dv - c < 32 ? Dv - c : 32;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::int64_t j = 0; j < n; ++j) {
      const void* row = static_cast<const char*>(v) + static_cast<std::size_t>(j * ldv) * es;
      const __m256 pj = _mm256_set1_ps(p[j]);
      a0 = _mm256_fmadd_ps(pj, vec::load8(row, d, c, w), a0);
      if (w > 8) a1 = _mm256_fmadd_ps(pj, vec::load8(row, d, c + 8, w - 8), a1);
      if (w > 16) a2 = _mm256_fmadd_ps(pj, vec::load8(row, d, c + 16, w - 16), a2);
      if (w > 24) a3 = _mm256_fmadd_ps(pj, vec::load8(row, d, c + 24, w - 24), a3);
    }
    vec::store8(out, d, c, a0, w);
    if (w > 8) vec::store8(out, d, c + 8, a1, w - 8);
    if (w > 16) vec::store8(out, d, c + 16, a2, w - 16);
    if (w > 24) vec::store8(out, d, c + 24, a3, w - 24);
  }
  (void)acc;
}

}  // namespace symtrace::ops::attention_detail
