// Internal to ops/rms_norm: one row per instruction set.
#pragma once

#include <cstdint>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::rms_detail {

// One row. With residual != nullptr the row is first r = round(x + residual), stored to
// residual_out, and normalized.
struct Row {
  const void* x;
  const void* residual;
  void* residual_out;
  const void* w;
  void* y;
  std::int64_t H;
  float eps;
  tensor::DType dtype;
};
using RowFn = void (*)(const Row&);
void row_scalar(const Row& r);
void row_avx2(const Row& r);
void row_avx512(const Row& r);

}  // namespace symtrace::ops::rms_detail
