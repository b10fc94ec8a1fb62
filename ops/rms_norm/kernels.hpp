// Plain C++ entry points of the RMS norm kernels (OPS.md §11.2), for the executor.
//
//   // y[r, :] = w · round_x(x[r, :] / sqrt(mean(x[r, :]²) + eps)), H contiguous per row
//   ops::kernels::rms_norm_rows(rows, H, x, ldx, w, y, ldy, eps, DType::kBF16, isa);
//
// The sum of squares runs in f32; the normalized value is rounded to the dtype before the
// product with w, and the product rounded again (HF Llama order). x, w, y (and residual) share
// one dtype: f32, bf16 or f16. OpenMP over rows.
#pragma once

#include <cstdint>

#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::kernels {

void rms_norm_rows(std::int64_t rows, std::int64_t H, const void* x, std::int64_t ldx,
                   const void* w, void* y, std::int64_t ldy, float eps, tensor::DType dtype,
                   tensor::Isa isa);

// r = round_x(x + residual) is written to residual_out, then y = rms_norm(r).
void fused_add_rms_norm_rows(std::int64_t rows, std::int64_t H, const void* x, std::int64_t ldx,
                             const void* residual, std::int64_t ldr, const void* w, void* y,
                             std::int64_t ldy, void* residual_out, std::int64_t ldro, float eps,
                             tensor::DType dtype, tensor::Isa isa);

}  // namespace symtrace::ops::kernels
