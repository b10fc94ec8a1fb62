// moe_route_grouped_sigmoid: DeepSeek-V3 routing (OPS.md §9.2). Sigmoid scores, a
// correction bias used only to choose, group-limited top-k (groups ranked by the sum of
// their two best biased scores; experts of dropped groups masked with -inf, as DeepSeek's
// reference and vLLM do — HF fills 0, which differs only when a kept expert's biased score
// is negative), weights = unbiased scores of the chosen experts, optional renormalization
// (+1e-20), times routed_scale.
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/moe_route_grouped_sigmoid/grouped.hpp"

namespace symtrace::ops {
namespace moe_route_grouped_sigmoid {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  sym::ShapeEnv& env = cx.env;
  const TensorMeta& logits = a.meta("logits");
  // C1: float logits [*, E].
  require_dtype(site, "logits", logits, {DType::kBF16, DType::kF16, DType::kF32});
  if (logits.dim() < 1)
    fail(site, violation("shape", "logits", "[*, E]", logits.shape_str(),
                         "logits must have at least one dim"));
  const SymInt E = logits.sizes.back();
  // C2: bias [E] (e_score_correction_bias).
  const TensorMeta& bias = a.meta("bias");
  require_dtype(site.with("C2"), "bias", bias, {DType::kF32, DType::kBF16, DType::kF16});
  require_shape(site.with("C2"), "shape", "bias", bias, {E},
                "e_score_correction_bias has one entry per expert");
  // C3: n_group divides E into groups of at least two (a group's score sums its top two).
  const std::int64_t ng = a.int_value("n_group"), tg = a.int_value("topk_group"),
                     k = a.int_value("k");
  const CheckSite c3 = site.with("C3");
  if (ng < 1 ||
      env.require(sym::divisible(E, ng), "moe_route_grouped_sigmoid C3: E % n_group == 0") ==
          sym::Truth::kFalse ||
      env.require(sym::ge(E, 2 * ng), "moe_route_grouped_sigmoid C3: E / n_group >= 2") ==
          sym::Truth::kFalse)
    fail(c3, violation("shape", "n_group",
                       fmt::format("a divisor of E = {} with E / n_group >= 2", E.str()),
                       std::to_string(ng),
                       "n_group must split the experts into equal groups of >= 2", {}, {E}));
  // C4: 1 <= topk_group <= n_group.
  if (tg < 1 || tg > ng)
    qop::bad_argument(site.with("C4"), "topk_group",
                      fmt::format("1 <= topk_group <= n_group = {}", ng), std::to_string(tg),
                      "topk_group selects among the n_group groups");
  // C5: 1 <= k <= topk_group * E / n_group (enough experts in the kept groups).
  if (k < 1 || env.require(sym::le(k * ng, tg * E),
                           "moe_route_grouped_sigmoid C5: k <= topk_group * E / n_group") ==
                   sym::Truth::kFalse)
    fail(
        site.with("C5"),
        violation("shape", "k",
                  fmt::format("1 <= k <= topk_group * E / n_group = {} * {} / {}", tg, E.str(), ng),
                  std::to_string(k), "the kept groups hold fewer than k experts", {}, {E}));
  // C6: routed_scale is finite.
  if (!std::isfinite(a.f64("routed_scale")))
    qop::bad_argument(site.with("C6"), "routed_scale", "a finite number",
                      fmt::format("{}", a.f64("routed_scale")),
                      "routed_scaling_factor must be finite");
  SymShape out = qop::leading_dims(logits);
  out.push_back(k);
  return {TensorMeta::contiguous(out, DType::kF32, logits.device),
          TensorMeta::contiguous(out, DType::kI32, logits.device)};
}

namespace {

constexpr std::string_view kSchema =
    "moe_route_grouped_sigmoid(Tensor logits, Tensor bias, int k, int n_group, int topk_group, "
    "bool renormalize, float routed_scale) -> (Tensor w, Tensor ids)";

std::vector<op::Sample> samples(std::uint64_t seed) {
  using sym::SymInt;
  using tensor::Tensor;
  std::vector<op::Sample> out;
  // (label, logits shape, k, n_group, topk_group)
  const std::vector<std::tuple<std::string, tensor::Shape, int, int, int>> cases = {
      {"dsv3_M3_E256", {3, 256}, 8, 8, 4},   {"E16_g1", {16}, 4, 1, 1},
      {"B2_S3_E12_g3", {2, 3, 12}, 5, 3, 2}, {"M17_E64_g8", {17, 64}, 6, 8, 3},
      {"k_all_kept", {2, 1, 4, 8}, 4, 4, 2}, {"M0_E16", {0, 16}, 2, 4, 2}};
  int i = 0;
  for (const auto& [label, shape, k, ng, tg] : cases) {
    Tensor x = Tensor::empty(shape, i % 2 ? DType::kBF16 : DType::kF32);
    x.fill_random(seed + static_cast<std::uint64_t>(i), -3.f, 3.f);
    Tensor b = Tensor::empty({shape.back()}, DType::kF32);
    b.fill_random(seed + 50 + static_cast<std::uint64_t>(i), -0.2f, 0.2f);
    out.push_back({label, {x, b, SymInt(k), SymInt(ng), SymInt(tg), true, 2.5}, false});
    out.push_back(
        {label + "_no_renorm", {x, b, SymInt(k), SymInt(ng), SymInt(tg), false, 1.0}, false});
    ++i;
  }
  Tensor x = Tensor::zeros({2, 12}, DType::kF32), b = Tensor::zeros({12}, DType::kF32);
  out.push_back({"C3_n_group_5", {x, b, SymInt(2), SymInt(5), SymInt(1), true, 1.0}, true});
  out.push_back({"C5_k_too_big", {x, b, SymInt(7), SymInt(4), SymInt(2), true, 1.0}, true});
  out.push_back({"C2_bias_E_plus_1",
                 {x, Tensor::zeros({13}, DType::kF32), SymInt(2), SymInt(4), SymInt(2), true, 1.0},
                 true});
  return out;
}

}  // namespace
}  // namespace moe_route_grouped_sigmoid

void register_moe_route_grouped_sigmoid(op::Registry& r) {
  using namespace moe_route_grouped_sigmoid;
  op::OpDef def;
  def.name = "moe_route_grouped_sigmoid";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "DeepSeek-V3 router: sigmoid scores, bias for selection, group-limited top-k";
  def.constraints = {
      "C1: logits is bf16, f16 or f32 with rank >= 1", "C2: bias is [E] (f32, bf16 or f16)",
      "C3: E % n_group == 0 and E / n_group >= 2",     "C4: 1 <= topk_group <= n_group",
      "C5: 1 <= k <= topk_group * E / n_group",        "C6: routed_scale is finite",
  };
  def.fake = fake;
  def.reference = reference;
  op::Variant v;
  v.name = "moe_route_grouped_sigmoid.cpu";
  v.rule = "any layout; OpenMP over tokens, no allocation";
  v.run = run;
  def.variants.push_back(std::move(v));
  // ids are identical on every path (selection on the f32 scores defined in grouped.hpp);
  // weights: f32 renormalization vs the f64 reference.
  def.tolerance.atol = 1e-7;
  def.tolerance.rtol = 2e-6;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
