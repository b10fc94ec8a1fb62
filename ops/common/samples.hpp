// ops/common/samples — inputs for opcheck samples: seeded random tensors in several layouts.
//
//   for (const Shape& lead : leading_shapes())          // [], [7], [3,5], [2,1,3]
//     s.push_back({label("lead", lead), {random(append(lead, 130), DType::kBF16, seed)}});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <symtrace/op/op_def.hpp>

namespace symtrace::ops::samples {

using tensor::DType;
using tensor::Shape;
using tensor::Tensor;

// Leading dims of ranks 0..3 with sizes 1, primes and a non-multiple of any block.
std::vector<Shape> leading_shapes();
Shape append(Shape lead, std::int64_t last);
Shape concat(Shape a, const Shape& b);

// Contiguous, uniform in [lo, hi) (integers: rounded; bool: 0/1).
Tensor random(const Shape& sizes, DType dtype, std::uint64_t seed, float lo = -2.f, float hi = 2.f);

// Same logical sizes and values kind, in other layouts (all share no storage with others):
enum class Layout : std::uint8_t {
  kContiguous,
  kTransposed,  // storage is the last two dims swapped (rank >= 2)
  kStrided,     // every other element of a wider tensor along the last dim, offset 1
  kExpanded,    // dim 0 broadcast with stride 0 (rank >= 1)
};
Tensor random_layout(const Shape& sizes, DType dtype, std::uint64_t seed, Layout layout,
                     float lo = -2.f, float hi = 2.f);
std::string_view layout_name(Layout l);

// "lead_2x3", "rank0", ...: sample labels from sizes.
std::string label(std::string_view prefix, const Shape& s);

}  // namespace symtrace::ops::samples
