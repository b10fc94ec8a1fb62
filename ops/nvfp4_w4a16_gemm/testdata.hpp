// Seeded NVFP4 weights for opcheck samples, tests and benchmarks.
#pragma once

#include <cstdint>
#include <vector>

#include <symtrace/op/op_def.hpp>
#include <symtrace/tensor/tensor.hpp>

#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops::nvfp4 {

struct Fp4Weight {
  tensor::Tensor packed;  // u8 lead + [N, K/2], random codes (both nibbles)
  tensor::Tensor scale;   // f8_e4m3fn lead + [N, K/16], positive
};
Fp4Weight make_weight(tensor::Shape lead, std::int64_t N, std::int64_t K, std::uint64_t seed);

std::vector<op::Sample> gemm_samples(std::uint64_t seed);

}  // namespace symtrace::ops::nvfp4
