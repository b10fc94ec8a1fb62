#include "ops/int8_moe_experts/testdata.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace symtrace::ops::moe {

using tensor::DType;
using tensor::Tensor;

Int8Weights make_int8_weights(std::int64_t E, std::int64_t H, std::int64_t I, std::uint64_t seed,
                              bool per_channel) {
  Int8Weights w;
  w.w13 = Tensor::empty({E, 2 * I, H}, DType::kI8);
  w.w13.fill_random(seed, -127.f, 127.f);
  w.w2 = Tensor::empty({E, H, I}, DType::kI8);
  w.w2.fill_random(seed + 1, -127.f, 127.f);
  w.w13_scale =
      per_channel ? Tensor::empty({E, 2 * I, 1}, DType::kF32) : Tensor::empty({E}, DType::kF32);
  w.w13_scale.fill_random(seed + 2, 0.002f, 0.02f);
  w.w2_scale =
      per_channel ? Tensor::empty({E, H, 1}, DType::kF32) : Tensor::empty({E}, DType::kF32);
  w.w2_scale.fill_random(seed + 3, 0.002f, 0.02f);
  w.w13_bias = Tensor::empty({E, 2 * I}, DType::kF32);
  w.w13_bias.fill_random(seed + 4, -0.5f, 0.5f);
  w.w2_bias = Tensor::empty({E, H}, DType::kF32);
  w.w2_bias.fill_random(seed + 5, -0.5f, 0.5f);
  return w;
}

Routes make_routes(const tensor::Shape& lead, std::int64_t E, std::int64_t k, std::uint64_t seed) {
  std::int64_t M = 1;
  for (std::int64_t d : lead) M *= d;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.05f, 1.f);
  std::vector<float> ids(static_cast<std::size_t>(M * k)), w(ids.size());
  std::vector<std::int64_t> all(static_cast<std::size_t>(E));
  std::iota(all.begin(), all.end(), 0);
  for (std::int64_t t = 0; t < M; ++t) {
    std::shuffle(all.begin(), all.end(), rng);
    float sum = 0.f;
    for (std::int64_t j = 0; j < k; ++j) sum += w[t * k + j] = u(rng);
    for (std::int64_t j = 0; j < k; ++j) {
      ids[t * k + j] = static_cast<float>(all[j]);
      w[t * k + j] /= sum;
    }
  }
  tensor::Shape shape = lead;
  shape.push_back(k);
  return {Tensor::from_f32(shape, w), Tensor::from_f32(shape, ids, DType::kI32)};
}

}  // namespace symtrace::ops::moe
