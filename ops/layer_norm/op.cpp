// layer_norm(x [*, H], w [H]?, bias [H]?, eps) -> [*, H]     (torch F.layer_norm over the last dim)
//
//   y = (x − mean(x)) / sqrt(var(x) + eps) · w + bias,  var the biased (1/H) variance
// computed in f32 (f64 in the reference) and rounded once to x's dtype. Output contiguous.
// Reference only: no model in OPS.md runs layer norms on its hot path.
#include <array>
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

namespace {
constexpr std::array kTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};
}  // namespace

const std::vector<std::string> kLayerNormConstraints = {
    "C1: x has rank >= 1 ([*, H])",
    "C2: w and bias, when given, are [H], H = x.size(-1)",
    "C3: x is f64, f32, bf16 or f16; w and bias have x's dtype",
};

op::Outputs layer_norm_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  nn::require_rank(site.at("C1"), "x", x, 1, nn::kAnyRank, "[*, H]");
  nn::require_dtype(site.at("C3"), "x", x, kTypes);
  for (const char* name : {"w", "bias"}) {
    const TensorMeta* t = a.opt_meta(name);
    if (t == nullptr) continue;
    nn::require_rank(site.at("C2"), name, *t, 1, 1, "[H]");
    nn::require_size(site.at("C2"), name, *t, 0, x.sizes.back(), "H = x.size(-1)");
    nn::require_same_dtype(site.at("C3"), name, *t, "x", x.dtype);
  }
  return {nn::contiguous_like(x.sizes, x.dtype, x)};
}

namespace {

op::Outputs layer_norm_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(layer_norm_fake, a, "layer_norm");
  const Tensor& x = a.tensor("x");
  const std::int64_t H = x.size(-1), M = nn::rows(x);
  const std::vector<double> X = nn::read_f64(x);
  const std::vector<double> W = a.opt_tensor("w") ? nn::read_f64(*a.opt_tensor("w")) : std::vector<double>{};
  const std::vector<double> B = a.opt_tensor("bias") ? nn::read_f64(*a.opt_tensor("bias")) : std::vector<double>{};
  const double eps = a.f64("eps");
  std::vector<double> y(X.size());
  for (std::int64_t m = 0; m < M; ++m) {
    const auto row = [&](std::int64_t h) { return X[static_cast<std::size_t>(m * H + h)]; };
    double mean = 0, var = 0;
    for (std::int64_t h = 0; h < H; ++h) mean += row(h);
    mean /= static_cast<double>(H);
    for (std::int64_t h = 0; h < H; ++h) var += (row(h) - mean) * (row(h) - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(H) + eps);
    for (std::int64_t h = 0; h < H; ++h) {
      double v = (row(h) - mean) * inv;
      if (!W.empty()) v *= W[static_cast<std::size_t>(h)];
      if (!B.empty()) v += B[static_cast<std::size_t>(h)];
      y[static_cast<std::size_t>(m * H + h)] = v;
    }
  }
  Tensor out = cx.alloc.output(0, nn::out_sizes(f), x.dtype());
  nn::write_f64(out, y);
  return {out};
}

std::vector<op::Sample> layer_norm_samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 31;
  const tensor::Shape leads[] = {{}, {7}, {2, 3}, {2, 1, 5}};
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (const tensor::Shape& lead : leads)
      for (std::int64_t H : {1, 8, 33}) {
        tensor::Shape xs = lead;
        xs.push_back(H);
        out.push_back({fmt::format("lead{}_H{}_{}", lead.size(), H, tensor::name(dt)),
                       {nn::sample_tensor(xs, dt, ++s, nn::Layout::kContiguous, -3, 3),
                        nn::sample_tensor({H}, dt, ++s), nn::sample_tensor({H}, dt, ++s), 1e-5}});
      }
  out.push_back({"no_affine", {nn::sample_tensor({3, 9}, DType::kF32, ++s), op::None{}, op::None{}, 1e-5}});
  out.push_back({"transposed_x", {nn::sample_tensor({4, 6}, DType::kF32, ++s, nn::Layout::kTransposedLast2),
                                  nn::sample_tensor({6}, DType::kF32, ++s), op::None{}, 1e-5}});
  out.push_back({"C2_bias7_vs_H8", {nn::sample_tensor({2, 8}, DType::kF32, ++s), op::None{},
                                     nn::sample_tensor({7}, DType::kF32, ++s), 1e-5}, true});
  out.push_back({"C3_w_bf16", {nn::sample_tensor({2, 8}, DType::kF32, ++s),
                               nn::sample_tensor({8}, DType::kBF16, ++s), op::None{}, 1e-5}, true});
  return out;
}

}  // namespace

void register_layer_norm(op::Registry& r) {
  op::OpDef def;
  def.name = "layer_norm";
  def.schema = op::Schema::parse(
      "layer_norm(Tensor x, Tensor? w=None, Tensor? bias=None, float eps=1e-05) -> Tensor");
  def.doc = "(x − mean) / sqrt(var + eps) · w + bias over the last dim";
  def.constraints = kLayerNormConstraints;
  def.fake = layer_norm_fake;
  def.reference = layer_norm_reference;
  def.samples = layer_norm_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
