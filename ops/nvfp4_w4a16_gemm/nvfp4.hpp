// NVFP4 W4A16 internals shared by nvfp4_w4a16_gemm and nvfp4_w4a16_moe (OPS.md §2, §10):
// e2m1 codes packed two per byte (element 2j in the low nibble), one f8_e4m3fn scale per
// 16 elements along K, a global f32 multiplier applied in the epilogue.
#pragma once

#include <cstdint>

#include <symtrace/op/op_def.hpp>

#include "ops/common/quant.hpp"

namespace symtrace::ops::nvfp4 {

inline constexpr std::int64_t kBlock = 16;  // elements per e4m3 scale
// e2m1 values of the 16 codes (bit 3 is the sign).
inline constexpr float kE2m1[16] = {0.f,  0.5f,  1.f,  1.5f,  2.f,  3.f,  4.f,  6.f,
                                    -0.f, -0.5f, -1.f, -1.5f, -2.f, -3.f, -4.f, -6.f};

// Element k of weight row `q` (packed bytes), decoded exactly: e2m1 * e4m3 scale (f32-exact:
// at most 2 + 4 significant bits).
float weight(const std::uint8_t* q, const std::uint8_t* s, std::int64_t k);

// Rows of one packed weight: row n at q + n * ldq (K/2 bytes) and s + n * lds (K/16 scales).
struct Fp4Rows {
  const std::uint8_t* q;
  std::int64_t ldq;
  const std::uint8_t* s;
  std::int64_t lds;
};

inline constexpr std::int64_t kMaxN = 16;      // weight rows per block call
inline constexpr std::int64_t kPanelK = 1024;  // K elements decoded per panel
// acc[m * ldacc + n] += sum_k x[m * ldx + k] * w(n, k) for m < M, n < N <= kMaxN, f32
// accumulation; `panel` is kMaxN * kPanelK floats of scratch. One per ISA.
using Fp4Block = void (*)(std::int64_t M, std::int64_t N, std::int64_t K, const float* x,
                          std::int64_t ldx, const Fp4Rows& w, float* panel, float* acc,
                          std::int64_t ldacc);
void block_scalar(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                  const Fp4Rows& w, float* panel, float* acc, std::int64_t ldacc);
void block_avx2(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                const Fp4Rows& w, float* panel, float* acc, std::int64_t ldacc);
void block_avx512(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                  const Fp4Rows& w, float* panel, float* acc, std::int64_t ldacc);

// The f32 decode of the 256 e4m3fn scale codes.
const float* e4m3_table();

// Tolerance of OPS.md §15.7 for a W4A16 output against its f64 reference:
// |y - ref| <= (K + 2) 2^-24 (g sum_k |x w| + |bias|) + 1 ulp of the output dtype at |ref|.
double ulp(DType d, double v);

}  // namespace symtrace::ops::nvfp4
