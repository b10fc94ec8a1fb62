// int8_gemm internals shared with int8_linear (quantize + int8_gemm).
#pragma once

#include <symtrace/op/op_def.hpp>

#include "ops/common/gemm_op.hpp"

namespace symtrace::ops::int8_gemm {

using tensor::Tensor;

// One W8A8 int8 GEMM on raw operands (OPS.md §8):
//   out[m, n] = sa[m] * sb[n] * (sum_k a[m, k] * b[n, k] - z[m] * colsum(b)[n]) + bias[n]
struct Call {
  const std::int8_t* a = nullptr;
  std::int64_t lda = 0, M = 0, K = 0;
  const Tensor* b = nullptr;  // i8 [N, K], stride(1) == 1
  gemm_op::Affine epi;        // sa, sb, z, out (colsum and bias are filled in by compute)
  const Tensor* bias = nullptr;
};
void compute(Call c, tensor::Isa isa, op::KernelContext& cx);

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
gemm_op::RefResult ref_result(const op::Args& a);
op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa);

// Largest K whose int32 accumulation is exact: vpdpbusd adds 4 products of u8 (b + 128)
// and s8 per lane (<= 4 * 255 * 128 each step), s16 pairs at most 2 * 2^14.
inline constexpr std::int64_t kMaxKVnni = 65535;
inline constexpr std::int64_t kMaxKS16 = 131072;

}  // namespace symtrace::ops::int8_gemm
