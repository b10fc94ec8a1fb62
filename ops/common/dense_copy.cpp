#include "ops/common/dense_copy.hpp"

namespace symtrace::ops {

TensorMeta preserve_format_meta(const sym::ShapeEnv& env, const TensorMeta& x, DType dtype) {
  TensorMeta out = is_dense(env, x) ? x : TensorMeta::contiguous(x.sizes, x.dtype, x.device);
  out.storage_offset = 0;
  out.dtype = dtype;
  out.layout = x.layout;
  out.scale_fmt = x.scale_fmt;
  return out;
}

tensor::Tensor preserve_format_output(const tensor::Tensor& x, DType dtype, op::KernelContext& cx) {
  const sym::ShapeEnv env;
  // Ask for x's sizes: an executor's allocator hands out the slice its plan laid out from the
  // fake (already in x's strides) and refuses any other shape.
  tensor::Tensor out = cx.alloc.output(0, x.sizes(), dtype);
  if (!is_dense(env, x.meta()) || out.strides() == x.strides()) return out;
  // A fresh row-major buffer: dense strides address exactly its numel elements.
  return out.as_strided(x.sizes(), x.strides(), 0);
}

}  // namespace symtrace::ops
