// ops/common/view_rules — the shape algebra of view/reshape/flatten/unflatten, symbolic.
//
//   SymShape shape = infer_size(cx, "shape", a.sym_ints("shape"), x.numel());  // -1 filled in
//   if (auto st = view_strides(cx.env, x, shape)) ...  // viewable: the view's strides
//
// view_strides is PyTorch's computeStride (aten/src/ATen/TensorUtils.cpp): walk the input
// from the innermost dim, split it into chunks of mutually contiguous dims, and require every
// chunk to be exactly covered by consecutive dims of the new shape. With symbols every
// comparison is decided by the ShapeEnv; where it is unknown the walk takes the stricter
// branch (a chunk boundary that may not exist) and only the final "the chunk is covered"
// equalities become guards, so the answer is never wrong for any binding.
#pragma once

#include <optional>
#include <string_view>

#include "ops/common/fake_util.hpp"

namespace symtrace::ops {

// Replaces a -1 in `shape` by numel / prod(others) and checks that the shape holds exactly
// numel elements. Errors (code "view", argument `argument`) follow PyTorch's wording.
SymShape infer_size(const op::FakeContext& cx, std::string_view argument,
                    const std::vector<SymInt>& shape, const SymInt& numel,
                    std::string_view constraint = {});

// The strides of x viewed as `shape` (same numel), or nullopt when no view exists. guard:
// an undecided "chunk covered" equality becomes a guard (view); otherwise it counts as not
// viewable (reshape, which then copies: values are the same either way).
std::optional<SymShape> view_strides(sym::ShapeEnv& env, const TensorMeta& x, const SymShape& shape,
                                     bool guard = true);

// view(x, shape) as a meta, or nullopt when not viewable (callers raise or copy).
std::optional<TensorMeta> view_meta(sym::ShapeEnv& env, const TensorMeta& x, const SymShape& shape,
                                    bool guard = true);

// reshape: the view when one is proven to exist, else a fresh contiguous tensor.
TensorMeta reshape_meta(sym::ShapeEnv& env, const TensorMeta& x, const SymShape& shape);

// Concrete -1 inference for reference kernels: same rules, plain integers.
tensor::Shape infer_size(std::string_view op, std::vector<std::int64_t> shape, std::int64_t numel);

// The "not viewable" error of view().
[[noreturn]] void raise_not_viewable(std::string_view op, const TensorMeta& x, const SymShape& shape,
                                     std::string_view constraint = {});

}  // namespace symtrace::ops
