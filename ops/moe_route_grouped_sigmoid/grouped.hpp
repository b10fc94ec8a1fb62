// moe_route_grouped_sigmoid internals (OPS.md §9.2, DeepSeek-V3 routing).
#pragma once

#include <cmath>
#include <cstdint>

#include <symtrace/op/op_def.hpp>

namespace symtrace::ops::moe_route_grouped_sigmoid {

// The selection score of expert i, defined in f32 so that every kernel ranks the experts
// identically: s = sigmoid(logit) evaluated in f64 and rounded once to f32, c = s + bias (f32).
inline float sigmoid_f32(float logit) {
  return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logit))));
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
op::Outputs run(const op::Args& a, op::KernelContext& cx);

}  // namespace symtrace::ops::moe_route_grouped_sigmoid
