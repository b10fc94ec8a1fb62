// AVX-512 P·V: each probability scales one row of V into f32 accumulators, 16 lanes of Dv at a
// time (V rows are contiguous along Dv, so no transpose is needed even for decode).
#if defined(__GNUC__) && !defined(__clang__)  // GCC 12's AVX-512 headers (PR 105593)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "ops/attention/attention_impl.hpp"
#include "ops/linear/vec.hpp"

namespace symtrace::ops::attention_detail {

void pv_avx512(const float* p, std::int64_t n, const void* v, std::int64_t ldv, std::int64_t Dv,
               tensor::DType d, void* out, float* acc) {
  const std::size_t es = d == tensor::DType::kF32 ? 4 : 2;
  for (std::int64_t c = 0; c < Dv; c += 64) {  // 4 accumulators cover 64 columns
    const std::int64_t w = Dv - c < 64 ? Dv - c : 64;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::int64_t j = 0; j < n; ++j) {
      const void* row = static_cast<const char*>(v) + static_cast<std::size_t>(j * ldv) * es;
      const __m512 pj = _mm512_set1_ps(p[j]);
      a0 = _mm512_fmadd_ps(pj, vec::load16(row, d, c, w), a0);
      if (w > 16) a1 = _mm512_fmadd_ps(pj, vec::load16(row, d, c + 16, w - 16), a1);
      if (w > 32) a2 = _mm512_fmadd_ps(pj, vec::load16(row, d, c + 32, w - 32), a2);
      if (w > 48) a3 = _mm512_fmadd_ps(pj, vec::load16(row, d, c + 48, w - 48), a3);
    }
    vec::store16(out, d, c, a0, w);
    if (w > 16) vec::store16(out, d, c + 16, a1, w - 16);
    if (w > 32) vec::store16(out, d, c + 32, a2, w - 32);
    if (w > 48) vec::store16(out, d, c + 48, a3, w - 48);
  }
  (void)acc;
}

}  // namespace symtrace::ops::attention_detail
