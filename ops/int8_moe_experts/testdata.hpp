// Seeded MoE weights and routes for opcheck samples, tests and benchmarks.
#pragma once

#include <cstdint>

#include <symtrace/tensor/tensor.hpp>

namespace symtrace::ops::moe {

struct Int8Weights {
  tensor::Tensor w13, w13_scale, w2, w2_scale, w13_bias, w2_bias;
};
// w13 i8 [E, 2I, H], w2 i8 [E, H, I], scales in [0.002, 0.02) per-channel [E, N, 1] (or
// per-tensor [E]), biases f32 in [-0.5, 0.5) (nonzero, so a bias scaled by the quantization
// scales would show: OPS.md §14 item 17).
Int8Weights make_int8_weights(std::int64_t E, std::int64_t H, std::int64_t I, std::uint64_t seed,
                              bool per_channel = true);

struct Routes {
  tensor::Tensor topk_w, topk_ids;
};
// lead + [k] routes: k distinct ids in [0, E) per token, positive weights summing to 1.
Routes make_routes(const tensor::Shape& lead, std::int64_t E, std::int64_t k, std::uint64_t seed);

}  // namespace symtrace::ops::moe
