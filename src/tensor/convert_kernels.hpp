// Private: vectorised conversion kernels, one table per instruction set. A kernel converts
// a contiguous run of any length (tails included) and equals the scalar conversion.
#pragma once

#include <cstddef>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::tensor::detail {

using ConvertFn = void (*)(const void* src, void* dst, std::size_t n);

// The kernel for (src, dst, r), or nullptr when that instruction set has none. Only call
// after cpu_supports() said yes: these live in files compiled for that ISA.
ConvertFn find_convert_avx512(DType src, DType dst, Rounding r);
ConvertFn find_convert_avx2(DType src, DType dst, Rounding r);
// Baseline loops over the scalar definitions (convert_scalar.cpp), for any CPU.
ConvertFn find_convert_scalar(DType src, DType dst, Rounding r);

// The per-element rule itself, no kernels: the reference every path is tested against.
void convert_elementwise(const void* src, DType src_type, void* dst, DType dst_type,
                         std::size_t n, Rounding r);

}  // namespace symtrace::tensor::detail
