// tensor::DType — every element format in OPS.md, with traits and exact conversions.
//
// Conversions agree bit for bit with PyTorch 2.11 (refdata fp8_tables.json): encode()
// rounds to nearest even; Rounding::kSaturate clamps to +-max finite first (what every
// quantizer does), Rounding::kRaw is PyTorch's plain cast (overflow -> NaN/inf).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace symtrace::tensor {

enum class DType : std::uint8_t {
  kF64,
  kF32,
  kF16,
  kBF16,
  kF8E4M3FN,
  kF8E5M2,
  kF8E4M3FNUZ,
  kF8E5M2FNUZ,
  kF8E8M0FNU,  // UE8M0: scale-only, 2^(e-127)
  kF4E2M1X2,   // two e2m1 values per byte: element 2j low nibble, 2j+1 high nibble
  kI64,
  kI32,
  kI8,
  kU8,
  kBool,
};
inline constexpr int kNumDTypes = 15;

struct DTypeInfo {
  DType dtype;
  std::string_view name;         // PyTorch spelling without "torch.": "f8_e4m3fn", "bf16"
  std::string_view safetensors;  // "F8_E4M3", "BF16", ... ("" when safetensors has none)
  std::size_t bytes;             // storage bytes per element (per packed pair for f4)
  int bits;                      // bits per logical element
  bool is_float;
  bool is_signed;
  double max_finite;             // largest finite value (integers: max value)
  bool has_inf;
  bool has_nan;
};

const DTypeInfo& info(DType d);
std::string_view name(DType d);
std::optional<DType> dtype_from_name(std::string_view name);         // "bf16", "bfloat16", "f8_e4m3fn", ...
std::optional<DType> dtype_from_safetensors(std::string_view code);  // "F8_E4M3" -> kF8E4M3FN
bool is_fp8(DType d);

enum class Rounding : std::uint8_t { kRaw, kSaturate };

// Scalar conversions between f32 and the 8/16-bit float formats (bits in the low bits).
float decode(DType d, std::uint32_t bits);  // f4: the 4-bit code
std::uint32_t encode(DType d, float x, Rounding r = Rounding::kSaturate);

float bf16_to_f32(std::uint16_t b);
std::uint16_t f32_to_bf16(float x);  // RNE, NaN stays quiet NaN
float f16_to_f32(std::uint16_t h);
std::uint16_t f32_to_f16(float x);   // IEEE RNE

// UE8M0 scale conversion used by kernels: round *up* to a power of two (OPS.md 2.1).
// Throws diag::Error (code "scale-format") for s <= 0, NaN or inf.
std::uint8_t to_ue8m0_ceil(float s);
float ue8m0_to_f32(std::uint8_t e);

// Bulk conversion (vectorised where the CPU allows; equal to the scalar functions).
// For kF4E2M1X2, n counts logical elements (n/2 bytes, n even).
void convert(const void* src, DType src_type, void* dst, DType dst_type, std::size_t n,
             Rounding r = Rounding::kSaturate);

}  // namespace symtrace::tensor
