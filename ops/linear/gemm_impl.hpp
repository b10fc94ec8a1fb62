// Internal to the GEMM kernels: the problem description the driver (gemm.cpp) hands to the
// per-ISA block kernels (cpu_avx2_gemm.cpp, cpu_avx512_gemm.cpp).
#pragma once

#include <cstdint>

#include "ops/linear/elem.hpp"

namespace symtrace::ops::kernels::detail {

using tensor::DType;

// y[m, n] = sum_k x[m, k] · w[n, k] + bias[n], rows of x and w contiguous along K.
struct GemmNt {
  std::int64_t M = 0, N = 0, K = 0;
  const void* x = nullptr;
  std::int64_t ldx = 0;
  const void* w = nullptr;
  std::int64_t ldw = 0;
  DType in = DType::kF32;  // dtype of x and w
  const void* bias = nullptr;
  DType bias_dtype = DType::kF32;
  void* y = nullptr;
  std::int64_t ldy = 0;
  DType out = DType::kF32;
};

inline namespace SYMTRACE_ELEM_ISA {
// The epilogue every path shares: add the bias in f32, round once to the output dtype.
inline void store_out(const GemmNt& p, std::int64_t m, std::int64_t n, float acc) {
  if (p.bias != nullptr) acc += elem::load(p.bias, p.bias_dtype, n);
  elem::store(p.y, p.out, m * p.ldy + n, acc);
}
}  // namespace SYMTRACE_ELEM_ISA

// Computes y[m0:m1, n0:n1] over all of K. Each fills its tiles in a fixed order, so results do
// not depend on how the driver splits the work between threads.
void gemm_nt_block_scalar(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                          std::int64_t n1);
void gemm_nt_block_avx2(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                        std::int64_t n1);
void gemm_nt_block_avx512(const GemmNt& p, std::int64_t m0, std::int64_t m1, std::int64_t n0,
                          std::int64_t n1);
void gemm_nt_block_avx512_bf16(const GemmNt& p, std::int64_t m0, std::int64_t m1,
                               std::int64_t n0, std::int64_t n1);

}  // namespace symtrace::ops::kernels::detail
