// moe_route_softmax: router logits [*, E] -> top-k weights f32 [*, k] and expert ids
// i32 [*, k] (OPS.md §9.1): softmax, top-k, optional renormalization.
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/moe_route_softmax/route.hpp"

namespace symtrace::ops {
namespace moe_route_softmax {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& logits = a.meta("logits");
  // C1: float logits [*, E] (the router gate is never quantized).
  require_dtype(site, "logits", logits, {DType::kBF16, DType::kF16, DType::kF32});
  if (logits.dim() < 1)
    fail(site, violation("shape", "logits", "[*, E]", logits.shape_str(),
                         "logits must have at least one dim"));
  // C2: 1 <= k <= E.
  const std::int64_t k = a.int_value("k");
  const SymInt E = logits.sizes.back();
  if (k < 1 || cx.env.require(sym::le(k, E), "moe_route_softmax C2: k <= E") == sym::Truth::kFalse)
    fail(site.with("C2"), violation("shape", "k", fmt::format("1 <= k <= E = {}", E.str()),
                                    std::to_string(k), "top-k needs 1 <= k <= E", {}, {E}));
  SymShape out = qop::leading_dims(logits);
  out.push_back(k);
  return {TensorMeta::contiguous(out, DType::kF32, logits.device),
          TensorMeta::contiguous(out, DType::kI32, logits.device)};
}

namespace {

constexpr std::string_view kSchema =
    "moe_route_softmax(Tensor logits, int k, bool renormalize) -> (Tensor w, Tensor ids)";

std::vector<op::Sample> samples(std::uint64_t seed) {
  using tensor::Tensor;
  std::vector<op::Sample> out;
  const std::vector<std::tuple<std::string, tensor::Shape, std::int64_t>> cases = {
      {"E8_k2", {8}, 2},
      {"M1_E128_k8", {1, 128}, 8},
      {"M17_E60_k4", {17, 60}, 4},
      {"B2_S3_E7_k7", {2, 3, 7}, 7},
      {"B2_T1_S2_E33_k1", {2, 1, 2, 33}, 1},
      {"M0_E16_k2", {0, 16}, 2}};
  int i = 0;
  for (const auto& [label, shape, k] : cases) {
    const DType d = (i % 3 == 0) ? DType::kBF16 : (i % 3 == 1) ? DType::kF16 : DType::kF32;
    Tensor x = Tensor::empty(shape, d);
    x.fill_random(seed + static_cast<std::uint64_t>(i), -4.f, 4.f);
    out.push_back({label + "_renorm", {x, sym::SymInt(k), true}, false});
    out.push_back({label, {x, sym::SymInt(k), false}, false});
    ++i;
  }
  // Exact ties (bf16 logits from a coarse grid): the lower expert id comes first.
  std::vector<float> tie(64);
  for (std::size_t j = 0; j < tie.size(); ++j) tie[j] = static_cast<float>(j % 4);
  out.push_back(
      {"ties_M4_E16", {Tensor::from_f32({4, 16}, tie, DType::kBF16), sym::SymInt(6), true}, false});
  Tensor x = Tensor::zeros({3, 8}, DType::kF32);
  out.push_back({"C2_k_gt_E", {x, sym::SymInt(9), true}, true});
  out.push_back({"C2_k_0", {x, sym::SymInt(0), true}, true});
  out.push_back(
      {"C1_int_logits", {Tensor::zeros({3, 8}, DType::kI32), sym::SymInt(2), true}, true});
  return out;
}

op::Variant variant(std::string name, tensor::Isa isa, route::SoftmaxRow row) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = "any logits layout; OpenMP over tokens";
  v.run = [row](const op::Args& a, op::KernelContext& cx) { return run(a, cx, row); };
  return v;
}

}  // namespace
}  // namespace moe_route_softmax

void register_moe_route_softmax(op::Registry& r) {
  using namespace moe_route_softmax;
  op::OpDef def;
  def.name = "moe_route_softmax";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "softmax router: top-k expert weights (f32) and ids (i32), optionally renormalized";
  def.constraints = {"C1: logits is bf16, f16 or f32 with rank >= 1", "C2: 1 <= k <= E"};
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(
      variant("moe_route_softmax.avx512", tensor::Isa::kAvx512, route::softmax_row_avx512));
  def.variants.push_back(
      variant("moe_route_softmax.avx2", tensor::Isa::kAvx2, route::softmax_row_avx2));
  def.variants.push_back(
      variant("moe_route_softmax.scalar", tensor::Isa::kNone, route::softmax_row_scalar));
  // ids are chosen on the logits, identically on every path (exact); weights are f32
  // softmax values from a vector exp (a few ulp) vs the f64 reference.
  def.tolerance.atol = 1e-7;
  def.tolerance.rtol = 2e-6;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
