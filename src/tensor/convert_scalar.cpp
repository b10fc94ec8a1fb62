// Scalar conversions between f32 and the small float formats (OPS.md §2, §15.1-15.2).
// These are the specification: the vectorised kernels are tested against them, and they
// are tested bit for bit against PyTorch (refdata fp8_tables.json).
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/dtype.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "tensor/convert_kernels.hpp"
#include "tensor/minifloat.hpp"

namespace symtrace::tensor {
namespace detail {
namespace {

// sig / 2^s rounded to nearest, ties to even (sig < 2^24).
std::uint32_t rne_shift(std::uint32_t sig, int s) {
  if (s <= 0) return sig;
  if (s > 25) return 0;  // below half of one unit: rounds to zero
  const std::uint32_t q = sig >> s, rem = sig & ((1u << s) - 1), half = 1u << (s - 1);
  return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}

std::array<float, 256> build_table(DType d) {
  std::array<float, 256> t{};
  const int n = d == DType::kF4E2M1X2 ? 16 : 256;
  for (int c = 0; c < n; ++c) {
    const auto code = static_cast<std::uint32_t>(c);
    t[c] = d == DType::kF8E8M0FNU ? ue8m0_to_f32(static_cast<std::uint8_t>(c))
                                  : decode_minifloat(*minifloat_of(d), code);
  }
  return t;
}

}  // namespace

float decode_minifloat(const MiniFloat& f, std::uint32_t code) {
  const std::uint32_t sign = (code & f.sign_bit()) ? 0x80000000u : 0u;
  const std::uint32_t mag = code & (f.sign_bit() - 1);
  const std::uint32_t e = mag >> f.mbits, m = mag & ((1u << f.mbits) - 1);
  const std::uint32_t emax_field = (1u << f.ebits) - 1;
  switch (f.family) {
    case Family::kFn:
      if (mag == f.sign_bit() - 1) return f32_from_bits(sign | kF32QuietNan);
      break;
    case Family::kIeee:
      if (e == emax_field) {
        if (m == 0) return f32_from_bits(sign | kF32Inf);
        // Keep the payload (as F16C does), quieted.
        return f32_from_bits(sign | kF32QuietNan | (m << f.shift()));
      }
      break;
    case Family::kFnuz:
      if (code == f.sign_bit()) return f32_from_bits(kF32QuietNan);
      break;
    case Family::kNone: break;
  }
  // Exact: every value of these formats is an f32.
  const float v = e == 0 ? std::ldexp(static_cast<float>(m), f.emin() - f.mbits)
                         : std::ldexp(static_cast<float>(m | (1u << f.mbits)),
                                      static_cast<int>(e) - f.bias - f.mbits);
  return f32_from_bits(f32_bits(v) | sign);
}

std::uint32_t encode_minifloat(const MiniFloat& f, float x, Rounding r) {
  const std::uint32_t u = f32_bits(x);
  const bool negative = (u >> 31) != 0;
  std::uint32_t a = u & 0x7FFFFFFFu;
  const std::uint32_t sign = negative ? f.sign_bit() : 0u;
  if (a > kF32Inf) {  // NaN
    if (f.family == Family::kFnuz) return f.nan_code();
    if (f.mbits == 10)  // f16: IEEE keeps the top payload bits and sets the quiet bit
      return sign | 0x7E00u | ((a & 0x7FFFFFu) >> 13);
    return sign | f.nan_code();
  }
  if (r == Rounding::kSaturate || f.family == Family::kNone) a = std::min(a, f.max_f32_bits());

  std::uint32_t code;
  if (a >= kF32Inf) {
    code = f.overflow_code();
  } else {
    const int e32 = static_cast<int>(a >> 23);
    const std::uint32_t sig = (a & 0x7FFFFFu) | (e32 ? 0x800000u : 0u);
    const int exp = e32 ? e32 - 127 : -126;
    // Normal: ((exp - emin) << m) + sig/2^shift, whose carry moves into the exponent;
    // subnormal: sig scaled down to units of 2^(emin - mbits).
    code = exp >= f.emin()
               ? (static_cast<std::uint32_t>(exp - f.emin()) << f.mbits) + rne_shift(sig, f.shift())
               : rne_shift(sig, f.shift() + (f.emin() - exp));
    if (code > f.max_code) code = f.overflow_code();
  }
  if (f.family == Family::kFnuz) return code == 0 || code == f.sign_bit() ? code : code | sign;
  return code | sign;
}

// PyTorch's cast (c10 fp8e8m0fnu_from_fp32_value): the f32 exponent field, rounded up when
// the dropped mantissa is >= half (ties up for normals; f32 subnormals have an implicit 0).
std::uint8_t encode_e8m0(float x, Rounding r) {
  std::uint32_t a = f32_bits(x) & 0x7FFFFFFFu;  // the sign is dropped
  if (a > kF32Inf) return 0xFF;
  if (r == Rounding::kSaturate) a = std::min(a, 0x7F000000u);  // 2^127, code 0xFE
  std::uint32_t e = a >> 23;
  if (e == 0xFF) return 0xFF;
  const bool g = (a & 0x400000u) != 0, rest = (a & 0x3FFFFFu) != 0;
  if (g && (rest || e > 0)) ++e;
  return static_cast<std::uint8_t>(e);
}

const float* decode_table(DType d) {
  static const auto tables = [] {
    std::array<std::array<float, 256>, kNumDTypes> t{};
    for (DType d : {DType::kF8E4M3FN, DType::kF8E5M2, DType::kF8E4M3FNUZ, DType::kF8E5M2FNUZ,
                    DType::kF8E8M0FNU, DType::kF4E2M1X2})
      t[static_cast<int>(d)] = build_table(d);
    return t;
  }();
  return tables[static_cast<int>(d)].data();
}

// ---- scalar run kernels: the per-element rules as tight loops (the SYMTRACE_ISA=scalar
// path, and every CPU without AVX2). Formats are template arguments so the encoder inlines.

namespace {

template <DType D>
void table_to_f32(const void* src, void* dst, std::size_t n) {
  const float* t = decode_table(D);
  const auto* s = static_cast<const std::uint8_t*>(src);
  auto* d = static_cast<float*>(dst);
  for (std::size_t i = 0; i < n; ++i) d[i] = t[s[i]];
}

template <DType D>
void table_to_bf16(const void* src, void* dst, std::size_t n) {
  static const auto table = [] {
    std::array<std::uint16_t, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = f32_to_bf16(decode_table(D)[c]);
    return t;
  }();
  const auto* s = static_cast<const std::uint8_t*>(src);
  auto* d = static_cast<std::uint16_t*>(dst);
  for (std::size_t i = 0; i < n; ++i) d[i] = table[s[i]];
}

template <const MiniFloat& F, Rounding R>
void f32_to_minifloat(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const float*>(src);
  auto* d = static_cast<std::uint8_t*>(dst);
  for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<std::uint8_t>(encode_minifloat(F, s[i], R));
}

void f32_to_bf16_run(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const float*>(src);
  auto* d = static_cast<std::uint16_t*>(dst);
  for (std::size_t i = 0; i < n; ++i) d[i] = f32_to_bf16(s[i]);
}

void bf16_to_f32_run(const void* src, void* dst, std::size_t n) {
  const auto* s = static_cast<const std::uint16_t*>(src);
  auto* d = static_cast<float*>(dst);
  for (std::size_t i = 0; i < n; ++i) d[i] = bf16_to_f32(s[i]);
}

template <const MiniFloat& F>
ConvertFn scalar_encoder(Rounding r) {
  return r == Rounding::kSaturate ? &f32_to_minifloat<F, Rounding::kSaturate>
                                  : &f32_to_minifloat<F, Rounding::kRaw>;
}

}  // namespace

ConvertFn find_convert_scalar(DType src, DType dst, Rounding r) {
#define SYMTRACE_FP8_CASES(M) \
  M(DType::kF8E4M3FN) M(DType::kF8E5M2) M(DType::kF8E4M3FNUZ) M(DType::kF8E5M2FNUZ) M(DType::kF8E8M0FNU)
  if (dst == DType::kF32) {
    switch (src) {
#define M(D) case D: return &table_to_f32<D>;
      SYMTRACE_FP8_CASES(M)
#undef M
      case DType::kBF16: return &bf16_to_f32_run;
      default: return nullptr;
    }
  }
  if (dst == DType::kBF16) {
    switch (src) {
#define M(D) case D: return &table_to_bf16<D>;
      SYMTRACE_FP8_CASES(M)
#undef M
      case DType::kF32: return &f32_to_bf16_run;
      default: return nullptr;
    }
  }
#undef SYMTRACE_FP8_CASES
  if (src == DType::kF32) {
    switch (dst) {
      case DType::kF8E4M3FN: return scalar_encoder<kE4M3FN>(r);
      case DType::kF8E5M2: return scalar_encoder<kE5M2>(r);
      case DType::kF8E4M3FNUZ: return scalar_encoder<kE4M3FNUZ>(r);
      case DType::kF8E5M2FNUZ: return scalar_encoder<kE5M2FNUZ>(r);
      default: return nullptr;
    }
  }
  return nullptr;
}

}  // namespace detail

using detail::f32_bits;
using detail::f32_from_bits;

float bf16_to_f32(std::uint16_t b) { return f32_from_bits(static_cast<std::uint32_t>(b) << 16); }

std::uint16_t f32_to_bf16(float x) {
  const std::uint32_t u = f32_bits(x);
  if ((u & 0x7FFFFFFFu) > detail::kF32Inf) return detail::kBf16Nan;
  return static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float f16_to_f32(std::uint16_t h) { return detail::decode_minifloat(detail::kF16, h); }

std::uint16_t f32_to_f16(float x) {
  return static_cast<std::uint16_t>(detail::encode_minifloat(detail::kF16, x, Rounding::kRaw));
}

float ue8m0_to_f32(std::uint8_t e) {
  if (e == 0xFF) return f32_from_bits(detail::kF32QuietNan);
  if (e == 0) return f32_from_bits(0x00400000u);  // 2^-127, an f32 subnormal
  return f32_from_bits(static_cast<std::uint32_t>(e) << 23);
}

std::uint8_t to_ue8m0_ceil(float s) {
  if (!(s > 0.f) || std::isinf(s)) {
    diag::Diagnostic d;
    d.code = "scale-format";
    d.argument = "scale";
    d.expected = "a finite scale > 0";
    d.got = std::to_string(s);
    d.message = "a UE8M0 scale must be a finite positive number";
    throw diag::Error(std::move(d));
  }
  const std::uint32_t u = f32_bits(s);
  std::uint32_t e = (u >> 23) & 0xFFu;
  if ((u & 0x7FFFFFu) != 0) ++e;  // round up to the next power of two (subnormals -> 1)
  return static_cast<std::uint8_t>(std::min<std::uint32_t>(e, 254));
}

float decode(DType d, std::uint32_t bits) {
  switch (d) {
    case DType::kF32: return f32_from_bits(bits);
    case DType::kBF16: return bf16_to_f32(static_cast<std::uint16_t>(bits));
    case DType::kF16: return f16_to_f32(static_cast<std::uint16_t>(bits));
    case DType::kF8E8M0FNU: return ue8m0_to_f32(static_cast<std::uint8_t>(bits));
    case DType::kF4E2M1X2: return detail::decode_table(d)[bits & 0xFu];
    case DType::kF8E4M3FN:
    case DType::kF8E5M2:
    case DType::kF8E4M3FNUZ:
    case DType::kF8E5M2FNUZ: return detail::decode_table(d)[bits & 0xFFu];
    default: break;
  }
  diag::fail("dtype", std::string("decode: ") + std::string(name(d)) +
                          " is not a float format of at most 32 bits");
}

std::uint32_t encode(DType d, float x, Rounding r) {
  switch (d) {
    case DType::kF32: return f32_bits(x);
    case DType::kBF16: return f32_to_bf16(x);
    case DType::kF16: return f32_to_f16(x);
    case DType::kF8E8M0FNU: return detail::encode_e8m0(x, r);
    case DType::kF4E2M1X2:
    case DType::kF8E4M3FN:
    case DType::kF8E5M2:
    case DType::kF8E4M3FNUZ:
    case DType::kF8E5M2FNUZ: return detail::encode_minifloat(*detail::minifloat_of(d), x, r);
    default: break;
  }
  diag::fail("dtype", std::string("encode: ") + std::string(name(d)) +
                          " is not a float format of at most 32 bits");
}

}  // namespace symtrace::tensor
