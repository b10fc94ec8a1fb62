// Internal to ops/softmax: one row of softmax per instruction set.
#pragma once

#include <cstdint>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::softmax_detail {

// y[0:n] = softmax(x[0:n]) (log_softmax when log); tmp holds n floats of scratch.
using RowFn = void (*)(const void* x, tensor::DType xt, void* y, tensor::DType yt, std::int64_t n,
                       bool log, float* tmp);
void row_scalar(const void* x, tensor::DType xt, void* y, tensor::DType yt, std::int64_t n,
                bool log, float* tmp);
void row_avx2(const void* x, tensor::DType xt, void* y, tensor::DType yt, std::int64_t n, bool log,
              float* tmp);
void row_avx512(const void* x, tensor::DType xt, void* y, tensor::DType yt, std::int64_t n,
                bool log, float* tmp);

}  // namespace symtrace::ops::softmax_detail
