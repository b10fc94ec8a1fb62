// moe_experts(x, w13, w2, topk_w, topk_ids, *, act='silu'): unquantized MoE experts for given
// top-k routes — what int8_moe_experts is for W8A8, for f32 compute over f32, bf16 or f16
// expert weights (read as stored, widened in the kernel). x f32 [*, H], w13 [E, 2I, H] (gate
// rows first), w2 [E, H, I], topk_w f32 / topk_ids i32 [*, k] -> [*, H] f32:
//   out[t] = Σ_j w[t, j] · W2[e] · (silu(W13[e, :I] · x[t]) ⊙ (W13[e, I:] · x[t])),  e = ids[t, j]
// HF's MoE blocks in f32 (OPS.md §15.5). Leading dims are carried symbol for symbol.
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/moe.hpp"
#include "ops/int8_moe_experts/testdata.hpp"
#include "ops/moe_experts/moe_experts.hpp"

namespace symtrace::ops {
namespace moe_experts {
namespace {

namespace v2 = boost::variant2;

constexpr std::string_view kSchema =
    "moe_experts(Tensor x, Tensor w13, Tensor w2, Tensor topk_w, Tensor topk_ids, *, str act='silu') -> Tensor";

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x f32 [*, H].
  moe::check_x(site, x);
  require_dtype(site, "x", x, {DType::kF32});
  // C2: w13 [E, 2I, H], w2 [E, H, I], one dtype of f32, bf16, f16, H == x.size(-1).
  const CheckSite c2 = site.with("C2");
  const TensorMeta& w13 = a.meta("w13");
  const TensorMeta& w2 = a.meta("w2");
  require_dtype(c2, "w13", w13, {DType::kF32, DType::kBF16, DType::kF16});
  require_dtype(c2, "w2", w2, {w13.dtype});
  if (w13.dim() != 3) fail(c2, violation("shape", "w13", "[E, 2*I, H]", w13.shape_str(), "w13 must be 3-D"));
  if (w2.dim() != 3) fail(c2, violation("shape", "w2", "[E, H, I]", w2.shape_str(), "w2 must be 3-D"));
  const SymInt E = w13.sizes[0], H = x.sizes.back(), I = w2.sizes[2];
  require_shape(c2, "shape", "w13", w13, {E, 2 * I, H}, "w13 is the fused gate_up_proj: gate rows [0, I), up rows [I, 2I)");
  require_shape(c2, "shape", "w2", w2, {E, H, I});
  // C3: routes keep x's leading dims.
  moe::check_routes(site.with("C3"), x, a.meta("topk_w"), a.meta("topk_ids"));
  // C4: silu_and_mul.
  moe::check_act(site.with("C4"), a.str("act"));
  return {moe::out_meta(x)};
}

Routes routes_of(const op::Args& a, tensor::Tensor& w, tensor::Tensor& ids) {
  w = a.tensor("topk_w").contiguous();
  ids = a.tensor("topk_ids").contiguous();
  const std::int64_t k = ids.dim() ? ids.size(-1) : 1;
  return Routes{w.data<float>(), ids.data<std::int32_t>(), k ? ids.numel() / k : 0, k};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor w, ids;
  reference_experts(a, routes_of(a, w, ids), out);
  return {out};
}

op::Variant variant(std::string name, tensor::Isa isa) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = "x rows viewable as [M, H]; weights contiguous";
  v.applicable = [](const op::Args& a, sym::ShapeEnv& env) {
    for (const char* w : {"w13", "w2"})
      if (a.meta(w).is_contiguous(env) != sym::Truth::kTrue)
        return op::Applicability::no(fmt::format("{} is not contiguous", w));
    return qop::rows_applicable(a.meta("x"), env, "x");
  };
  v.run = [isa](const op::Args& a, op::KernelContext& cx) {
    const op::Outputs metas = qop::fake_for_real(a, fake);
    tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
    tensor::Tensor w, ids;
    const Routes r = routes_of(a, w, ids);
    const std::span<std::byte> ws = cx.alloc.workspace(grouped_workspace(a, r.M, r.k, cx.threads));
    run_grouped(a, r, out, ws, cx.threads, isa);
    return op::Outputs{out};
  };
  return v;
}

// Leading ranks 0-3, ragged H and I, an expert with many routes, M = 0, each weight dtype;
// rejected: bf16 x (C1), mixed weight dtypes (C2), routes without x's leading dims (C3).
std::vector<op::Sample> samples(std::uint64_t seed) {
  using tensor::Tensor;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t E, H, I, k;
    DType wdt;
  };
  const std::vector<Case> cases = {
      {"lead0_E3_H24_I8_bf16", {}, 3, 24, 8, 2, DType::kBF16},
      {"M5_E4_H37_I19_f32", {5}, 4, 37, 19, 2, DType::kF32},
      {"B2_S3_E6_H40_I24_f16", {2, 3}, 6, 40, 24, 3, DType::kF16},
      {"B1_T2_S2_E2_H16_I16_bf16", {1, 2, 2}, 2, 16, 16, 2, DType::kBF16},
      {"M40_E3_H33_I17_busy_experts", {40}, 3, 33, 17, 2, DType::kBF16},
      {"M0_E3_H16_I8", {0}, 3, 16, 8, 2, DType::kBF16},
  };
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000;
  const auto random = [&](tensor::Shape shape, DType dt, float lo, float hi) {
    Tensor t = Tensor::empty(std::move(shape), dt);
    t.fill_random(++s, lo, hi);
    return t;
  };
  for (const Case& c : cases) {
    const moe::Routes r = moe::make_routes(c.lead, c.E, c.k, ++s);
    tensor::Shape xs = c.lead;
    xs.push_back(c.H);
    out.push_back({c.label,
                   {random(xs, DType::kF32, -2.f, 2.f), random({c.E, 2 * c.I, c.H}, c.wdt, -0.3f, 0.3f),
                    random({c.E, c.H, c.I}, c.wdt, -0.3f, 0.3f), r.topk_w, r.topk_ids},
                   false});
  }
  const moe::Routes r = moe::make_routes({2, 3}, 2, 1, ++s);
  const Tensor w13 = random({2, 16, 16}, DType::kBF16, -0.3f, 0.3f), w2 = random({2, 16, 8}, DType::kBF16, -0.3f, 0.3f);
  out.push_back({"C1_bf16_x", {Tensor::zeros({2, 3, 16}, DType::kBF16), w13, w2, r.topk_w, r.topk_ids}, true});
  out.push_back({"C2_mixed_weights",
                 {Tensor::zeros({2, 3, 16}, DType::kF32), w13, w2.to(DType::kF32), r.topk_w, r.topk_ids}, true});
  out.push_back({"C3_flat_routes",
                 {Tensor::zeros({2, 3, 16}, DType::kF32), w13, w2, r.topk_w.view({6, 1}), r.topk_ids.view({6, 1})},
                 true});
  return out;
}

}  // namespace
}  // namespace moe_experts

void register_moe_experts(op::Registry& r) {
  using namespace moe_experts;
  op::OpDef def;
  def.name = "moe_experts";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "unquantized MoE experts (f32 compute over f32/bf16/f16 weights) for given top-k routes";
  def.constraints = {
      "C1: x is f32 [*, H]",
      "C2: w13 is [E, 2I, H] and w2 [E, H, I], both f32, bf16 or f16 (one dtype), H == x.size(-1)",
      "C3: topk_w f32 and topk_ids i32 are x.sizes[:-1] + [k]",
      "C4: act is 'silu'",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(variant("moe_experts.avx512", tensor::Isa::kAvx512));
  def.variants.push_back(variant("moe_experts.avx2", tensor::Isa::kAvx2));
  def.variants.push_back(variant("moe_experts.scalar", tensor::Isa::kNone));
  // f32 GEMMs against the f64 reference, through two dots and silu.
  def.tolerance.atol = 1e-4;
  def.tolerance.rtol = 1e-4;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
