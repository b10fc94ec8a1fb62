// Scalar builds of the fast elementwise kernels: the fallback when AVX-512 is missing or
// SYMTRACE_ISA=scalar caps it. Same f32 arithmetic and rounding as the AVX-512 build.
#include <bit>
#include <cmath>
#include <cstring>

#include "ops/common/ew_kernels.hpp"

namespace symtrace::ops::ewk {
namespace {

// Below this many elements one thread is faster than waking the OpenMP team.
constexpr std::int64_t kParallelMin = 1 << 15;

float widen(std::uint16_t b) { return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16); }
std::uint16_t bf16_round(float x) {
  std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // nearest, ties to even
  return static_cast<std::uint16_t>(u >> 16);
}

float apply(BinOp op, float a, float b) { return op == BinOp::kAdd ? a + b : a * b; }
float silu(float v) { return v / (1.0f + std::exp(-v)); }

}  // namespace

void binary_scalar(BinOp op, DType dtype, const void* a, const void* b, void* out, std::int64_t n) {
  if (dtype == DType::kF32) {
    const auto* x = static_cast<const float*>(a);
    const auto* y = static_cast<const float*>(b);
    auto* o = static_cast<float*>(out);
#pragma omp parallel for if (n > kParallelMin)
    for (std::int64_t i = 0; i < n; ++i) o[i] = apply(op, x[i], y[i]);
    return;
  }
  const auto* x = static_cast<const std::uint16_t*>(a);
  const auto* y = static_cast<const std::uint16_t*>(b);
  auto* o = static_cast<std::uint16_t*>(out);
#pragma omp parallel for if (n > kParallelMin)
  for (std::int64_t i = 0; i < n; ++i) o[i] = bf16_round(apply(op, widen(x[i]), widen(y[i])));
}

void unary_scalar(UnaryOp op, DType dtype, const void* x, void* out, std::int64_t n) {
  (void)op;  // kSilu is the only one so far
  if (dtype == DType::kF32) {
    const auto* in = static_cast<const float*>(x);
    auto* o = static_cast<float*>(out);
#pragma omp parallel for if (n > kParallelMin)
    for (std::int64_t i = 0; i < n; ++i) o[i] = silu(in[i]);
    return;
  }
  const auto* in = static_cast<const std::uint16_t*>(x);
  auto* o = static_cast<std::uint16_t*>(out);
#pragma omp parallel for if (n > kParallelMin)
  for (std::int64_t i = 0; i < n; ++i) o[i] = bf16_round(silu(widen(in[i])));
}

void silu_and_mul_scalar(DType dtype, const void* x, void* out, std::int64_t rows, std::int64_t d) {
  if (dtype == DType::kF32) {
    const auto* in = static_cast<const float*>(x);
    auto* o = static_cast<float*>(out);
#pragma omp parallel for if (rows * d > kParallelMin)
    for (std::int64_t m = 0; m < rows; ++m)
      for (std::int64_t i = 0; i < d; ++i) o[m * d + i] = silu(in[m * 2 * d + i]) * in[m * 2 * d + d + i];
    return;
  }
  const auto* in = static_cast<const std::uint16_t*>(x);
  auto* o = static_cast<std::uint16_t*>(out);
#pragma omp parallel for if (rows * d > kParallelMin)
  for (std::int64_t m = 0; m < rows; ++m) {
    const std::uint16_t* row = in + m * 2 * d;
    for (std::int64_t i = 0; i < d; ++i) {
      const float s = widen(bf16_round(silu(widen(row[i]))));  // OPS.md 11.4: silu rounds first
      o[m * d + i] = bf16_round(s * widen(row[d + i]));
    }
  }
}

}  // namespace symtrace::ops::ewk
