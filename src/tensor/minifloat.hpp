// Private: the parameters of the small float formats, shared by the scalar conversions and
// the vectorised kernels (which must agree with them bit for bit).
#pragma once

#include <bit>
#include <cstdint>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::tensor::detail {

inline std::uint32_t f32_bits(float x) { return std::bit_cast<std::uint32_t>(x); }
inline float f32_from_bits(std::uint32_t u) { return std::bit_cast<float>(u); }

inline constexpr std::uint32_t kF32Inf = 0x7F800000u;
inline constexpr std::uint32_t kF32QuietNan = 0x7FC00000u;
// PyTorch's CPU cast writes 0xFFFF for every NaN going to bf16 (refdata bf16.raw), not
// the 0x7FC0 of c10's scalar path; every conversion to bf16 follows that.
inline constexpr std::uint16_t kBf16Nan = 0xFFFF;

// A binary float with 1 sign bit (when `has_sign`), `ebits` exponent and `mbits` mantissa
// bits. How its top codes are used is what distinguishes the families:
//   kFn   (e4m3fn): no inf, S.1111.111 is NaN, -0 exists
//   kIeee (e5m2, f16): all-ones exponent is inf/NaN, -0 exists
//   kFnuz: no inf, no -0; 0x80 is the only NaN
//   kNone (e2m1): neither inf nor NaN
enum class Family : std::uint8_t { kFn, kIeee, kFnuz, kNone };

struct MiniFloat {
  int ebits, mbits, bias;
  Family family;
  std::uint32_t max_code;  // code of the largest finite magnitude

  constexpr int total_bits() const { return 1 + ebits + mbits; }
  constexpr std::uint32_t sign_bit() const { return 1u << (ebits + mbits); }
  constexpr int emin() const { return 1 - bias; }  // exponent of the smallest normal
  constexpr int shift() const { return 23 - mbits; }  // f32 mantissa bits dropped

  // f32 bit patterns (of magnitudes) at the format's landmarks.
  constexpr std::uint32_t max_f32_bits() const {
    const std::uint32_t e = max_code >> mbits, m = max_code & ((1u << mbits) - 1);
    return ((e - bias + 127) << 23) | (m << shift());
  }
  constexpr std::uint32_t min_normal_f32_bits() const {
    return static_cast<std::uint32_t>(emin() + 127) << 23;
  }
  // Smallest magnitude whose nearest-even rounding leaves the finite range: the midpoint
  // above max, itself included when max's last mantissa bit is odd (ties go to even).
  constexpr std::uint32_t overflow_f32_bits() const {
    const std::uint32_t mid = max_f32_bits() + (1u << (shift() - 1));
    return (max_code & 1u) ? mid : mid + 1;
  }
  // A float whose ulp is the subnormal spacing 2^(emin - mbits): adding it to a subnormal
  // magnitude rounds that magnitude (RNE) to a whole number of spacings.
  constexpr std::uint32_t subnormal_magic_bits() const {
    return static_cast<std::uint32_t>(emin() - mbits + 23 + 127) << 23;
  }
  // Code on overflow (raw casts): NaN for fn/fnuz, inf for IEEE; e2m1 saturates.
  constexpr std::uint32_t overflow_code() const {
    switch (family) {
      case Family::kFn: return max_code + 1;
      case Family::kIeee: return max_code + 1;
      case Family::kFnuz: return sign_bit();
      case Family::kNone: return max_code;
    }
    return max_code;
  }
  constexpr std::uint32_t nan_code() const {
    switch (family) {
      case Family::kFn:    // S.1111.111
      case Family::kIeee:  // all ones, as PyTorch writes for e5m2 (f16 keeps the payload)
        return (1u << (ebits + mbits)) - 1;
      case Family::kFnuz: return sign_bit();
      case Family::kNone: return max_code;  // no NaN: the largest magnitude (keeps sign)
    }
    return max_code;
  }
};

inline constexpr MiniFloat kE4M3FN{4, 3, 7, Family::kFn, 0x7E};
inline constexpr MiniFloat kE5M2{5, 2, 15, Family::kIeee, 0x7B};
inline constexpr MiniFloat kE4M3FNUZ{4, 3, 8, Family::kFnuz, 0x7F};
inline constexpr MiniFloat kE5M2FNUZ{5, 2, 16, Family::kFnuz, 0x7F};
inline constexpr MiniFloat kE2M1{2, 1, 1, Family::kNone, 0x7};
inline constexpr MiniFloat kF16{5, 10, 15, Family::kIeee, 0x7BFF};

static_assert(kE4M3FN.max_f32_bits() == 0x43E00000u);        // 448
static_assert(kE4M3FN.overflow_f32_bits() == 0x43E80001u);   // just above 464
static_assert(kE5M2.overflow_f32_bits() == 0x47700000u);     // 61440
static_assert(kE4M3FN.subnormal_magic_bits() == 141u << 23);

// The MiniFloat of an 8-bit (or e2m1) value format; nullptr for others (e8m0 included).
inline const MiniFloat* minifloat_of(DType d) {
  switch (d) {
    case DType::kF8E4M3FN: return &kE4M3FN;
    case DType::kF8E5M2: return &kE5M2;
    case DType::kF8E4M3FNUZ: return &kE4M3FNUZ;
    case DType::kF8E5M2FNUZ: return &kE5M2FNUZ;
    case DType::kF4E2M1X2: return &kE2M1;
    case DType::kF16: return &kF16;
    default: return nullptr;
  }
}

// Scalar encoders/decoders by format (convert_scalar.cpp).
float decode_minifloat(const MiniFloat& f, std::uint32_t code);
std::uint32_t encode_minifloat(const MiniFloat& f, float x, Rounding r);
std::uint8_t encode_e8m0(float x, Rounding r);

// 256-entry decode table of an 8-bit format (16 entries used for e2m1), built once.
const float* decode_table(DType d);

}  // namespace symtrace::tensor::detail
