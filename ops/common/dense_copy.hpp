// ops/common/dense_copy — the layout of a preserve_format copy (clone, to): self's strides when they are dense,
// row-major otherwise; both sides, so clone and to agree.
#pragma once

#include "ops/common/fake_util.hpp"

namespace symtrace::ops {

TensorMeta preserve_format_meta(const sym::ShapeEnv& env, const TensorMeta& x, DType dtype);
// A fresh output from the allocator with that layout (a dense permutation of a contiguous
// buffer, so the executor's planned arena can serve it).
tensor::Tensor preserve_format_output(const tensor::Tensor& x, DType dtype, op::KernelContext& cx);

}  // namespace symtrace::ops
