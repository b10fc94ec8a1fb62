// Plain C++ entry point of the softmax kernels, for the executor and other ops (MoE routing).
//
//   // y[r, :] = softmax(x[r, :]) over n contiguous elements of each of `rows` rows
//   ops::kernels::softmax_rows(rows, n, x, DType::kBF16, ldx, y, DType::kF32, ldy, false, isa);
//
// f32 arithmetic (max, exp, sum), one rounding at the store; log = true gives log_softmax
// ((x − max) − log Σ exp(x − max)). OpenMP over rows.
#pragma once

#include <cstdint>

#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::kernels {

void softmax_rows(std::int64_t rows, std::int64_t n, const void* x, tensor::DType x_dtype,
                  std::int64_t ldx, void* y, tensor::DType y_dtype, std::int64_t ldy, bool log,
                  tensor::Isa isa);

}  // namespace symtrace::ops::kernels
