// AVX-512 row kernels of the quantizers: 16 lanes, masked tails, bit-identical to the
// scalar definitions in quantizers.cpp (same f32 operations, same rounding).
// Only intrinsics and plain code here: no inline library templates, whose AVX-512
// instantiations the linker could pick for baseline callers.
#include <cstdint>
#include <immintrin.h>

#include "ops/common/quantizers.hpp"

// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm512_undefined_*()
// placeholders (GCC PR 105593); the warning is about the header, not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace symtrace::ops::quant {
namespace {

__mmask16 tail_mask(std::int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

struct LoadF32 {
  static __m512 load(const void* x, std::int64_t i, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(x) + i);
  }
};
struct LoadBF16 {
  static __m512 load(const void* x, std::int64_t i, __mmask16 m) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(x) + i);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};
struct LoadF16 {
  static __m512 load(const void* x, std::int64_t i, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(x) + i));
  }
};

// encode_sat_e4m3fn of 16 lanes (see e4m3fn_encode_sat for the two rounding branches).
__m128i e4m3_encode(__m512 v) {
  const __m512 a = _mm512_min_ps(_mm512_abs_ps(v), _mm512_set1_ps(kE4m3Max));
  const __m512i ab = _mm512_castps_si512(a);
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i rb =
      _mm512_add_epi32(ab, _mm512_add_epi32(_mm512_set1_epi32(0x7FFFF),
                                            _mm512_and_si512(_mm512_srli_epi32(ab, 20), one)));
  const __m512i normal = _mm512_sub_epi32(_mm512_srli_epi32(rb, 20), _mm512_set1_epi32(960));
  const __m512i sub = _mm512_cvt_roundps_epi32(_mm512_mul_ps(a, _mm512_set1_ps(512.f)),
                                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __mmask16 is_sub = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0x1p-6f), _CMP_LT_OQ);
  __m512i code = _mm512_mask_blend_epi32(is_sub, normal, sub);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  code = _mm512_mask_mov_epi32(code, nan, _mm512_set1_epi32(0x7F));
  const __m512i sign =
      _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(v), 24), _mm512_set1_epi32(0x80));
  return _mm512_cvtepi32_epi8(_mm512_or_si512(code, sign));
}

// sat_i8(rne(v) + z) of 16 lanes; lo_t = -128 - z and hi_t = min(127 - z, INT32_MAX) keep
// the integer add from overflowing (see int8_code in quantizers.cpp).
__m128i int8_encode16(__m512 v, __m512i lo_t, __m512i hi_t, __m512i z) {
  const __mmask16 ok = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
  __m512 r = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-2147483648.f)), _mm512_set1_ps(2147483520.f));
  __m512i t = _mm512_maskz_mov_epi32(ok, _mm512_cvttps_epi32(r));
  t = _mm512_min_epi32(_mm512_max_epi32(t, lo_t), hi_t);
  return _mm512_cvtepi32_epi8(_mm512_add_epi32(t, z));
}

template <class L>
float absmax_t(const void* x, std::int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  __mmask16 nan = 0;
  for (std::int64_t i = 0; i < n; i += 16) {
    const __m512 v = L::load(x, i, tail_mask(n - i));
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    acc = _mm512_max_ps(acc, _mm512_abs_ps(v));
  }
  if (nan != 0) return __builtin_nanf("");
  return _mm512_reduce_max_ps(acc);
}

template <class L>
void minmax_t(const void* x, std::int64_t n, float* lo, float* hi) {
  __m512 mn = _mm512_set1_ps(__builtin_inff()), mx = _mm512_set1_ps(-__builtin_inff());
  __mmask16 nan = 0;
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = L::load(x, i, m);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    mn = _mm512_mask_min_ps(mn, m, mn, v);
    mx = _mm512_mask_max_ps(mx, m, mx, v);
  }
  if (nan != 0) {
    *lo = *hi = __builtin_nanf("");
    return;
  }
  *lo = _mm512_reduce_min_ps(mn);
  *hi = _mm512_reduce_max_ps(mx);
}

template <class L>
void fp8_div_t(const void* x, std::int64_t n, float s, std::uint8_t* q) {
  const __m512 sv = _mm512_set1_ps(s);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m128i c = e4m3_encode(_mm512_div_ps(L::load(x, i, m), sv));
    _mm_mask_storeu_epi8(q + i, m, c);
  }
}

template <class L>
void fp8_div_cols_t(const void* x, std::int64_t n, const float* s, std::uint8_t* q) {
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    // Masked-off lanes divide 0 by 1: harmless, never stored.
    const __m512 sv = _mm512_mask_loadu_ps(_mm512_set1_ps(1.f), m, s + i);
    _mm_mask_storeu_epi8(q + i, m, e4m3_encode(_mm512_div_ps(L::load(x, i, m), sv)));
  }
}

struct ZeroPoint {
  __m512i lo_t, hi_t, z;
  explicit ZeroPoint(std::int32_t zp) {
    const std::int64_t hi = 127 - static_cast<std::int64_t>(zp);
    lo_t = _mm512_set1_epi32(static_cast<std::int32_t>(-128 - static_cast<std::int64_t>(zp)));
    hi_t = _mm512_set1_epi32(hi > 2147483647 ? 2147483647 : static_cast<std::int32_t>(hi));
    z = _mm512_set1_epi32(zp);
  }
};

template <class L>
void int8_div_t(const void* x, std::int64_t n, float s, std::int32_t zp, std::int8_t* q) {
  const __m512 sv = _mm512_set1_ps(s);
  const ZeroPoint z(zp);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m128i c = int8_encode16(_mm512_div_ps(L::load(x, i, m), sv), z.lo_t, z.hi_t, z.z);
    _mm_mask_storeu_epi8(q + i, m, c);
  }
}

template <class L>
void int8_mul_t(const void* x, std::int64_t n, float r, std::int8_t* q) {
  const __m512 rv = _mm512_set1_ps(r);
  const ZeroPoint z(0);
  for (std::int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m128i c = int8_encode16(_mm512_mul_ps(L::load(x, i, m), rv), z.lo_t, z.hi_t, z.z);
    _mm_mask_storeu_epi8(q + i, m, c);
  }
}

// dtype dispatch: one switch per row call, the loops are specialized.
#define SYMTRACE_QUANT_DISPATCH(fn, ...) \
  switch (dtype) {                       \
    case DType::kBF16:                   \
      return fn<LoadBF16>(__VA_ARGS__);  \
    case DType::kF16:                    \
      return fn<LoadF16>(__VA_ARGS__);   \
    default:                             \
      return fn<LoadF32>(__VA_ARGS__);   \
  }

float absmax(const void* x, DType dtype, std::int64_t n) { SYMTRACE_QUANT_DISPATCH(absmax_t, x, n) }
void minmax(const void* x, DType dtype, std::int64_t n, float* lo, float* hi) {
  SYMTRACE_QUANT_DISPATCH(minmax_t, x, n, lo, hi)
}
void fp8_div(const void* x, DType dtype, std::int64_t n, float s, std::uint8_t* q) {
  SYMTRACE_QUANT_DISPATCH(fp8_div_t, x, n, s, q)
}
void fp8_div_cols(const void* x, DType dtype, std::int64_t n, const float* s, std::uint8_t* q) {
  SYMTRACE_QUANT_DISPATCH(fp8_div_cols_t, x, n, s, q)
}
void int8_div(const void* x, DType dtype, std::int64_t n, float s, std::int32_t z, std::int8_t* q) {
  SYMTRACE_QUANT_DISPATCH(int8_div_t, x, n, s, z, q)
}
void int8_mul(const void* x, DType dtype, std::int64_t n, float r, std::int8_t* q) {
  SYMTRACE_QUANT_DISPATCH(int8_mul_t, x, n, r, q)
}
#undef SYMTRACE_QUANT_DISPATCH

}  // namespace

namespace detail {
extern const RowKernels kRowKernelsAvx512;
const RowKernels kRowKernelsAvx512{"avx512",     absmax,   minmax,  fp8_div,
                                   fp8_div_cols, int8_div, int8_mul};
}  // namespace detail

}  // namespace symtrace::ops::quant
