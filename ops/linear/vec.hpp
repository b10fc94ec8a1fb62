// Vector loads and stores between memory in f32 / bf16 / f16 and f32 registers, for the nn
// kernels' AVX-512 and AVX2 files (a file includes this and gets the functions of its own
// instruction set; internal linkage keeps the ISA builds apart).
//
//   __m512 v = vec::load16(p, DType::kBF16, i, n - i);   // up to 16 elements, zero-padded
//   vec::store16(q, DType::kBF16, i, v, n - i);           // RNE to bf16, NaN stays quiet NaN
//
// Stores round exactly like elem::store (the bf16 rounding is done on the integer bits:
// vcvtneps2bf16 would flush subnormals).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::vec {
namespace {

using tensor::DType;

#if defined(__AVX512F__)
inline __mmask16 mask16(std::int64_t rem) {
  return rem >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << rem) - 1u);
}

// Elements [i, i + min(rem, 16)) of p as f32; lanes past rem are 0.
inline __m512 load16(const void* p, DType d, std::int64_t i, std::int64_t rem = 16) {
  const __mmask16 m = mask16(rem);
  switch (d) {
    case DType::kBF16: {
      const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(p) + i);
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case DType::kF16:
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(p) + i));
    default: return _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + i);
  }
}

inline __m256i to_bf16_bits(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

inline void store16(void* p, DType d, std::int64_t i, __m512 v, std::int64_t rem = 16) {
  const __mmask16 m = mask16(rem);
  switch (d) {
    case DType::kBF16:
      _mm256_mask_storeu_epi16(static_cast<std::uint16_t*>(p) + i, m, to_bf16_bits(v));
      break;
    case DType::kF16:
      _mm256_mask_storeu_epi16(static_cast<std::uint16_t*>(p) + i, m,
                               _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      break;
    default: _mm512_mask_storeu_ps(static_cast<float*>(p) + i, m, v); break;
  }
}

inline float hsum16(__m512 v) {
  const __m512 h = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
  const __m256 a = _mm512_castps512_ps256(h);
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

inline float hmax16(__m512 v) {
  const __m512 h = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
  const __m256 a = _mm512_castps512_ps256(h);
  const __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 t = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(t, _mm_movehdup_ps(t)));
}
#endif

#if defined(__AVX2__)
// Elements [i, i + min(rem, 8)) of p as f32; lanes past rem are 0 (a partial vector goes
// through a zeroed stack buffer: AVX2 has no 16-bit masked load).
inline __m256 load8(const void* p, DType d, std::int64_t i, std::int64_t rem = 8) {
  const std::size_t es = d == DType::kF32 ? 4 : 2;
  alignas(32) unsigned char buf[32] = {};
  const unsigned char* src = static_cast<const unsigned char*>(p) + i * static_cast<std::int64_t>(es);
  if (rem < 8) {
    std::memcpy(buf, src, static_cast<std::size_t>(rem) * es);
    src = buf;
  }
  switch (d) {
    case DType::kBF16: {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    case DType::kF16:
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
    default: return _mm256_loadu_ps(reinterpret_cast<const float*>(src));
  }
}

inline __m128i to_bf16_bits(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m256i qnan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  r = _mm256_blendv_epi8(r, qnan, nan);
  // Pack the low 16 bits of each lane (values < 65536, so unsigned saturation is exact).
  const __m128i lo = _mm256_castsi256_si128(r), hi = _mm256_extracti128_si256(r, 1);
  return _mm_packus_epi32(lo, hi);
}

inline void store8(void* p, DType d, std::int64_t i, __m256 v, std::int64_t rem = 8) {
  const std::size_t es = d == DType::kF32 ? 4 : 2;
  alignas(32) unsigned char buf[32];
  unsigned char* dst = static_cast<unsigned char*>(p) + i * static_cast<std::int64_t>(es);
  unsigned char* out = rem < 8 ? buf : dst;
  switch (d) {
    case DType::kBF16:
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), to_bf16_bits(v));
      break;
    case DType::kF16:
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                       _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      break;
    default: _mm256_storeu_ps(reinterpret_cast<float*>(out), v); break;
  }
  if (rem < 8) std::memcpy(dst, buf, static_cast<std::size_t>(rem) * es);
}

inline float hsum8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

inline float hmax8(__m256 v) {
  const __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(t, _mm_movehdup_ps(t)));
}
#endif

}  // namespace
}  // namespace symtrace::ops::vec
