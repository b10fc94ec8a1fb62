// fp8_gemm_w8a16 internals (op.cpp, ref.cpp, cpu.cpp, prepare.cpp).
#pragma once

#include <symtrace/op/op_def.hpp>

#include "ops/common/gemm_op.hpp"

namespace symtrace::ops::fp8_gemm_w8a16 {

using tensor::Tensor;

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
gemm_op::RefResult ref_result(const op::Args& a);
// `kn`: the weight was prepared to KN ([K, N], scale [1, N]) by prepare_nk_to_kn.
op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa, bool kn);

// The one step that moves a bundle from NK to KN: weight and per-channel scale together,
// layout tag set on both (OPS.md §6). A bundle already tagged KN is an error, not a no-op.
op::Prepare prepare_nk_to_kn();

}  // namespace symtrace::ops::fp8_gemm_w8a16
