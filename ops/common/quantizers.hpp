// Raw-pointer activation quantizers shared by every quantized op (OPS.md §4, §15.3).
//
//   quant::Rows x{ptr, DType::kBF16, M, K, /*ld=*/K};
//   std::vector<std::uint8_t> q(M * K);
//   std::vector<float> s(M);
//   quant::fp8_dynamic_token(x, std::nullopt, q.data(), K, s.data());
//
// Every function computes in f32 with the exact formulas of OPS.md §15.3 (division form
// x / s where the formula divides, the reciprocal 127 / amax where it multiplies), rounds to
// nearest even, saturates, and gives bit-identical results on every ISA path
// (scalar, AVX2, AVX-512; chosen at run time, capped by SYMTRACE_ISA).
//
// NaN (OPS.md §2): a NaN element encodes to the e4m3fn NaN code (0x7F | sign), and a NaN
// anywhere in the data a dynamic scale is computed from makes that scale NaN, so the error
// stays visible downstream. int8 has no NaN code: a NaN element encodes as 0.0 would
// (code 0, or the zero point), and its row's dynamic scale is NaN.
#pragma once

#include <cstdint>
#include <optional>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::quant {

using tensor::DType;

inline constexpr float kE4m3Max = 448.f;
inline constexpr float kInt8Max = 127.f;
// Floors of the dynamic scales (OPS.md §4.2-§4.4; the values vLLM uses).
inline constexpr float kFp8TensorAmaxFloor = 1e-12f;               // per-tensor: on amax
inline constexpr float kFp8TokenMinScale = 1.f / (448.f * 512.f);  // per-token: on the scale
inline constexpr float kGroupAmaxEps = 1e-10f;                     // per-group (fp8 and int8)
inline constexpr float kInt8MoeAmaxFloor = 1e-10f;                 // MoE activations
inline constexpr float kInt8AsymMinScale = 1e-10f;                 // asymmetric: on the scale

// Rows of activations: `rows` rows of `cols` elements of a bf16/f16/f32 dtype, row r at
// element offset r * ld (elements within a row are contiguous).
struct Rows {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t ld = 0;
  const void* row(std::int64_t r) const;
};

// ---- scalar primitives (the definitions every vector path reproduces) ------------------

// encode_sat_e4m3fn(v): clamp to +-448, round to nearest even; NaN -> 0x7F | sign.
std::uint8_t e4m3fn_encode_sat(float v);
float e4m3fn_decode(std::uint8_t b);
// sat_i8(rne(v) + z) evaluated without overflow; NaN counts as 0.
std::int8_t int8_encode(float v, std::int32_t z = 0);
float load_f32(const void* row, DType dtype, std::int64_t i);  // element i of a row, as f32

// Scale rules (OPS.md §15.3). `amax` may be NaN; the scale is then NaN.
float fp8_tensor_scale(float amax);                          // max(amax, 1e-12) / 448
float fp8_token_scale(float amax, std::optional<float> ub);  // max(min(amax, ub)/448, 1/229376)
float fp8_group_scale(float amax, bool pow2);                // max(amax, 1e-10)/448, or 2^ceil
float ceil_pow2(float s);                                    // smallest 2^e >= s, s > 0 finite

// ---- row kernels, one table per ISA -------------------------------------------------------
// The vector kernels behind the drivers, exposed so fused kernels (MoE) can quantize rows
// they produce without another pass. `x` points at `n` contiguous elements of `dtype`.
struct RowKernels {
  const char* isa;  // "avx512", "avx2", "scalar"
  // max |x|; NaN if any element is NaN.
  float (*absmax)(const void* x, DType dtype, std::int64_t n);
  // min and max; both NaN if any element is NaN.
  void (*minmax)(const void* x, DType dtype, std::int64_t n, float* lo, float* hi);
  // q = encode_sat_e4m3fn(x / s).
  void (*fp8_div)(const void* x, DType dtype, std::int64_t n, float s, std::uint8_t* q);
  // q = encode_sat_e4m3fn(x[i] / s[i]) (static per-column scale).
  void (*fp8_div_cols)(const void* x, DType dtype, std::int64_t n, const float* s, std::uint8_t* q);
  // q = sat_i8(rne(x / s) + z).
  void (*int8_div)(const void* x, DType dtype, std::int64_t n, float s, std::int32_t z,
                   std::int8_t* q);
  // q = sat_i8(rne(x * r)) (dynamic symmetric: r = 127 / amax).
  void (*int8_mul)(const void* x, DType dtype, std::int64_t n, float r, std::int8_t* q);
};

// The best table SYMTRACE_ISA and the CPU allow (read on every call: tests flip the env).
const RowKernels& row_kernels();
const RowKernels& row_kernels_scalar();
const RowKernels* row_kernels_avx2();    // nullptr when the CPU lacks AVX2
const RowKernels* row_kernels_avx512();  // nullptr when the CPU lacks AVX-512

// ---- whole-tensor quantizers (OpenMP over rows; threads = 0: OpenMP default) -----------
// q has the same rows x cols, row r at q + r * ldq. `kernels` picks the row kernels
// (nullptr: row_kernels()), so every ISA path can run on demand.

// fp8 static per-tensor: q = encode_sat(x / scale).
void fp8_static(const Rows& x, float scale, std::uint8_t* q, std::int64_t ldq, int threads = 0,
                const RowKernels* kernels = nullptr);
// fp8 static per-column (a [K] input-channel scale).
void fp8_static_cols(const Rows& x, const float* scale, std::uint8_t* q, std::int64_t ldq,
                     int threads = 0, const RowKernels* kernels = nullptr);
// fp8 dynamic per-tensor; returns the scale.
float fp8_dynamic_tensor(const Rows& x, std::uint8_t* q, std::int64_t ldq, int threads = 0,
                         const RowKernels* kernels = nullptr);
// fp8 dynamic per-token: scale[r] for every row.
void fp8_dynamic_token(const Rows& x, std::optional<float> ub, std::uint8_t* q, std::int64_t ldq,
                       float* scale, int threads = 0, const RowKernels* kernels = nullptr);

// Where a per-group quantizer writes scale (r, j): f32 at f32[r * row_stride + j * col_stride],
// or, when packed is set, UE8M0 byte (j % 4) of the i32 word packed[r * row_stride +
// (j / 4) * col_stride] (pow2 scales only; bytes of groups beyond the last are 0).
struct GroupScales {
  float* f32 = nullptr;
  std::int32_t* packed = nullptr;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 1;
};
// fp8 dynamic per-token-group 1 x g along the row (the last group may be short).
void fp8_dynamic_group(const Rows& x, std::int64_t g, bool pow2, std::uint8_t* q, std::int64_t ldq,
                       const GroupScales& scale, int threads = 0,
                       const RowKernels* kernels = nullptr);

// int8 static: q = sat_i8(rne(x / scale) + azp) (azp = 0: symmetric).
void int8_static(const Rows& x, float scale, std::int32_t azp, std::int8_t* q, std::int64_t ldq,
                 int threads = 0, const RowKernels* kernels = nullptr);
// int8 dynamic symmetric per-token: a = max(amax, amax_floor); a == 0 -> s = 0, q = 0;
// else s = a / 127, q = sat_i8(rne(x * (127 / a))). amax_floor: 0 for the linear path,
// kInt8MoeAmaxFloor for MoE activations.
void int8_dynamic_token(const Rows& x, float amax_floor, std::int8_t* q, std::int64_t ldq,
                        float* scale, int threads = 0, const RowKernels* kernels = nullptr);
// int8 dynamic symmetric per-tensor (same rule over all elements); returns the scale.
float int8_dynamic_tensor(const Rows& x, std::int8_t* q, std::int64_t ldq, int threads = 0,
                          const RowKernels* kernels = nullptr);
// int8 dynamic asymmetric per-token: s = max((hi - lo)/255, 1e-10), z = rne(-128 - lo/s),
// q = sat_i8(rne(x / s) + z).
void int8_dynamic_token_asym(const Rows& x, std::int8_t* q, std::int64_t ldq, float* scale,
                             std::int32_t* azp, int threads = 0,
                             const RowKernels* kernels = nullptr);
// int8 dynamic symmetric per-group 1 x g: s = max(amax, 1e-10) / 127, q = sat_i8(rne(x / s)).
void int8_dynamic_group(const Rows& x, std::int64_t g, std::int8_t* q, std::int64_t ldq,
                        const GroupScales& scale, int threads = 0,
                        const RowKernels* kernels = nullptr);

// One row, dynamic symmetric int8 (used inside fused kernels); returns the scale.
float int8_dynamic_row(const RowKernels& k, const void* x, DType dtype, std::int64_t n,
                       float amax_floor, std::int8_t* q);

// ---- activation dtypes (bf16 / f16 / f32) ------------------------------------------------

// v rounded once, to nearest even, to dtype d (no double rounding through f32); NaN stays NaN.
double round_to(DType d, double v);
// Stores v rounded (nearest even) to d as element i of a row.
void store_f32(void* row, DType d, std::int64_t i, float v);
void store_f64(void* row, DType d, std::int64_t i, double v);  // rounded once

}  // namespace symtrace::ops::quant
