// AVX-512 (F/BW/VL/DQ) conversion kernels: 16 elements per step, masked tails. Each must
// equal the scalar conversion in convert_scalar.cpp bit for bit (tests/tensor/convert_test).
// Integer arithmetic throughout, so MXCSR (DAZ/FTZ, rounding mode) cannot change a result.
#include <immintrin.h>

#include <bit>
#include <cstdint>

#include "tensor/convert_kernels.hpp"
#include "tensor/minifloat.hpp"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_*()
// placeholders (GCC PR 105593; -Wuninitialized under ASan); the warning is about the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace symtrace::tensor::detail {
namespace {

__m512i set1(std::uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }
__mmask16 tail_mask(std::size_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

// ---- fp8 codes (u32 lanes) -> f32 bit patterns ------------------------------------------

template <const MiniFloat& F>
__m512i decode_bits(__m512i v) {
  constexpr int kSh = F.shift();
  constexpr std::uint32_t kSubScale = static_cast<std::uint32_t>(F.emin() - F.mbits + 127) << 23;
  const __m512i mag = _mm512_and_si512(v, set1(0x7F));
  const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(v, set1(0x80)), 24);
  // Normals: move the fields into place and rebias the exponent.
  const __m512i normal =
      _mm512_add_epi32(_mm512_slli_epi32(mag, kSh), set1(static_cast<std::uint32_t>(127 - F.bias) << 23));
  // Subnormals (and zero): m * 2^(emin - mbits), exact in f32.
  const __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(mag), _mm512_castsi512_ps(set1(kSubScale)));
  const __mmask16 is_sub = _mm512_cmplt_epu32_mask(mag, set1(1u << F.mbits));
  __m512i r = _mm512_or_si512(_mm512_mask_blend_epi32(is_sub, normal, _mm512_castps_si512(sub)), sign);
  if constexpr (F.family == Family::kFn) {
    const __mmask16 nan = _mm512_cmpeq_epi32_mask(mag, set1(0x7F));
    r = _mm512_mask_blend_epi32(nan, r, _mm512_or_si512(sign, set1(kF32QuietNan)));
  } else if constexpr (F.family == Family::kIeee) {
    constexpr std::uint32_t kInfCode = ((1u << F.ebits) - 1) << F.mbits;
    const __mmask16 inf = _mm512_cmpeq_epi32_mask(mag, set1(kInfCode));
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(mag, set1(kInfCode));
    const __m512i payload = _mm512_slli_epi32(_mm512_and_si512(mag, set1((1u << F.mbits) - 1)), kSh);
    r = _mm512_mask_blend_epi32(inf, r, _mm512_or_si512(sign, set1(kF32Inf)));
    r = _mm512_mask_blend_epi32(nan, r, _mm512_or_si512(sign, _mm512_or_si512(payload, set1(kF32QuietNan))));
  } else {
    const __mmask16 nan = _mm512_cmpeq_epi32_mask(v, set1(0x80));
    r = _mm512_mask_blend_epi32(nan, r, set1(kF32QuietNan));
  }
  return r;
}

__m512i decode_e8m0_bits(__m512i v) {
  __m512i r = _mm512_slli_epi32(v, 23);
  r = _mm512_mask_blend_epi32(_mm512_cmpeq_epi32_mask(v, _mm512_setzero_si512()), r, set1(0x00400000));
  return _mm512_mask_blend_epi32(_mm512_cmpeq_epi32_mask(v, set1(0xFF)), r, set1(kF32QuietNan));
}

// f32 bits -> bf16 in the low 16 bits: RNE, every NaN -> 0xFFFF.
__m512i bf16_from_bits(__m512i u) {
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), set1(1));
  const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, set1(0x7FFF)), lsb), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, set1(0x7FFFFFFF)), set1(kF32Inf));
  return _mm512_mask_blend_epi32(nan, r, set1(kBf16Nan));
}

template <__m512i (*Decode)(__m512i)>
void fp8_to_f32(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const std::uint8_t*>(src);
  auto* d = static_cast<float*>(dst);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s + i));
    _mm512_mask_storeu_epi32(d + i, m, Decode(v));
  }
}

template <__m512i (*Decode)(__m512i)>
void fp8_to_bf16(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const std::uint8_t*>(src);
  auto* d = static_cast<std::uint16_t*>(dst);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, s + i));
    _mm512_mask_cvtepi32_storeu_epi16(d + i, m, bf16_from_bits(Decode(v)));
  }
}

// ---- f32 -> fp8 codes --------------------------------------------------------------------

template <const MiniFloat& F, bool kSat>
__m512i encode_codes(__m512i u) {
  constexpr int kSh = F.shift();
  constexpr std::uint32_t kNormalE32 = static_cast<std::uint32_t>(F.emin() + 127);
  constexpr std::uint32_t kMax = F.max_f32_bits(), kOvf = F.overflow_f32_bits();
  constexpr std::uint32_t kOvfCode = F.overflow_code(), kNanCode = F.nan_code();
  __m512i a = _mm512_and_si512(u, set1(0x7FFFFFFF));
  const __m512i sign = _mm512_slli_epi32(_mm512_srli_epi32(u, 31), F.ebits + F.mbits);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(a, set1(kF32Inf));
  if constexpr (kSat) a = _mm512_min_epu32(a, set1(kMax));
  const __m512i e32 = _mm512_srli_epi32(a, 23);
  const __m512i sig = _mm512_or_si512(_mm512_and_si512(a, set1(0x7FFFFF)), set1(0x800000));
  // Normal: ((e32 - emin - 127) << m) + rne(sig >> sh); the carry moves into the exponent.
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(sig, kSh), set1(1));
  const __m512i rounded = _mm512_srli_epi32(
      _mm512_add_epi32(_mm512_add_epi32(sig, set1((1u << (kSh - 1)) - 1)), odd), kSh);
  const __m512i normal =
      _mm512_add_epi32(_mm512_slli_epi32(_mm512_sub_epi32(e32, set1(kNormalE32)), F.mbits), rounded);
  // Subnormal: sig >> s with RNE, s = shift + (emin - exp), capped where everything rounds to 0.
  const __m512i s = _mm512_min_epu32(_mm512_sub_epi32(set1(kSh + kNormalE32), e32), set1(25));
  const __m512i q = _mm512_srlv_epi32(sig, s);
  const __m512i rem = _mm512_and_si512(sig, _mm512_sub_epi32(_mm512_sllv_epi32(set1(1), s), set1(1)));
  const __m512i half = _mm512_sllv_epi32(set1(1), _mm512_sub_epi32(s, set1(1)));
  const __mmask16 up = _mm512_cmpgt_epu32_mask(rem, half) |
                       (_mm512_cmpeq_epi32_mask(rem, half) &
                        _mm512_test_epi32_mask(q, set1(1)));
  const __m512i sub = _mm512_mask_add_epi32(q, up, q, set1(1));
  __m512i code = _mm512_mask_blend_epi32(_mm512_cmpge_epu32_mask(e32, set1(kNormalE32)), sub, normal);
  if constexpr (!kSat) {
    const __mmask16 ovf = _mm512_cmpge_epu32_mask(a, set1(kOvf));
    code = _mm512_mask_blend_epi32(ovf, code, set1(kOvfCode));
  }
  if constexpr (F.family == Family::kFnuz) {
    // No -0: the sign only goes on nonzero codes (the overflow NaN 0x80 already has it).
    code = _mm512_mask_or_epi32(code, _mm512_test_epi32_mask(code, code), code, sign);
    return _mm512_mask_blend_epi32(nan, code, set1(kNanCode));
  } else {
    code = _mm512_or_si512(code, sign);
    return _mm512_mask_blend_epi32(nan, code, _mm512_or_si512(sign, set1(kNanCode)));
  }
}

template <const MiniFloat& F, bool kSat>
void f32_to_fp8(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const float*>(src);
  auto* d = static_cast<std::uint8_t*>(dst);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i u = _mm512_maskz_loadu_epi32(m, s + i);
    _mm512_mask_cvtepi32_storeu_epi8(d + i, m, encode_codes<F, kSat>(u));
  }
}

// ---- 16-bit formats ----------------------------------------------------------------------

void f32_to_bf16(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const float*>(src);
  auto* d = static_cast<std::uint16_t*>(dst);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_cvtepi32_storeu_epi16(d + i, m, bf16_from_bits(_mm512_maskz_loadu_epi32(m, s + i)));
  }
}

void bf16_to_f32(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const std::uint16_t*>(src);
  auto* d = static_cast<float*>(dst);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, s + i));
    _mm512_mask_storeu_epi32(d + i, m, _mm512_slli_epi32(v, 16));
  }
}

void f16_to_f32(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const std::uint16_t*>(src);
  auto* d = static_cast<float*>(dst);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(d + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, s + i)));
  }
}

void f32_to_f16(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const float*>(src);
  auto* d = static_cast<std::uint16_t*>(dst);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i h =
        _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, s + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(d + i, m, h);
  }
}

template <const MiniFloat& F>
ConvertFn encoder(Rounding r) {
  return r == Rounding::kSaturate ? &f32_to_fp8<F, true> : &f32_to_fp8<F, false>;
}

}  // namespace

ConvertFn find_convert_avx512(DType src, DType dst, Rounding r) {
  if (dst == DType::kF32) {
    switch (src) {
      case DType::kF8E4M3FN: return &fp8_to_f32<decode_bits<kE4M3FN>>;
      case DType::kF8E5M2: return &fp8_to_f32<decode_bits<kE5M2>>;
      case DType::kF8E4M3FNUZ: return &fp8_to_f32<decode_bits<kE4M3FNUZ>>;
      case DType::kF8E5M2FNUZ: return &fp8_to_f32<decode_bits<kE5M2FNUZ>>;
      case DType::kF8E8M0FNU: return &fp8_to_f32<decode_e8m0_bits>;
      case DType::kBF16: return &bf16_to_f32;
      case DType::kF16: return &f16_to_f32;
      default: return nullptr;
    }
  }
  if (dst == DType::kBF16) {
    switch (src) {
      case DType::kF8E4M3FN: return &fp8_to_bf16<decode_bits<kE4M3FN>>;
      case DType::kF8E5M2: return &fp8_to_bf16<decode_bits<kE5M2>>;
      case DType::kF8E4M3FNUZ: return &fp8_to_bf16<decode_bits<kE4M3FNUZ>>;
      case DType::kF8E5M2FNUZ: return &fp8_to_bf16<decode_bits<kE5M2FNUZ>>;
      case DType::kF8E8M0FNU: return &fp8_to_bf16<decode_e8m0_bits>;
      case DType::kF32: return &f32_to_bf16;
      default: return nullptr;
    }
  }
  if (src == DType::kF32) {
    switch (dst) {
      case DType::kF8E4M3FN: return encoder<kE4M3FN>(r);
      case DType::kF8E5M2: return encoder<kE5M2>(r);
      case DType::kF8E4M3FNUZ: return encoder<kE4M3FNUZ>(r);
      case DType::kF8E5M2FNUZ: return encoder<kE5M2FNUZ>(r);
      case DType::kF16: return &f32_to_f16;
      default: return nullptr;
    }
  }
  return nullptr;
}

}  // namespace symtrace::tensor::detail
