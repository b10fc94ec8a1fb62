// opcheck samples of nvfp4_w4a16_gemm, and the seeded NVFP4 weights the tests and the MoE
// op share.
#include <symtrace/op/op_def.hpp>

#include "ops/nvfp4_w4a16_gemm/testdata.hpp"

namespace symtrace::ops::nvfp4 {

using tensor::DType;
using tensor::Tensor;

Fp4Weight make_weight(tensor::Shape lead, std::int64_t N, std::int64_t K, std::uint64_t seed) {
  tensor::Shape q = lead, s = lead;
  q.insert(q.end(), {N, K / 2});
  s.insert(s.end(), {N, K / kBlock});
  Fp4Weight w{Tensor::empty(q, DType::kU8), Tensor::empty(s, DType::kF32)};
  w.packed.fill_random(seed, 0.f, 255.f);
  // Positive block scales of a realistic range (e4m3 normal values), then cast exactly.
  w.scale.fill_random(seed + 1, 0.02f, 30.f);
  w.scale = w.scale.to(DType::kF8E4M3FN);
  return w;
}

std::vector<op::Sample> gemm_samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t N, K;
    DType dtype;
    bool bias;
  };
  const std::vector<Case> cases = {
      {"lead0_N7_K16", {}, 7, 16, DType::kBF16, false},
      {"M1_N33_K1040", {1}, 33, 1040, DType::kBF16, true},
      {"M5_N17_K48", {5}, 17, 48, DType::kF16, true},
      {"B2_S3_N20_K64", {2, 3}, 20, 64, DType::kF32, false},
      {"B1_T2_S3_N9_K32", {1, 2, 3}, 9, 32, DType::kBF16, true},
      {"M67_N18_K80", {67}, 18, 80, DType::kBF16, false},
      {"M0_N4_K16", {0}, 4, 16, DType::kBF16, false},
  };
  std::uint64_t s = seed * 100;
  for (const Case& c : cases) {
    const Fp4Weight w = make_weight({}, c.N, c.K, ++s);
    tensor::Shape xs = c.lead;
    xs.push_back(c.K);
    Tensor x = Tensor::empty(xs, c.dtype);
    x.fill_random(++s, -1.f, 1.f);
    op::Value bias = op::None{};
    if (c.bias) {
      Tensor b = Tensor::empty({c.N}, c.dtype);
      b.fill_random(++s, -1.f, 1.f);
      bias = b;
    }
    out.push_back({c.label,
                   {x, w.packed, w.scale, Tensor::from_f32({1}, std::vector<float>{0.0173f}), bias},
                   false});
  }
  const Fp4Weight w = make_weight({}, 8, 32, 5);
  const Tensor g = Tensor::from_f32({1}, std::vector<float>{1.f});
  out.push_back({"C1_K_not_16",
                 {Tensor::zeros({2, 24}, DType::kBF16), w.packed, w.scale, g, op::None{}},
                 true});
  out.push_back(
      {"C3_f32_scale",
       {Tensor::zeros({2, 32}, DType::kBF16), w.packed, w.scale.to(DType::kF32), g, op::None{}},
       true});
  return out;
}

}  // namespace symtrace::ops::nvfp4
