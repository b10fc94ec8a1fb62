// int8_moe_experts internals: the fake (shared with int8_fused_moe), the reference, and the
// grouped fast kernel over one ISA's int8 GEMM tile (OPS.md §9.3, §15.5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <symtrace/op/op_def.hpp>

#include "ops/common/quant.hpp"

namespace symtrace::ops::int8_moe {

using tensor::DType;

// Dims bound by the fake: E experts, H hidden, I intermediate, k routes per token.
struct Dims {
  SymInt E, H, I, k;
};
// Checks x, w13/w13_scale, w2/w2_scale, topk_w/topk_ids (when given), act, biases, expert_map
// (constraints C1-C7 of int8_moe_experts) and returns the bound dims.
Dims check(const op::Args& a, op::FakeContext& cx, const TensorMeta* topk_w,
           const TensorMeta* topk_ids);

op::Outputs fake(const op::Args& a, op::FakeContext& cx);

// The experts given routes (ids [M, k] i32, w [M, k] f32, both row-major). `a` holds x,
// the weights, act, biases and expert_map under their schema names.
struct Routes {
  const float* w;
  const std::int32_t* ids;
  std::int64_t M, k;
};
void reference_experts(const op::Args& a, const Routes& r, tensor::Tensor& out);

// out[m * ldo + n] = sum_c a[m * lda + c] * b[n * ldb + c] exactly (int32), m < M <= 16.
using Int8Tile = void (*)(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a,
                          std::int64_t lda, const std::int8_t* b, std::int64_t ldb,
                          std::int32_t* out, std::int64_t ldo);
inline constexpr std::int64_t kTileMaxM = 16;
void tile_scalar(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a,
                 std::int64_t lda, const std::int8_t* b, std::int64_t ldb, std::int32_t* out,
                 std::int64_t ldo);
void tile_avx2(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a,
               std::int64_t lda, const std::int8_t* b, std::int64_t ldb, std::int32_t* out,
               std::int64_t ldo);
void tile_avx512_vnni(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a,
                      std::int64_t lda, const std::int8_t* b, std::int64_t ldb, std::int32_t* out,
                      std::int64_t ldo);

// Workspace bytes and the grouped kernel: routes sorted by expert, tokens quantized once,
// per-expert GEMMs on `tile`, OpenMP over (expert, row chunk) work items. Nothing allocates:
// every buffer is carved from `ws` (experts_workspace bytes).
std::size_t experts_workspace(const op::Args& a, std::int64_t M, std::int64_t k, int threads);
void run_experts(const op::Args& a, const Routes& r, tensor::Tensor& out, std::span<std::byte> ws,
                 int threads, Int8Tile tile);

}  // namespace symtrace::ops::int8_moe
