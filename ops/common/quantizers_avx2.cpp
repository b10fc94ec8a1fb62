// AVX2 row kernels of the quantizers: 8 lanes; the tail goes through an 8-lane stack
// buffer. Bit-identical to the scalar definitions in quantizers.cpp.
// Only intrinsics and plain code here (see quantizers_avx512.cpp).
#include <cstdint>
#include <cstring>
#include <immintrin.h>

#include "ops/common/quantizers.hpp"

namespace symtrace::ops::quant {
namespace {

struct LoadF32 {
  static __m256 load(const void* x, std::int64_t i) {
    return _mm256_loadu_ps(static_cast<const float*>(x) + i);
  }
};
struct LoadBF16 {
  static __m256 load(const void* x, std::int64_t i) {
    const __m128i h =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(x) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
};
struct LoadF16 {
  static __m256 load(const void* x, std::int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128(
        reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(x) + i)));
  }
};

// The last n < 8 elements as f32 (pad lanes hold `pad`).
__m256 load_tail(const void* x, DType dtype, std::int64_t i, std::int64_t n, float pad) {
  alignas(32) float buf[8];
  for (int l = 0; l < 8; ++l) buf[l] = l < n ? load_f32(x, dtype, i + l) : pad;
  return _mm256_load_ps(buf);
}

// Low byte of each 32-bit lane, in lane order.
void store8(__m256i v, void* dst, std::int64_t n) {
  const __m256i pick =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i s = _mm256_shuffle_epi8(v, pick);
  const __m128i b = _mm_unpacklo_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  if (n >= 8) {
    _mm_storel_epi64(static_cast<__m128i*>(dst), b);
  } else {
    alignas(16) std::uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
    std::memcpy(dst, tmp, static_cast<std::size_t>(n));
  }
}

__m256 abs_ps(__m256 v) {
  return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)));
}
__m256 isnan_ps(__m256 v) { return _mm256_cmp_ps(v, v, _CMP_UNORD_Q); }

// encode_sat_e4m3fn of 8 lanes, codes in the low byte of each lane.
__m256i e4m3_encode(__m256 v) {
  const __m256 a = _mm256_min_ps(abs_ps(v), _mm256_set1_ps(kE4m3Max));
  const __m256i ab = _mm256_castps_si256(a);
  const __m256i rb = _mm256_add_epi32(
      ab, _mm256_add_epi32(_mm256_set1_epi32(0x7FFFF),
                           _mm256_and_si256(_mm256_srli_epi32(ab, 20), _mm256_set1_epi32(1))));
  const __m256i normal = _mm256_sub_epi32(_mm256_srli_epi32(rb, 20), _mm256_set1_epi32(960));
  const __m256i sub = _mm256_cvtps_epi32(_mm256_round_ps(
      _mm256_mul_ps(a, _mm256_set1_ps(512.f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const __m256 is_sub = _mm256_cmp_ps(a, _mm256_set1_ps(0x1p-6f), _CMP_LT_OQ);
  __m256i code = _mm256_blendv_epi8(normal, sub, _mm256_castps_si256(is_sub));
  code = _mm256_blendv_epi8(code, _mm256_set1_epi32(0x7F), _mm256_castps_si256(isnan_ps(v)));
  const __m256i sign =
      _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(v), 24), _mm256_set1_epi32(0x80));
  return _mm256_or_si256(code, sign);
}

struct ZeroPoint {
  __m256i lo_t, hi_t, z;
  explicit ZeroPoint(std::int32_t zp) {
    const std::int64_t hi = 127 - static_cast<std::int64_t>(zp);
    lo_t = _mm256_set1_epi32(static_cast<std::int32_t>(-128 - static_cast<std::int64_t>(zp)));
    hi_t = _mm256_set1_epi32(hi > 2147483647 ? 2147483647 : static_cast<std::int32_t>(hi));
    z = _mm256_set1_epi32(zp);
  }
};

// sat_i8(rne(v) + z) of 8 lanes (see int8_encode16 in quantizers_avx512.cpp).
__m256i int8_encode8(__m256 v, const ZeroPoint& z) {
  __m256 r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-2147483648.f)), _mm256_set1_ps(2147483520.f));
  __m256i t = _mm256_andnot_si256(_mm256_castps_si256(isnan_ps(v)), _mm256_cvttps_epi32(r));
  t = _mm256_min_epi32(_mm256_max_epi32(t, z.lo_t), z.hi_t);
  return _mm256_add_epi32(t, z.z);
}

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
float hmin(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Runs body(v, i, count) over the row in blocks of 8 (count < 8 only for the tail).
template <class L, class Body>
void for_blocks(const void* x, DType dtype, std::int64_t n, float pad, Body body) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) body(L::load(x, i), i, std::int64_t{8});
  if (i < n) body(load_tail(x, dtype, i, n - i, pad), i, n - i);
}

template <class L>
float absmax_t(const void* x, DType dtype, std::int64_t n) {
  __m256 acc = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
  for_blocks<L>(x, dtype, n, 0.f, [&](__m256 v, std::int64_t, std::int64_t) {
    nan = _mm256_or_ps(nan, isnan_ps(v));
    acc = _mm256_max_ps(acc, abs_ps(v));
  });
  if (_mm256_movemask_ps(nan) != 0) return __builtin_nanf("");
  return hmax(acc);
}

template <class L>
void minmax_t(const void* x, DType dtype, std::int64_t n, float* lo, float* hi) {
  __m256 mn = _mm256_set1_ps(__builtin_inff()), mx = _mm256_set1_ps(-__builtin_inff());
  __m256 nan = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = L::load(x, i);
    nan = _mm256_or_ps(nan, isnan_ps(v));
    mn = _mm256_min_ps(mn, v);
    mx = _mm256_max_ps(mx, v);
  }
  // Tail: pad lanes with +inf for the min and -inf for the max.
  if (i < n) {
    const __m256 vmin = load_tail(x, dtype, i, n - i, __builtin_inff());
    const __m256 vmax = load_tail(x, dtype, i, n - i, -__builtin_inff());
    nan = _mm256_or_ps(nan, isnan_ps(vmin));
    mn = _mm256_min_ps(mn, vmin);
    mx = _mm256_max_ps(mx, vmax);
  }
  if (_mm256_movemask_ps(nan) != 0) {
    *lo = *hi = __builtin_nanf("");
    return;
  }
  *lo = hmin(mn);
  *hi = hmax(mx);
}

template <class L>
void fp8_div_t(const void* x, DType dtype, std::int64_t n, float s, std::uint8_t* q) {
  const __m256 sv = _mm256_set1_ps(s);
  for_blocks<L>(x, dtype, n, 0.f, [&](__m256 v, std::int64_t i, std::int64_t c) {
    store8(e4m3_encode(_mm256_div_ps(v, sv)), q + i, c);
  });
}

template <class L>
void fp8_div_cols_t(const void* x, DType dtype, std::int64_t n, const float* s, std::uint8_t* q) {
  for_blocks<L>(x, dtype, n, 0.f, [&](__m256 v, std::int64_t i, std::int64_t c) {
    alignas(32) float sb[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
    std::memcpy(sb, s + i, static_cast<std::size_t>(c) * sizeof(float));
    store8(e4m3_encode(_mm256_div_ps(v, _mm256_load_ps(sb))), q + i, c);
  });
}

template <class L>
void int8_div_t(const void* x, DType dtype, std::int64_t n, float s, std::int32_t zp,
                std::int8_t* q) {
  const __m256 sv = _mm256_set1_ps(s);
  const ZeroPoint z(zp);
  for_blocks<L>(x, dtype, n, 0.f, [&](__m256 v, std::int64_t i, std::int64_t c) {
    store8(int8_encode8(_mm256_div_ps(v, sv), z), q + i, c);
  });
}

template <class L>
void int8_mul_t(const void* x, DType dtype, std::int64_t n, float r, std::int8_t* q) {
  const __m256 rv = _mm256_set1_ps(r);
  const ZeroPoint z(0);
  for_blocks<L>(x, dtype, n, 0.f, [&](__m256 v, std::int64_t i, std::int64_t c) {
    store8(int8_encode8(_mm256_mul_ps(v, rv), z), q + i, c);
  });
}

#define SYMTRACE_QUANT_DISPATCH(fn, ...) \
  switch (dtype) {                       \
    case DType::kBF16:                   \
      return fn<LoadBF16>(__VA_ARGS__);  \
    case DType::kF16:                    \
      return fn<LoadF16>(__VA_ARGS__);   \
    default:                             \
      return fn<LoadF32>(__VA_ARGS__);   \
  }

float absmax(const void* x, DType dtype, std::int64_t n) {
  SYMTRACE_QUANT_DISPATCH(absmax_t, x, dtype, n)
}
void minmax(const void* x, DType dtype, std::int64_t n, float* lo, float* hi) {
  SYMTRACE_QUANT_DISPATCH(minmax_t, x, dtype, n, lo, hi)
}
void fp8_div(const void* x, DType dtype, std::int64_t n, float s, std::uint8_t* q) {
  SYMTRACE_QUANT_DISPATCH(fp8_div_t, x, dtype, n, s, q)
}
void fp8_div_cols(const void* x, DType dtype, std::int64_t n, const float* s, std::uint8_t* q) {
  SYMTRACE_QUANT_DISPATCH(fp8_div_cols_t, x, dtype, n, s, q)
}
void int8_div(const void* x, DType dtype, std::int64_t n, float s, std::int32_t z, std::int8_t* q) {
  SYMTRACE_QUANT_DISPATCH(int8_div_t, x, dtype, n, s, z, q)
}
void int8_mul(const void* x, DType dtype, std::int64_t n, float r, std::int8_t* q) {
  SYMTRACE_QUANT_DISPATCH(int8_mul_t, x, dtype, n, r, q)
}
#undef SYMTRACE_QUANT_DISPATCH

}  // namespace

namespace detail {
extern const RowKernels kRowKernelsAvx2;
const RowKernels kRowKernelsAvx2{"avx2", absmax, minmax, fp8_div, fp8_div_cols, int8_div, int8_mul};
}  // namespace detail

}  // namespace symtrace::ops::quant
