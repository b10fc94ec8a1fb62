// nvfp4_w4a16_moe internals: fake, reference, grouped fast kernel, samples.
#pragma once

#include <symtrace/op/op_def.hpp>

#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops::fp4_moe {

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
void reference_experts(const op::Args& a, tensor::Tensor& out);
void run_experts(const op::Args& a, tensor::Tensor& out, op::KernelContext& cx,
                 nvfp4::Fp4Block block);
std::vector<op::Sample> samples(std::uint64_t seed);

}  // namespace symtrace::ops::fp4_moe
