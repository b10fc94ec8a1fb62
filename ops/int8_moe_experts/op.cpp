// int8_moe_experts: W8A8 int8 experts with dynamic per-token activations, given routes
// (OPS.md §9.3). x [*, H], w13 i8 [E, 2I, H] (gate rows first), w2 i8 [E, H, I],
// per-channel [E, N, 1] or per-tensor [E] scales, topk_w / topk_ids [*, k], optional
// biases and EP expert_map -> [*, H] in x's dtype. int8_fused_moe is this op behind
// moe_route_softmax in one node.
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/int8_moe.hpp"
#include "ops/int8_moe_experts/moe.hpp"

namespace symtrace::ops {
namespace int8_moe {

namespace v2 = boost::variant2;

Dims check(const op::Args& a, op::FakeContext& cx, const TensorMeta* topk_w,
           const TensorMeta* topk_ids) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x float [*, H].
  moe::check_x(site, x);
  // C2: w13 i8 [E, 2I, H], w2 i8 [E, H, I] (each expert NK), H == x.size(-1).
  const CheckSite c2 = site.with("C2");
  const TensorMeta& w13 = a.meta("w13");
  const TensorMeta& w2 = a.meta("w2");
  require_dtype(c2, "w13", w13, {DType::kI8});
  require_dtype(c2, "w2", w2, {DType::kI8});
  require_layout(c2, "w13", w13, {WeightLayout::kNK});
  require_layout(c2, "w2", w2, {WeightLayout::kNK});
  if (w13.dim() != 3)
    fail(c2, violation("shape", "w13", "[E, 2*I, H]", w13.shape_str(), "w13 must be 3-D"));
  if (w2.dim() != 3)
    fail(c2, violation("shape", "w2", "[E, H, I]", w2.shape_str(), "w2 must be 3-D"));
  Dims d{w13.sizes[0], x.sizes.back(), w2.sizes[2], 0};
  require_shape(c2, "shape", "w13", w13, {d.E, 2 * d.I, d.H},
                "w13 is the fused gate_up_proj: gate rows [0, I), up rows [I, 2I)");
  require_shape(c2, "shape", "w2", w2, {d.E, d.H, d.I});
  // C3: routes keep x's leading dims.
  if (topk_w && topk_ids) d.k = moe::check_routes(site.with("C3"), x, *topk_w, *topk_ids);
  // C4: scales per-channel [E, N, 1] or per-tensor [E].
  moe::check_expert_scale(site.with("C4"), "w13_scale", a.meta("w13_scale"), d.E, 2 * d.I);
  moe::check_expert_scale(site.with("C4"), "w2_scale", a.meta("w2_scale"), d.E, d.H);
  // C5: biases [E, 2I], [E, H].
  moe::check_expert_bias(site.with("C5"), "w13_bias", a.opt_meta("w13_bias"), d.E, 2 * d.I);
  moe::check_expert_bias(site.with("C5"), "w2_bias", a.opt_meta("w2_bias"), d.E, d.H);
  // C6: expert_map i32 [E_global].
  moe::check_expert_map(site.with("C6"), a.opt_meta("expert_map"));
  // C7: silu_and_mul.
  moe::check_act(site.with("C7"), a.str("act"));
  return d;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  check(a, cx, &a.meta("topk_w"), &a.meta("topk_ids"));
  return {moe::out_meta(a.meta("x"))};
}

namespace {

constexpr std::string_view kSchema =
    "int8_moe_experts(Tensor x, Tensor w13, Tensor w13_scale, Tensor w2, Tensor w2_scale, "
    "Tensor topk_w, Tensor topk_ids, *, str act='silu', Tensor? w13_bias=None, "
    "Tensor? w2_bias=None, Tensor? expert_map=None) -> Tensor";

// Routes of a real call as contiguous [M, k] arrays.
struct RealRoutes {
  tensor::Tensor w, ids;
  Routes r;
};
RealRoutes routes_of(const op::Args& a) {
  RealRoutes rr{a.tensor("topk_w").contiguous(), a.tensor("topk_ids").contiguous(), {}};
  const std::int64_t k = rr.ids.dim() ? rr.ids.size(-1) : 1;
  rr.r = Routes{rr.w.data<float>(), rr.ids.data<std::int32_t>(), k ? rr.ids.numel() / k : 0, k};
  return rr;
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  const RealRoutes rr = routes_of(a);
  reference_experts(a, rr.r, out);
  return {out};
}

op::Variant variant(std::string name, tensor::Isa isa, Int8Tile tile) {
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
  v.run = [tile](const op::Args& a, op::KernelContext& cx) {
    const op::Outputs metas = qop::fake_for_real(a, fake);
    tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
    const RealRoutes rr = routes_of(a);
    const std::span<std::byte> ws =
        cx.alloc.workspace(experts_workspace(a, rr.r.M, rr.r.k, cx.threads));
    run_experts(a, rr.r, out, ws, cx.threads, tile);
    return op::Outputs{out};
  };
  return v;
}

}  // namespace
}  // namespace int8_moe

std::vector<op::Sample> int8_moe_experts_samples(std::uint64_t seed);

void register_int8_moe_experts(op::Registry& r) {
  using namespace int8_moe;
  op::OpDef def;
  def.name = "int8_moe_experts";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "W8A8 int8 MoE experts (dynamic per-token activations) for given top-k routes";
  def.constraints = {
      "C1: x is bf16, f16 or f32 [*, H]",
      "C2: w13 is i8 [E, 2I, H] and w2 i8 [E, H, I] (NK), H == x.size(-1)",
      "C3: topk_w f32 and topk_ids i32 are x.sizes[:-1] + [k]",
      "C4: w13_scale is f32 [E, 2I, 1] or [E]; w2_scale f32 [E, H, 1] or [E]",
      "C5: w13_bias is [E, 2I], w2_bias [E, H]",
      "C6: expert_map is i32 [E_global]",
      "C7: act is 'silu'",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(
      variant("int8_moe_experts.avx512_vnni", tensor::Isa::kAvx512Vnni, tile_avx512_vnni));
  def.variants.push_back(variant("int8_moe_experts.avx2", tensor::Isa::kAvx2, tile_avx2));
  def.variants.push_back(variant("int8_moe_experts.scalar", tensor::Isa::kNone, tile_scalar));
  // The fast kernels evaluate the reference's expressions (moe::dequant, moe::silu_mul, the
  // shared quantizer) on exact int32 sums: outputs are bit-identical.
  def.tolerance.atol = 0;
  def.tolerance.rtol = 0;
  def.samples = int8_moe_experts_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
