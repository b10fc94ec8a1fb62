// AVX2 (+F16C) conversion kernels: 8 elements per step; a tail goes through a zero-padded
// stack block so it runs the same vector code. Each kernel equals the scalar conversion in
// convert_scalar.cpp bit for bit; integer arithmetic keeps MXCSR out of the results.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "tensor/convert_kernels.hpp"
#include "tensor/minifloat.hpp"

namespace symtrace::tensor::detail {
namespace {

__m256i set1(std::uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }
__m256i blend(__m256i a, __m256i b, __m256i mask) { return _mm256_blendv_epi8(a, b, mask); }
// Lane values below 2^31 compare correctly as signed.
__m256i gt(__m256i a, __m256i b) { return _mm256_cmpgt_epi32(a, b); }
__m256i eq(__m256i a, __m256i b) { return _mm256_cmpeq_epi32(a, b); }

// Runs Step(src_block, dst_block) over n elements, 8 at a time; the tail is staged.
template <class Src, class Dst, void (*Step)(const Src*, Dst*)>
void run8(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const Src*>(src);
  auto* d = static_cast<Dst*>(dst);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) Step(s + i, d + i);
  if (i < n) {
    Src sb[8] = {};
    Dst db[8];
    std::memcpy(sb, s + i, (n - i) * sizeof(Src));
    Step(sb, db);
    std::memcpy(d + i, db, (n - i) * sizeof(Dst));
  }
}

__m256i load8_u8(const std::uint8_t* p) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
__m256i load8_u16(const std::uint16_t* p) {
  return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
__m256i load8_u32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Low byte / low half of each u32 lane, in order.
void store8_u8(std::uint8_t* p, __m256i v) {
  const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i t = _mm256_shuffle_epi8(v, pick);
  const __m128i r = _mm_unpacklo_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), r);
}
void store8_u16(std::uint16_t* p, __m256i v) {  // lanes hold values <= 0xFFFF
  const __m256i t = _mm256_permute4x64_epi64(_mm256_packus_epi32(v, v), 0x08);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(t));
}

// ---- fp8 codes -> f32 bits (same algorithm as the AVX-512 file) --------------------------

template <const MiniFloat& F>
__m256i decode_bits(__m256i v) {
  constexpr int kSh = F.shift();
  constexpr std::uint32_t kSubScale = static_cast<std::uint32_t>(F.emin() - F.mbits + 127) << 23;
  const __m256i mag = _mm256_and_si256(v, set1(0x7F));
  const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(v, set1(0x80)), 24);
  const __m256i normal = _mm256_add_epi32(_mm256_slli_epi32(mag, kSh),
                                          set1(static_cast<std::uint32_t>(127 - F.bias) << 23));
  const __m256 sub = _mm256_mul_ps(_mm256_cvtepi32_ps(mag), _mm256_castsi256_ps(set1(kSubScale)));
  const __m256i is_sub = gt(set1(1u << F.mbits), mag);
  __m256i r = _mm256_or_si256(blend(normal, _mm256_castps_si256(sub), is_sub), sign);
  if constexpr (F.family == Family::kFn) {
    r = blend(r, _mm256_or_si256(sign, set1(kF32QuietNan)), eq(mag, set1(0x7F)));
  } else if constexpr (F.family == Family::kIeee) {
    constexpr std::uint32_t kInfCode = ((1u << F.ebits) - 1) << F.mbits;
    const __m256i payload = _mm256_slli_epi32(_mm256_and_si256(mag, set1((1u << F.mbits) - 1)), kSh);
    r = blend(r, _mm256_or_si256(sign, set1(kF32Inf)), eq(mag, set1(kInfCode)));
    r = blend(r, _mm256_or_si256(sign, _mm256_or_si256(payload, set1(kF32QuietNan))),
              gt(mag, set1(kInfCode)));
  } else {
    r = blend(r, set1(kF32QuietNan), eq(v, set1(0x80)));
  }
  return r;
}

__m256i decode_e8m0_bits(__m256i v) {
  __m256i r = _mm256_slli_epi32(v, 23);
  r = blend(r, set1(0x00400000), eq(v, _mm256_setzero_si256()));
  return blend(r, set1(kF32QuietNan), eq(v, set1(0xFF)));
}

__m256i bf16_from_bits(__m256i u) {
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), set1(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, set1(0x7FFF)), lsb), 16);
  return blend(r, set1(kBf16Nan), gt(_mm256_and_si256(u, set1(0x7FFFFFFF)), set1(kF32Inf)));
}

template <__m256i (*Decode)(__m256i)>
void fp8_to_f32_step(const std::uint8_t* s, float* d) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), Decode(load8_u8(s)));
}
template <__m256i (*Decode)(__m256i)>
void fp8_to_bf16_step(const std::uint8_t* s, std::uint16_t* d) {
  store8_u16(d, bf16_from_bits(Decode(load8_u8(s))));
}

// ---- f32 -> fp8 codes --------------------------------------------------------------------

template <const MiniFloat& F, bool kSat>
__m256i encode_codes(__m256i u) {
  constexpr int kSh = F.shift();
  constexpr std::uint32_t kNormalE32 = static_cast<std::uint32_t>(F.emin() + 127);
  constexpr std::uint32_t kMax = F.max_f32_bits(), kOvf = F.overflow_f32_bits();
  constexpr std::uint32_t kOvfCode = F.overflow_code(), kNanCode = F.nan_code();
  __m256i a = _mm256_and_si256(u, set1(0x7FFFFFFF));
  const __m256i sign = _mm256_slli_epi32(_mm256_srli_epi32(u, 31), F.ebits + F.mbits);
  const __m256i nan = gt(a, set1(kF32Inf));
  if constexpr (kSat) a = _mm256_min_epu32(a, set1(kMax));
  const __m256i e32 = _mm256_srli_epi32(a, 23);
  const __m256i sig = _mm256_or_si256(_mm256_and_si256(a, set1(0x7FFFFF)), set1(0x800000));
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(sig, kSh), set1(1));
  const __m256i rounded = _mm256_srli_epi32(
      _mm256_add_epi32(_mm256_add_epi32(sig, set1((1u << (kSh - 1)) - 1)), odd), kSh);
  const __m256i normal =
      _mm256_add_epi32(_mm256_slli_epi32(_mm256_sub_epi32(e32, set1(kNormalE32)), F.mbits), rounded);
  const __m256i s = _mm256_min_epu32(_mm256_sub_epi32(set1(kSh + kNormalE32), e32), set1(25));
  const __m256i q = _mm256_srlv_epi32(sig, s);
  const __m256i rem = _mm256_and_si256(sig, _mm256_sub_epi32(_mm256_sllv_epi32(set1(1), s), set1(1)));
  const __m256i half = _mm256_sllv_epi32(set1(1), _mm256_sub_epi32(s, set1(1)));
  const __m256i up = _mm256_or_si256(
      gt(rem, half), _mm256_and_si256(eq(rem, half), eq(_mm256_and_si256(q, set1(1)), set1(1))));
  const __m256i sub = _mm256_sub_epi32(q, up);  // up lanes are -1
  __m256i code = blend(sub, normal, gt(e32, set1(kNormalE32 - 1)));
  if constexpr (!kSat)
    code = blend(code, set1(kOvfCode), gt(a, set1(kOvf - 1)));
  if constexpr (F.family == Family::kFnuz) {
    const __m256i nonzero = _mm256_xor_si256(eq(code, _mm256_setzero_si256()), set1(0xFFFFFFFF));
    code = _mm256_or_si256(code, _mm256_and_si256(sign, nonzero));
    return blend(code, set1(kNanCode), nan);
  } else {
    code = _mm256_or_si256(code, sign);
    return blend(code, _mm256_or_si256(sign, set1(kNanCode)), nan);
  }
}

template <const MiniFloat& F, bool kSat>
void f32_to_fp8_step(const float* s, std::uint8_t* d) {
  store8_u8(d, encode_codes<F, kSat>(load8_u32(s)));
}

// ---- 16-bit formats ----------------------------------------------------------------------

void f32_to_bf16_step(const float* s, std::uint16_t* d) { store8_u16(d, bf16_from_bits(load8_u32(s))); }
void bf16_to_f32_step(const std::uint16_t* s, float* d) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(d), _mm256_slli_epi32(load8_u16(s), 16));
}
void f16_to_f32_step(const std::uint16_t* s, float* d) {
  _mm256_storeu_ps(d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))));
}
void f32_to_f16_step(const float* s, std::uint16_t* d) {
  const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d), h);
}

using U8 = std::uint8_t;
using U16 = std::uint16_t;

template <const MiniFloat& F>
ConvertFn decoder_f32() { return &run8<U8, float, fp8_to_f32_step<decode_bits<F>>>; }
template <const MiniFloat& F>
ConvertFn decoder_bf16() { return &run8<U8, U16, fp8_to_bf16_step<decode_bits<F>>>; }
template <const MiniFloat& F>
ConvertFn encoder(Rounding r) {
  return r == Rounding::kSaturate ? &run8<float, U8, f32_to_fp8_step<F, true>>
                                  : &run8<float, U8, f32_to_fp8_step<F, false>>;
}

}  // namespace

ConvertFn find_convert_avx2(DType src, DType dst, Rounding r) {
  if (dst == DType::kF32) {
    switch (src) {
      case DType::kF8E4M3FN: return decoder_f32<kE4M3FN>();
      case DType::kF8E5M2: return decoder_f32<kE5M2>();
      case DType::kF8E4M3FNUZ: return decoder_f32<kE4M3FNUZ>();
      case DType::kF8E5M2FNUZ: return decoder_f32<kE5M2FNUZ>();
      case DType::kF8E8M0FNU: return &run8<U8, float, fp8_to_f32_step<decode_e8m0_bits>>;
      case DType::kBF16: return &run8<U16, float, bf16_to_f32_step>;
      case DType::kF16: return &run8<U16, float, f16_to_f32_step>;
      default: return nullptr;
    }
  }
  if (dst == DType::kBF16) {
    switch (src) {
      case DType::kF8E4M3FN: return decoder_bf16<kE4M3FN>();
      case DType::kF8E5M2: return decoder_bf16<kE5M2>();
      case DType::kF8E4M3FNUZ: return decoder_bf16<kE4M3FNUZ>();
      case DType::kF8E5M2FNUZ: return decoder_bf16<kE5M2FNUZ>();
      case DType::kF8E8M0FNU: return &run8<U8, U16, fp8_to_bf16_step<decode_e8m0_bits>>;
      case DType::kF32: return &run8<float, U16, f32_to_bf16_step>;
      default: return nullptr;
    }
  }
  if (src == DType::kF32) {
    switch (dst) {
      case DType::kF8E4M3FN: return encoder<kE4M3FN>(r);
      case DType::kF8E5M2: return encoder<kE5M2>(r);
      case DType::kF8E4M3FNUZ: return encoder<kE4M3FNUZ>(r);
      case DType::kF8E5M2FNUZ: return encoder<kE5M2FNUZ>(r);
      case DType::kF16: return &run8<float, U16, f32_to_f16_step>;
      default: return nullptr;
    }
  }
  return nullptr;
}

}  // namespace symtrace::tensor::detail
