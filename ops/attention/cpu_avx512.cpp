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

namespace {

// H heads x 32 columns per pass: 2H accumulators, each v_j slice loaded once for all heads.
template <tensor::DType D, int H>
void pv_heads(const float* p, std::int64_t ldp, std::int64_t n, const void* v, std::int64_t ldv,
              std::int64_t Dv, void* out, std::int64_t ldo) {
  constexpr std::size_t es = D == tensor::DType::kF32 ? 4 : 2;
  for (std::int64_t c = 0; c < Dv; c += 32) {
    const std::int64_t w = Dv - c < 32 ? Dv - c : 32;
    __m512 a[H][2];
#pragma GCC unroll 8
    for (int h = 0; h < H; ++h) a[h][0] = a[h][1] = _mm512_setzero_ps();
    for (std::int64_t j = 0; j < n; ++j) {
      const void* row = static_cast<const char*>(v) + static_cast<std::size_t>(j * ldv) * es;
      const __m512 v0 = vec::load16(row, D, c, w);
      const __m512 v1 = w > 16 ? vec::load16(row, D, c + 16, w - 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
      for (int h = 0; h < H; ++h) {
        const __m512 ph = _mm512_set1_ps(p[h * ldp + j]);
        a[h][0] = _mm512_fmadd_ps(ph, v0, a[h][0]);
        a[h][1] = _mm512_fmadd_ps(ph, v1, a[h][1]);
      }
    }
#pragma GCC unroll 8
    for (int h = 0; h < H; ++h) {
      void* o = static_cast<char*>(out) + static_cast<std::size_t>(h * ldo) * es;
      vec::store16(o, D, c, a[h][0], w);
      if (w > 16) vec::store16(o, D, c + 16, a[h][1], w - 16);
    }
  }
}

template <tensor::DType D, int H = 1>
void pv_group_for(const float* p, std::int64_t ldp, std::int64_t G, std::int64_t n, const void* v,
                  std::int64_t ldv, std::int64_t Dv, void* out, std::int64_t ldo) {
  if constexpr (H < 8) {
    if (G == H) return pv_heads<D, H>(p, ldp, n, v, ldv, Dv, out, ldo);
    return pv_group_for<D, H + 1>(p, ldp, G, n, v, ldv, Dv, out, ldo);
  } else {
    constexpr std::size_t es = D == tensor::DType::kF32 ? 4 : 2;
    pv_heads<D, 8>(p, ldp, n, v, ldv, Dv, out, ldo);
    if (G > 8)
      pv_group_for<D>(p + 8 * ldp, ldp, G - 8, n, v, ldv, Dv,
                      static_cast<char*>(out) + static_cast<std::size_t>(8 * ldo) * es, ldo);
  }
}

}  // namespace

void pv_group_avx512(const float* p, std::int64_t ldp, std::int64_t G, std::int64_t n, const void* v,
                     std::int64_t ldv, std::int64_t Dv, tensor::DType d, void* out, std::int64_t ldo) {
  if (G <= 0) return;
  switch (d) {
    case tensor::DType::kF32: return pv_group_for<tensor::DType::kF32>(p, ldp, G, n, v, ldv, Dv, out, ldo);
    case tensor::DType::kBF16: return pv_group_for<tensor::DType::kBF16>(p, ldp, G, n, v, ldv, Dv, out, ldo);
    default: return pv_group_for<tensor::DType::kF16>(p, ldp, G, n, v, ldv, Dv, out, ldo);
  }
}

}  // namespace symtrace::ops::attention_detail
