// fp8_gemm internals (op.cpp, ref.cpp, cpu.cpp).
#pragma once

#include <symtrace/op/op_def.hpp>

#include "ops/common/gemm_op.hpp"

namespace symtrace::ops::fp8_gemm {

using tensor::Tensor;

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
gemm_op::RefResult ref_result(const op::Args& a);
op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa);

}  // namespace symtrace::ops::fp8_gemm
