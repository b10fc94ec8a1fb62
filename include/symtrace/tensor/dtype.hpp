// tensor::DType — every element format in OPS.md, with traits and exact conversions.
//
// Conversions agree bit for bit with PyTorch 2.11 (refdata fp8_tables.json): encode()
// rounds to nearest even; Rounding::kSaturate clamps to +-max finite first (what every
// quantizer does), Rounding::kRaw is PyTorch's plain cast (overflow -> NaN/inf).
// Rounding only matters for the quantization formats (fp8, e8m0, e2m1): f16/bf16/f32 are
// compute formats and always convert like PyTorch (overflow -> inf, so -inf masks survive).
// Every NaN becomes bf16 0xFFFF (PyTorch's CPU cast). e2m1 has no NaN/inf: it always
// saturates, NaN -> +-6. docs/dtypes.md has the table of formats and rules.
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
  kI16,
  kI8,
  kU8,
  kBool,
};
inline constexpr int kNumDTypes = 16;

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
// The four fp8 *value* formats (e4m3fn, e5m2 and their fnuz twins); not the UE8M0 scale format.
bool is_fp8(DType d);

enum class Rounding : std::uint8_t { kRaw, kSaturate };

// Scalar conversions between f32 and the float formats of at most 32 bits (bits in the low
// bits). Other dtypes throw diag::Error (code "dtype"). NaN decodes to a quiet NaN of the
// code's sign. For f8_e8m0fnu, kRaw is PyTorch's cast (nearest power of two, ties up, sign
// dropped, 0 -> 0x00, inf/NaN -> 0xFF); kernels use to_ue8m0_ceil for scales.
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

// Bulk conversion between any two dtypes (vectorised where the CPU allows; equal to the
// scalar functions). For kF4E2M1X2, n counts logical elements (ceil(n/2) bytes; an odd n
// leaves the last byte's high nibble untouched). Floats -> integers truncate toward zero
// and saturate (NaN -> 0); integers -> integers wrap (as PyTorch); -> bool is x != 0.
// Large n runs on OpenMP threads.
void convert(const void* src, DType src_type, void* dst, DType dst_type, std::size_t n,
             Rounding r = Rounding::kSaturate);

}  // namespace symtrace::tensor
