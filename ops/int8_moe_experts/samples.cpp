// opcheck samples of int8_moe_experts: leading ranks 0-3, ragged H and I, more than 16
// routes per expert, per-channel and per-tensor scales, M = 0, and rejected layouts.
#include <symtrace/op/op_def.hpp>

#include "ops/int8_moe_experts/testdata.hpp"

namespace symtrace::ops {

std::vector<op::Sample> int8_moe_experts_samples(std::uint64_t seed) {
  using tensor::DType;
  using tensor::Tensor;
  std::vector<op::Sample> out;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t E, H, I, k;
    bool per_channel;
    DType dtype;
  };
  const std::vector<Case> cases = {
      {"lead0_E3_H24_I8", {}, 3, 24, 8, 2, true, DType::kBF16},
      {"M5_E4_H37_I19", {5}, 4, 37, 19, 2, true, DType::kF32},
      {"B2_S3_E6_H40_I24_pertensor", {2, 3}, 6, 40, 24, 3, false, DType::kF16},
      {"B1_T2_S2_E2_H16_I16_k2", {1, 2, 2}, 2, 16, 16, 2, true, DType::kBF16},
      {"M40_E3_H33_I17_busy_experts", {40}, 3, 33, 17, 2, true, DType::kBF16},
      {"M0_E3_H16_I8", {0}, 3, 16, 8, 2, true, DType::kBF16},
  };
  std::uint64_t s = seed * 1000;
  for (const Case& c : cases) {
    const moe::Int8Weights w = moe::make_int8_weights(c.E, c.H, c.I, ++s, c.per_channel);
    const moe::Routes r = moe::make_routes(c.lead, c.E, c.k, ++s);
    tensor::Shape xs = c.lead;
    xs.push_back(c.H);
    Tensor x = Tensor::empty(xs, c.dtype);
    x.fill_random(++s, -2.f, 2.f);
    out.push_back(
        {c.label, {x, w.w13, w.w13_scale, w.w2, w.w2_scale, r.topk_w, r.topk_ids}, false});
  }
  // Rejected: the Quark [E, 2I] scale (C4), and routes that dropped x's leading dims (C3).
  const moe::Int8Weights w = moe::make_int8_weights(2, 16, 8, 7);
  const moe::Routes r = moe::make_routes({2, 3}, 2, 1, 8);
  Tensor x = Tensor::zeros({2, 3, 16}, DType::kBF16);
  out.push_back({"C4_scale_E_2I",
                 {x, w.w13, w.w13_scale.view({2, 16}), w.w2, w.w2_scale, r.topk_w, r.topk_ids},
                 true});
  out.push_back(
      {"C3_flat_routes",
       {x, w.w13, w.w13_scale, w.w2, w.w2_scale, r.topk_w.view({6, 1}), r.topk_ids.view({6, 1})},
       true});
  return out;
}

}  // namespace symtrace::ops
