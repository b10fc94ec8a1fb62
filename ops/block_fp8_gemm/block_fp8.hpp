// block_fp8_gemm internals (op.cpp, ref.cpp, cpu.cpp, prepare.cpp).
#pragma once

#include <symtrace/op/op_def.hpp>

#include "ops/common/gemm_op.hpp"

namespace symtrace::ops::block_fp8_gemm {

using tensor::Tensor;

// The call's settings after defaults: block [bn, bk], act_quant, output dtype.
struct Config {
  std::int64_t bn = 128, bk = 128;
  bool quantize_act = true;  // act_quant == "group"
  DType out = DType::kBF16;
};
Config config(const op::Args& a);

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
// `pow2_act`: activation group scales rounded up to powers of two (the deepgemm_like model).
gemm_op::RefResult ref_result(const op::Args& a, bool pow2_act);
op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa, bool pow2_act);

// deepgemm_like's prepare: f32 block scales -> powers of two (UE8M0 values, kept as f32 —
// the Hopper model "f32_pow2"), with the weight requantized block by block (OPS.md §2.1).
op::Prepare prepare_requant_ue8m0();
inline constexpr float kRequantAmaxFloor = 1e-4f;  // vLLM's floor on the block amax

}  // namespace symtrace::ops::block_fp8_gemm
