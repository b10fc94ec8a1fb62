// Internal to ops/scaled_mm: which scale layout a call uses.
#pragma once

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops::scaled_mm_detail {

enum class Scaling {
  kTensorwise,          // one scale each
  kRowwise,             // scale_a [M, 1], scale_b [1, N]
  kBlock1x128x128x128,  // scale_a [M, Kb], scale_b [Kb, cdiv(N, 128)]
  kBlock1x128x1x128,    // scale_a [M, Kb], scale_b [Kb, N]
  kBlock128x128x1x128,  // scale_a [cdiv(M, 128), Kb], scale_b [Kb, N]
  kInvalid,
};

// PyTorch's order of tests (tensorwise, then 2-D rowwise, then the block layouts); a size
// that cannot be proven to match does not match.
Scaling classify(sym::ShapeEnv& env, const SymInt& M, const SymInt& K, const SymInt& N,
                 const TensorMeta& scale_a, const TensorMeta& scale_b);

}  // namespace symtrace::ops::scaled_mm_detail
