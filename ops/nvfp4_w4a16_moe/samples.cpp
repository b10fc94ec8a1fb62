// opcheck samples of nvfp4_w4a16_moe: leading ranks 0-3, shared and split w13 global
// scales, busy experts (more than one 64-row block), M = 0, rejected layouts.
#include <symtrace/op/op_def.hpp>

#include "ops/int8_moe_experts/testdata.hpp"
#include "ops/nvfp4_w4a16_gemm/testdata.hpp"
#include "ops/nvfp4_w4a16_moe/fp4_moe.hpp"

namespace symtrace::ops::fp4_moe {

using tensor::DType;
using tensor::Tensor;

std::vector<op::Sample> samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t E, H, I, k;
    bool split_global;
    DType dtype;
  };
  const std::vector<Case> cases = {
      {"lead0_E3_H32_I16", {}, 3, 32, 16, 2, false, DType::kBF16},
      {"M5_E4_H48_I32_split", {5}, 4, 48, 32, 2, true, DType::kF32},
      {"B2_S3_E5_H64_I16", {2, 3}, 5, 64, 16, 3, false, DType::kF16},
      {"B1_T2_S2_E2_H16_I16", {1, 2, 2}, 2, 16, 16, 2, true, DType::kBF16},
      {"M70_E2_H32_I16_busy", {70}, 2, 32, 16, 2, false, DType::kBF16},
      {"M0_E2_H16_I16", {0}, 2, 16, 16, 1, false, DType::kBF16},
  };
  std::uint64_t s = seed * 1000 + 700;
  for (const Case& c : cases) {
    const nvfp4::Fp4Weight w13 = nvfp4::make_weight({c.E}, 2 * c.I, c.H, ++s);
    const nvfp4::Fp4Weight w2 = nvfp4::make_weight({c.E}, c.H, c.I, ++s);
    Tensor g13 =
        c.split_global ? Tensor::empty({c.E, 2}, DType::kF32) : Tensor::empty({c.E}, DType::kF32);
    g13.fill_random(++s, 0.01f, 0.03f);
    Tensor g2 = Tensor::empty({c.E}, DType::kF32);
    g2.fill_random(++s, 0.01f, 0.03f);
    const moe::Routes r = moe::make_routes(c.lead, c.E, c.k, ++s);
    tensor::Shape xs = c.lead;
    xs.push_back(c.H);
    Tensor x = Tensor::empty(xs, c.dtype);
    x.fill_random(++s, -1.f, 1.f);
    out.push_back({c.label,
                   {x, w13.packed, w13.scale, g13, w2.packed, w2.scale, g2, r.topk_w, r.topk_ids},
                   false});
  }
  const nvfp4::Fp4Weight w13 = nvfp4::make_weight({2}, 32, 32, 1),
                         w2 = nvfp4::make_weight({2}, 32, 16, 2);
  const Tensor g = Tensor::from_f32({2}, std::vector<float>{1.f, 1.f});
  const moe::Routes r = moe::make_routes({3}, 2, 1, 3);
  const Tensor x = Tensor::zeros({3, 32}, DType::kBF16);
  out.push_back(
      {"C4_f32_scales",
       {x, w13.packed, w13.scale.to(DType::kF32), g, w2.packed, w2.scale, g, r.topk_w, r.topk_ids},
       true});
  out.push_back({"C5_global_E_3",
                 {x, w13.packed, w13.scale, Tensor::zeros({2, 3}, DType::kF32), w2.packed, w2.scale,
                  g, r.topk_w, r.topk_ids},
                 true});
  return out;
}

}  // namespace symtrace::ops::fp4_moe
