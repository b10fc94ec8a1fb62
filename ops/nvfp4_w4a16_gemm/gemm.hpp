// nvfp4_w4a16_gemm internals: the fake, the reference, and the blocked driver shared with
// nvfp4_w4a16_moe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops::nvfp4 {

op::Outputs gemm_fake(const op::Args& a, op::FakeContext& cx);
op::Outputs gemm_reference(const op::Args& a, op::KernelContext& cx);
op::Outputs gemm_run(const op::Args& a, op::KernelContext& cx, Fp4Block block);

// y[m * ldy + n] = sum_k x[m * ldx + k] * w(n, k) (f32 accumulation) for m < M, n < N, on
// the calling thread (the callers parallelize). `scratch` holds scratch_floats(M) floats.
inline constexpr std::int64_t kBlockM = 64;
std::size_t scratch_floats();
void matmul(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
            const Fp4Rows& w, float* y, std::int64_t ldy, float* scratch, Fp4Block block);

}  // namespace symtrace::ops::nvfp4
