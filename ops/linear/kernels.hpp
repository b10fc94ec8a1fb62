// Plain C++ GEMM entry points shared by linear, matmul, attention, the quantized ops and the
// executor. No tensors here: pointers, sizes and row strides.
//
//   // y[M, N] = x[M, K] · w[N, K]^T + b[N], f32 accumulation, one rounding to y's dtype
//   ops::kernels::linear_f32(x, w, b, y, M, N, K, /*ldx=*/K, /*ldw=*/K, /*ldy=*/N);
//
// Every entry point picks the best instruction set allowed at run time (tensor::best_isa,
// which honours SYMTRACE_ISA); gemm_nt takes the ISA explicitly so each variant and test can
// pin one path. Threads: OpenMP over blocks of N (and M), deterministic for any thread count
// (every output element is computed by one thread with the same summation order).
#pragma once

#include <cstdint>

#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::kernels {

using tensor::DType;
using tensor::Isa;

// A matrix whose rows are contiguous along K: element (r, k) at data[r * ld + k].
struct RowsK {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  std::int64_t ld = 0;
};

// The GEMM behind linear: y[m, n] = sum_k x[m, k] · w[n, k] + bias[n].
// x and w: f32, bf16 or f16 (both the same dtype); bias: nullptr, or bias_dtype in the same
// set; y: f32, bf16 or f16 with row stride ldy. M, N, K >= 0 (K = 0 gives bias or 0).
// The sum runs in f32 (bf16 pairs through vdpbf16ps on avx512_bf16), rounded once at the store.
void gemm_nt(std::int64_t M, std::int64_t N, std::int64_t K, RowsK x, RowsK w, const void* bias,
             DType bias_dtype, void* y, DType y_dtype, std::int64_t ldy, Isa isa);

// gemm_nt on a path already resolved by gemm_nt_path (no run-time checks: for callers that
// issue many small GEMMs, such as attention, and resolve the path once).
void gemm_nt_on_path(std::int64_t M, std::int64_t N, std::int64_t K, RowsK x, RowsK w,
                     const void* bias, DType bias_dtype, void* y, DType y_dtype, std::int64_t ldy,
                     Isa path);

// The kernel family gemm_nt runs for (dtype, isa): "avx512_bf16", "avx512", "avx2" or
// "scalar" (a portable blocked loop). Lets tests and benchmarks name the path they measure.
Isa gemm_nt_path(DType dtype, Isa isa);

void linear_f32(const float* x, const float* w, const float* bias, float* y, std::int64_t M,
                std::int64_t N, std::int64_t K, std::int64_t ldx, std::int64_t ldw,
                std::int64_t ldy);
// bf16 / f16 are passed as their 16-bit patterns.
void linear_bf16(const std::uint16_t* x, const std::uint16_t* w, const std::uint16_t* bias,
                 std::uint16_t* y, std::int64_t M, std::int64_t N, std::int64_t K,
                 std::int64_t ldx, std::int64_t ldw, std::int64_t ldy);
void linear_f16(const std::uint16_t* x, const std::uint16_t* w, const std::uint16_t* bias,
                std::uint16_t* y, std::int64_t M, std::int64_t N, std::int64_t K, std::int64_t ldx,
                std::int64_t ldw, std::int64_t ldy);

}  // namespace symtrace::ops::kernels
