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
  if (!is_dense(env, x.meta())) return cx.alloc.output(0, x.sizes(), dtype);
  // Dense strides address exactly numel elements: a flat buffer viewed with x's strides.
  return cx.alloc.output(0, {x.numel()}, dtype).as_strided(x.sizes(), x.strides(), 0);
}

}  // namespace symtrace::ops
