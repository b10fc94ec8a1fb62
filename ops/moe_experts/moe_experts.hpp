// Internal to ops/moe_experts: the routes of a call and the reference / grouped kernels.
#pragma once

#include <cstdint>
#include <span>

#include <symtrace/op/op_def.hpp>
#include <symtrace/tensor/tensor.hpp>

namespace symtrace::ops::moe_experts {

// Routes as flat [M, k] arrays (topk_w f32, topk_ids i32).
struct Routes {
  const float* w;
  const std::int32_t* ids;
  std::int64_t M, k;
};

// Token by token, route by route, f64 sums of the exact operands (ref.cpp).
void reference_experts(const op::Args& a, const Routes& r, tensor::Tensor& out);

// Routes grouped by expert, f32 GEMMs on each expert's gathered rows (cpu.cpp).
std::size_t grouped_workspace(const op::Args& a, std::int64_t M, std::int64_t k, int threads);
void run_grouped(const op::Args& a, const Routes& r, tensor::Tensor& out, std::span<std::byte> ws, int threads,
                 tensor::Isa isa);

}  // namespace symtrace::ops::moe_experts
