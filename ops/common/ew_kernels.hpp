// ops/common/ew_kernels — the fast elementwise kernels over contiguous f32 / bf16 buffers,
// one AVX-512 build and one scalar build of each (the variants of add, mul, silu, silu_and_mul).
// Plain functions, no inline code: ISA-flagged translation units share nothing with baseline
// ones but these declarations.
//
// Rounding: every kernel computes in f32 and rounds once to the output dtype (bf16: nearest
// even, NaN stays NaN), as PyTorch's CPU kernels do. For add and mul of two f32 or two bf16
// values that equals the f64 reference exactly (the f32 sum / product of bf16 values is exact
// or below bf16's rounding point), so opcheck compares them with zero tolerance.
#pragma once

#include <cstdint>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::ewk {

using tensor::DType;

enum class BinOp : std::uint8_t { kAdd, kMul };

// out[i] = a[i] op b[i], i < n; dtype f32 or bf16 for all three.
void binary_scalar(BinOp op, DType dtype, const void* a, const void* b, void* out, std::int64_t n);
void binary_avx512(BinOp op, DType dtype, const void* a, const void* b, void* out, std::int64_t n);

// out[i] = round(silu(x[i])), i < n; dtype f32 or bf16 for both.
enum class UnaryOp : std::uint8_t { kSilu };
void unary_scalar(UnaryOp op, DType dtype, const void* x, void* out, std::int64_t n);
void unary_avx512(UnaryOp op, DType dtype, const void* x, void* out, std::int64_t n);

// out[m, i] = round(round(silu(x[m, i])) * x[m, d + i]) for m < rows, i < d; x rows are 2d
// long, out rows d long, both contiguous; dtype f32 or bf16.
void silu_and_mul_scalar(DType dtype, const void* x, void* out, std::int64_t rows, std::int64_t d);
void silu_and_mul_avx512(DType dtype, const void* x, void* out, std::int64_t rows, std::int64_t d);

}  // namespace symtrace::ops::ewk
