// nvfp4_w4a16_moe: MoE experts with NVFP4 weights and 16-bit activations, given routes
// (OPS.md §10 "MoE", math §15.5 without activation quantization). w13_packed u8
// [E, 2I, H/2] (gate rows first) with e4m3 scales [E, 2I, H/16] and global multipliers
// [E] (one per expert) or [E, 2] (gate, up kept apart: a fused w13 with one global scale
// is exact only when w1's and w3's agree — vLLM keeps w1's and only warns); w2_packed u8
// [E, H, I/2], scales [E, H, I/16], globals [E]. h = round_x(g13 * W13 x),
// a = silu_and_mul(h), y = round_x(w * g2 * W2 a), out = round_x(sum over routes).
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/moe.hpp"
#include "ops/nvfp4_w4a16_moe/fp4_moe.hpp"

namespace symtrace::ops {
namespace fp4_moe {

namespace v2 = boost::variant2;

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  sym::ShapeEnv& env = cx.env;
  const TensorMeta& x = a.meta("x");
  // C1: x float [*, H], H % 16 == 0.
  moe::check_x(site, x);
  const SymInt H = x.sizes.back();
  if (env.require(sym::divisible(H, nvfp4::kBlock), "nvfp4_w4a16_moe C1: H % 16 == 0") ==
      sym::Truth::kFalse)
    fail(site, violation("shape", "x", "H a multiple of 16", H.str(),
                         "NVFP4 scales cover 16 elements of K", {}, {H}));
  // C2: packed weights u8 [E, 2I, H/2] and [E, H, I/2], I % 16 == 0.
  const CheckSite c2 = site.with("C2");
  const TensorMeta& w13 = a.meta("w13_packed");
  const TensorMeta& w2 = a.meta("w2_packed");
  require_dtype(c2, "w13_packed", w13, {DType::kU8});
  require_dtype(c2, "w2_packed", w2, {DType::kU8});
  if (w13.dim() != 3)
    fail(c2, violation("shape", "w13_packed", "[E, 2*I, H/2]", w13.shape_str(),
                       "w13_packed must be 3-D"));
  if (w2.dim() != 3)
    fail(c2,
         violation("shape", "w2_packed", "[E, H, I/2]", w2.shape_str(), "w2_packed must be 3-D"));
  const SymInt E = w13.sizes[0], I = w2.sizes[2] * 2;
  require_shape(c2, "shape", "w13_packed", w13, {E, 2 * I, sym::floordiv(H, 2)},
                "two e2m1 codes per byte along H");
  require_shape(c2, "shape", "w2_packed", w2, {E, H, sym::floordiv(I, 2)});
  if (env.require(sym::divisible(I, nvfp4::kBlock), "nvfp4_w4a16_moe C2: I % 16 == 0") ==
      sym::Truth::kFalse)
    fail(c2, violation("shape", "w2_packed", "I a multiple of 16", I.str(),
                       "NVFP4 scales cover 16 elements of K", {}, {I}));
  // C3: routes keep x's leading dims.
  moe::check_routes(site.with("C3"), x, a.meta("topk_w"), a.meta("topk_ids"));
  // C4: e4m3 block scales [E, 2I, H/16], [E, H, I/16].
  const CheckSite c4 = site.with("C4");
  require_scale_dtype(c4, "w13_scale", a.meta("w13_scale"), {DType::kF8E4M3FN});
  require_shape(c4, "scale-layout", "w13_scale", a.meta("w13_scale"),
                {E, 2 * I, sym::floordiv(H, nvfp4::kBlock)});
  require_scale_dtype(c4, "w2_scale", a.meta("w2_scale"), {DType::kF8E4M3FN});
  require_shape(c4, "scale-layout", "w2_scale", a.meta("w2_scale"),
                {E, H, sym::floordiv(I, nvfp4::kBlock)});
  // C5: global multipliers: w13 [E] or [E, 2], w2 [E].
  const CheckSite c5 = site.with("C5");
  const TensorMeta& g13 = a.meta("w13_global_scale");
  require_scale_dtype(c5, "w13_global_scale", g13);
  if (g13.dim() == 2)
    require_shape(c5, "scale-layout", "w13_global_scale", g13, {E, 2},
                  "one multiplier each for w1 (gate) and w3 (up)");
  else
    require_shape(c5, "scale-layout", "w13_global_scale", g13, {E},
                  "[E] shared by gate and up, or [E, 2]");
  require_scale_dtype(c5, "w2_global_scale", a.meta("w2_global_scale"));
  require_shape(c5, "scale-layout", "w2_global_scale", a.meta("w2_global_scale"), {E});
  // C6, C7.
  moe::check_expert_map(site.with("C6"), a.opt_meta("expert_map"));
  moe::check_act(site.with("C7"), a.str("act"));
  return {moe::out_meta(x)};
}

namespace {

constexpr std::string_view kSchema =
    "nvfp4_w4a16_moe(Tensor x, Tensor w13_packed, Tensor w13_scale, Tensor w13_global_scale, "
    "Tensor w2_packed, Tensor w2_scale, Tensor w2_global_scale, Tensor topk_w, Tensor topk_ids, "
    "*, str act='silu', Tensor? expert_map=None) -> Tensor";

// Two rounding-sensitive stages (h, then y) sit between the f32-accumulating kernels and
// the f64 reference, so the comparison is relative: ||got - ref|| <= 8 eps ||ref|| and
// max |got - ref| <= 64 eps max |ref|, eps = 2^-8 (bf16), 2^-11 (f16), 2^-20 (f32).
std::string compare(const op::Args& in, std::size_t, const tensor::Tensor& got,
                    const tensor::Tensor& ref) {
  const DType d = in.tensor("x").dtype();
  const double eps = std::ldexp(1.0, d == DType::kBF16 ? -8 : d == DType::kF16 ? -11 : -20);
  const std::vector<double> g = got.to_f64(), r = ref.to_f64();
  double num = 0, den = 0, maxd = 0, maxr = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (std::isnan(g[i]) != std::isnan(r[i]))
      return fmt::format("element {}: got {}, reference {}", i, g[i], r[i]);
    if (std::isnan(r[i])) continue;
    num += (g[i] - r[i]) * (g[i] - r[i]);
    den += r[i] * r[i];
    maxd = std::max(maxd, std::fabs(g[i] - r[i]));
    maxr = std::max(maxr, std::fabs(r[i]));
  }
  if (std::sqrt(num) <= 8 * eps * std::sqrt(den) && maxd <= 64 * eps * maxr) return {};
  return fmt::format("relative L2 {:.3g} (bound {:.3g}), max |diff| {:.3g} (bound {:.3g})",
                     den > 0 ? std::sqrt(num / den) : std::sqrt(num), 8 * eps, maxd,
                     64 * eps * maxr);
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  reference_experts(a, out);
  return {out};
}

op::Variant variant(std::string name, tensor::Isa isa, nvfp4::Fp4Block block) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = "x rows viewable as [M, H]; packed weights and scales contiguous";
  v.applicable = [](const op::Args& a, sym::ShapeEnv& env) {
    for (const char* w : {"w13_packed", "w13_scale", "w2_packed", "w2_scale"})
      if (a.meta(w).is_contiguous(env) != sym::Truth::kTrue)
        return op::Applicability::no(fmt::format("{} is not contiguous", w));
    return qop::rows_applicable(a.meta("x"), env, "x");
  };
  v.run = [block](const op::Args& a, op::KernelContext& cx) {
    const op::Outputs metas = qop::fake_for_real(a, fake);
    tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
    run_experts(a, out, cx, block);
    return op::Outputs{out};
  };
  return v;
}

}  // namespace
}  // namespace fp4_moe

void register_nvfp4_w4a16_moe(op::Registry& r) {
  using namespace fp4_moe;
  op::OpDef def;
  def.name = "nvfp4_w4a16_moe";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "MoE experts with NVFP4 weights and 16-bit activations for given top-k routes";
  def.constraints = {
      "C1: x is bf16, f16 or f32 [*, H] with H % 16 == 0",
      "C2: w13_packed is u8 [E, 2I, H/2], w2_packed u8 [E, H, I/2], I % 16 == 0",
      "C3: topk_w f32 and topk_ids i32 are x.sizes[:-1] + [k]",
      "C4: w13_scale is f8_e4m3fn [E, 2I, H/16], w2_scale f8_e4m3fn [E, H, I/16]",
      "C5: w13_global_scale is f32 [E] or [E, 2] (gate, up); w2_global_scale f32 [E]",
      "C6: expert_map is i32 [E_global]",
      "C7: act is 'silu'",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(
      variant("nvfp4_w4a16_moe.avx512", tensor::Isa::kAvx512, nvfp4::block_avx512));
  def.variants.push_back(variant("nvfp4_w4a16_moe.avx2", tensor::Isa::kAvx2, nvfp4::block_avx2));
  def.variants.push_back(
      variant("nvfp4_w4a16_moe.scalar", tensor::Isa::kNone, nvfp4::block_scalar));
  def.tolerance.compare = compare;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
