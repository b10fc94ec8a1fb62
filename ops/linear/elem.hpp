// Element access for the nn kernels: f32 / bf16 / f16 loads into f32 and stores that round once.
// Kernels compute in f32 and convert at the edges; these are the scalar edges (the vector edges
// live in the ISA files). They agree bit for bit with tensor::f32_to_bf16 / f32_to_f16 (RNE,
// NaN stays a quiet NaN), which the tests check.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include <symtrace/tensor/dtype.hpp>

// Files compiled with AVX2/AVX-512 flags include this header too. The inline namespace gives
// each instruction-set build its own symbols, so the linker cannot merge an AVX-512 copy of an
// inline function into baseline code (which would fault on a CPU without AVX-512).
#if defined(__AVX512F__)
#define SYMTRACE_ELEM_ISA isa_avx512
#elif defined(__AVX2__)
#define SYMTRACE_ELEM_ISA isa_avx2
#else
#define SYMTRACE_ELEM_ISA isa_base
#endif

namespace symtrace::ops::elem {
inline namespace SYMTRACE_ELEM_ISA {

using tensor::DType;

inline float bf16_to_f32(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

inline std::uint16_t f32_to_bf16(float x) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // OPS.md 15.2: round to nearest even on the low 16 bits
  return static_cast<std::uint16_t>(u >> 16);
}

inline float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));  // inf / NaN
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (man << 13));
  if (man == 0) return std::bit_cast<float>(sign);
  // Subnormal half: value = man * 2^-24, exact in f32.
  const float mag = static_cast<float>(man) * 0x1p-24f;
  return sign != 0 ? -mag : mag;
}

inline std::uint16_t f32_to_f16(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x1ffu));
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (a < 0x38800000u) {
    // Below the smallest normal half (2^-14): round a * 2^24 to an integer, ties to even.
    // Adding 0.5f * 2^... via the float unit is exact enough: use integer rounding instead.
    const std::uint32_t e = a >> 23;
    if (e < 102) return sign;  // < 2^-25: rounds to zero (2^-25 itself ties to even zero)
    const std::uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;  // value = m * 2^(e-150); half units 2^-24
    std::uint32_t q = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return static_cast<std::uint16_t>(sign | q);
  }
  std::uint32_t v = a - 0x38000000u;  // rebias 127 -> 15 (exponent field minus 112)
  v += 0xfffu + ((v >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (v >> 13));
}

// Element i of a buffer of dtype d, as f32 (d in f32, bf16, f16; f64 narrowed).
inline float load(const void* p, DType d, std::int64_t i) {
  switch (d) {
    case DType::kF32: return static_cast<const float*>(p)[i];
    case DType::kBF16: return bf16_to_f32(static_cast<const std::uint16_t*>(p)[i]);
    case DType::kF16: return f16_to_f32(static_cast<const std::uint16_t*>(p)[i]);
    case DType::kF64: return static_cast<float>(static_cast<const double*>(p)[i]);
    default: return 0.f;  // callers only pass float dtypes (checked by the op's fake)
  }
}

inline void store(void* p, DType d, std::int64_t i, float v) {
  switch (d) {
    case DType::kF32: static_cast<float*>(p)[i] = v; break;
    case DType::kBF16: static_cast<std::uint16_t*>(p)[i] = f32_to_bf16(v); break;
    case DType::kF16: static_cast<std::uint16_t*>(p)[i] = f32_to_f16(v); break;
    case DType::kF64: static_cast<double*>(p)[i] = v; break;
    default: break;
  }
}

// The float dtypes the nn kernels compute on (f32 arithmetic, one rounding at the store).
inline bool is_kernel_float(DType d) {
  return d == DType::kF32 || d == DType::kBF16 || d == DType::kF16;
}

}  // namespace SYMTRACE_ELEM_ISA
}  // namespace symtrace::ops::elem
