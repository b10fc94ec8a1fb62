// linear_w16 internals (op.cpp, ref.cpp, cpu.cpp, gemv*.cpp).
//
//   y[m, n] = sum_k x[m, k] * float(w[n, k]) + bias[n]        x, bias, y f32; w bf16 or f16
//
// bf16/f16 -> f32 is exact, so this is linear on a weight converted to f32 first; only the
// summation order differs. Decode (M <= kGemvMaxM) streams each weight row once for all M
// rows (gemv*.cpp); larger M runs linear's blocked f32 GEMM on L2-sized slabs of the weight
// widened once per call (cpu.cpp).
#pragma once

#include <cstdint>

#include <symtrace/op/op_def.hpp>

namespace symtrace::ops::linear_w16 {

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
// OPS.md 15.7 against the reference: (K + 2)·2^-24·(Σ|x·w| + |bias|) plus one f32 ulp.
std::string compare(const op::Args& in, std::size_t, const tensor::Tensor& got,
                    const tensor::Tensor& ref);
op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa);

// Up to this many rows the GEMV is at least as fast as the slab GEMM here (measured crossover
// in docs/nn-ops.md).
inline constexpr std::int64_t kGemvMaxM = 16;

struct Gemv {
  std::int64_t M = 0, N = 0, K = 0;
  const float* x = nullptr;  // [M, K], row m at x + m*ldx
  std::int64_t ldx = 0;
  const std::uint16_t* w = nullptr;  // [N, K] bf16 or f16 bits, row n at w + n*ldw
  std::int64_t ldw = 0;
  bool f16 = false;             // w holds f16 (else bf16)
  const float* bias = nullptr;  // [N] contiguous, or null
  float* y = nullptr;           // [M, N], row m at y + m*ldy
  std::int64_t ldy = 0;
};

// Runs the kernel of `isa` (kAvx512, kAvx2 or kNone; the caller checked cpu_supports).
// Requires 1 <= M <= kGemvMaxM. `threads` = 0: OpenMP's default. Every output element is
// summed by one thread in a fixed order, so results do not depend on the thread count.
void gemv(const Gemv& g, tensor::Isa isa, int threads);

namespace detail {
void gemv_avx512(const Gemv& g, int threads);
void gemv_avx2(const Gemv& g, int threads);
void gemv_scalar(const Gemv& g, int threads);
}  // namespace detail

}  // namespace symtrace::ops::linear_w16
