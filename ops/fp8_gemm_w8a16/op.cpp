// fp8_gemm_w8a16 — fp8 weight, 16-bit activations, per-tensor/per-channel weight scale,
// optional bias; output in x's dtype (OPS.md §6). The KN variant owns the prepare step that
// transposes weight and scale together.
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm_w8a16/w8a16.hpp"

namespace symtrace::ops {
namespace fp8_gemm_w8a16 {

// OPS.md writes bias keyword-only (`*`); opcheck samples bind positionally.
constexpr std::string_view kSchema =
    "fp8_gemm_w8a16(Tensor x, Tensor w, Tensor w_scale, Tensor? bias=None) -> Tensor";

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x is bf16 or f16 [*, K].
  require_dtype(site, "x", x, {DType::kBF16, DType::kF16});
  if (x.dim() < 1) fail(site, violation("shape", "x", "[*, K]", x.shape_str(), "x needs a K dim"));
  // C2: w is f8_e4m3fn or f8_e5m2, 2-D, tagged NK ([N, K]) or KN ([K, N]) — never by shape.
  const TensorMeta& w = a.meta("w");
  require_dtype(site.with("C2"), "w", w, {DType::kF8E4M3FN, DType::kF8E5M2});
  require_layout(site.with("C2"), "w", w, {WeightLayout::kNK, WeightLayout::kKN});
  // C3: w_scale is f32 [1], or per-channel bound to the weight's output axis: [N, 1] for NK,
  // [1, N] for KN, with the weight's layout tag.
  const QuantizedWeight b = bind_weight(site.with("C3"), "w", w, "w_scale", a.meta("w_scale"),
                                        {Granularity::kTensor, Granularity::kChannel});
  // C4: x.size(-1) == K.
  require_k_match(site.with("C4"), "x", x, b);
  // C5: bias is [N] in x's dtype.
  check_bias(site.with("C5"), "bias", a.opt_meta("bias"), b.N, {x.dtype});
  // N is the bundle's logical out_features: w.size(0) for NK, w.size(1) for KN (§14 item 1).
  return {gemm_out_meta(x, b.N, x.dtype)};
}

namespace {

op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env, WeightLayout want) {
  if (auto r = qop::rows_applicable(a.meta("x"), env, "x"); r.truth != sym::Truth::kTrue) return r;
  const TensorMeta& w = a.meta("w");
  if (layout_of(w) != want)
    return op::Applicability::no(fmt::format("needs a {} weight, the bundle is {}",
                                             tensor::weight_layout_name(want),
                                             tensor::weight_layout_name(layout_of(w))));
  return qop::rows_applicable(w, env, "w");
}

op::Variant variant(std::string name, tensor::Isa isa, bool kn, std::string rule) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = std::move(rule);
  const WeightLayout want = kn ? WeightLayout::kKN : WeightLayout::kNK;
  v.applicable = [want](const op::Args& a, sym::ShapeEnv& env) { return applicable(a, env, want); };
  v.run = [isa, kn](const op::Args& a, op::KernelContext& cx) { return run(a, cx, isa, kn); };
  if (kn) v.prepare = prepare_nk_to_kn();
  return v;
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  using gemm_op::random;
  using gemm_op::random_scale;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t K, N;
    bool per_channel, bias;
    DType x;
  };
  const std::vector<Case> cases = {
      {"K64_N48_lead0", {}, 64, 48, true, true, DType::kBF16},
      {"M3_K17_N5", {3}, 17, 5, false, false, DType::kF16},
      {"M1_K130_N33", {1}, 130, 33, true, true, DType::kBF16},
      {"M6_K257_N70_lead2", {2, 3}, 257, 70, true, true, DType::kF16},
      {"M8_K96_N130_lead3", {2, 1, 4}, 96, 130, false, true, DType::kBF16},
      {"M0_K32_N16", {0}, 32, 16, true, true, DType::kBF16},
      {"M40_K200_N67", {40}, 200, 67, true, true, DType::kBF16},
      {"M20_K64_N64_square", {20}, 64, 64, true, true, DType::kF16},
  };
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 151;
  for (const Case& c : cases) {
    tensor::Shape xs = c.lead;
    xs.push_back(c.K);
    Tensor x = random(xs, c.x, ++s, -2.f, 2.f);
    Tensor w = random({c.N, c.K}, DType::kF8E4M3FN, ++s, -8.f, 8.f);
    Tensor ws =
        c.per_channel ? random_scale({c.N, 1}, ++s, 0.01f, 0.1f) : gemm_op::scalar_f32(0.03f);
    op::Value bias = op::None{};
    if (c.bias) bias = random({c.N}, c.x, ++s, -2.f, 2.f);
    out.push_back({c.label, {x, w, ws, bias}, false});
  }
  Tensor x = random({3, 16}, DType::kBF16, 1), w = random({8, 16}, DType::kF8E4M3FN, 2);
  out.push_back({"C3_scale_1d", {x, w, random_scale({8}, 3, 0.1f, 1.f), op::None{}}, true});
  out.push_back({"C1_f32_x",
                 {random({3, 16}, DType::kF32, 4), w, gemm_op::scalar_f32(1.f), op::None{}},
                 true});
  return out;
}

}  // namespace
}  // namespace fp8_gemm_w8a16

void register_fp8_gemm_w8a16(op::Registry& r) {
  using namespace fp8_gemm_w8a16;
  op::OpDef def;
  def.name = "fp8_gemm_w8a16";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "fp8 weight x 16-bit activation GEMM, f32 accumulation, scale and bias, x's dtype";
  def.constraints = {
      "C1: x is bf16 or f16 [*, K]",
      "C2: w is f8_e4m3fn or f8_e5m2, 2-D, layout tag NK or KN",
      "C3: w_scale is f32 [1], [N, 1] (NK) or [1, N] (KN), tagged like w",
      "C4: x.size(-1) == K",
      "C5: bias is [N] in x's dtype",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(variant("fp8_gemm_w8a16.avx512_bf16", tensor::Isa::kAvx512Bf16, false,
                                 "AVX512_BF16; NK weight (the decode streaming layout); "
                                 "run time M <= 64, e4m3: weight-streaming GEMV"));
  def.variants.push_back(variant("fp8_gemm_w8a16.avx512_bf16.kn", tensor::Isa::kAvx512Bf16, true,
                                 "AVX512_BF16; KN weight and [1, N] scale from its prepare step"));
  def.variants.push_back(
      variant("fp8_gemm_w8a16.avx2", tensor::Isa::kAvx2, false,
              "AVX2; NK weight; run time M <= 64, e4m3: weight-streaming GEMV"));
  def.variants.push_back(variant("fp8_gemm_w8a16.scalar", tensor::Isa::kNone, false,
                                 "NK weight; run time M <= 64, e4m3: weight-streaming GEMV"));
  def.tolerance.compare = [](const op::Args& in, std::size_t, const Tensor& got, const Tensor&) {
    return gemm_op::compare_to_bound(got, ref_result(in));
  };
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
