// fp8_gemm — W8A8 fp8 (e4m3fn) GEMM with scaled-mm semantics: per-tensor/per-token
// activation scales, per-tensor/per-channel weight scales, bias added in f32 before the one
// rounding to out_dtype (OPS.md §5).
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm/fp8_gemm.hpp"

namespace symtrace::ops {
namespace fp8_gemm {

// OPS.md writes out_dtype and bias keyword-only (`*`); opcheck samples bind positionally, so
// the marker is dropped and the argument order kept.
constexpr std::string_view kSchema =
    "fp8_gemm(Tensor a, Tensor b, Tensor b_scale, Tensor scale_a, ScalarType out_dtype, "
    "Tensor? bias=None) -> Tensor";

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("a");
  // C1: a is f8_e4m3fn [*, K].
  require_dtype(site, "a", x, {DType::kF8E4M3FN});
  if (x.dim() < 1) fail(site, violation("shape", "a", "[*, K]", x.shape_str(), "a needs a K dim"));
  // C2: b is f8_e4m3fn [N, K], layout NK (N is the bundle's out_features, never b.size(1)).
  const TensorMeta& b = a.meta("b");
  require_dtype(site.with("C2"), "b", b, {DType::kF8E4M3FN});
  require_layout(site.with("C2"), "b", b, {WeightLayout::kNK});
  // C3: b_scale is f32 [1] or [N, 1].
  const QuantizedWeight w = bind_weight(site.with("C3"), "b", b, "b_scale", a.meta("b_scale"),
                                        {Granularity::kTensor, Granularity::kChannel});
  // C4: a.size(-1) == K.
  require_k_match(site.with("C4"), "a", x, w);
  // C5: scale_a is f32 [1] or [*, 1].
  check_act_scale(site.with("C5"), "scale_a", a.meta("scale_a"), x,
                  {Granularity::kToken, Granularity::kTensor});
  // C6: out_dtype is bf16, f16 or f32.
  const DType out = a.dtype("out_dtype");
  if (out != DType::kBF16 && out != DType::kF16 && out != DType::kF32)
    fail(site.with("C6"),
         violation("dtype", "out_dtype", "bf16, f16 or f32", std::string(tensor::name(out)),
                   "the output of a quantized GEMM is a float dtype"));
  // C7: bias is [N] in out_dtype or f32.
  check_bias(site.with("C7"), "bias", a.opt_meta("bias"), w.N, {out, DType::kF32});
  return {gemm_out_meta(x, w.N, out)};
}

namespace {

op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env) {
  if (auto r = qop::rows_applicable(a.meta("a"), env, "a"); r.truth != sym::Truth::kTrue) return r;
  return qop::rows_applicable(a.meta("b"), env, "b");
}

op::Variant variant(std::string name, tensor::Isa isa, std::string rule) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = std::move(rule);
  v.applicable = applicable;
  v.run = [isa](const op::Args& a, op::KernelContext& cx) { return run(a, cx, isa); };
  return v;
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  using gemm_op::random;
  using gemm_op::random_scale;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t K, N;
    bool per_channel, per_token, bias;
    DType out;
  };
  const std::vector<Case> cases = {
      {"K64_N48_lead0", {}, 64, 48, true, true, true, DType::kBF16},
      {"M3_K17_N5", {3}, 17, 5, false, false, false, DType::kF32},
      {"M1_K130_N33", {1}, 130, 33, true, true, true, DType::kF16},
      {"M6_K257_N70_lead2", {2, 3}, 257, 70, true, true, true, DType::kBF16},
      {"M8_K96_N130_lead3", {2, 1, 4}, 96, 130, true, false, true, DType::kF32},
      {"M0_K32_N16", {0}, 32, 16, true, true, true, DType::kBF16},
      {"M40_K200_N67", {40}, 200, 67, true, true, true, DType::kBF16},
  };
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 131;
  for (const Case& c : cases) {
    tensor::Shape ashape = c.lead, sshape = c.lead;
    ashape.push_back(c.K);
    sshape.push_back(1);
    Tensor a = random(ashape, DType::kF8E4M3FN, ++s, -8.f, 8.f);
    Tensor b = random({c.N, c.K}, DType::kF8E4M3FN, ++s, -8.f, 8.f);
    Tensor bs =
        c.per_channel ? random_scale({c.N, 1}, ++s, 0.01f, 0.1f) : gemm_op::scalar_f32(1.3f);
    Tensor as = c.per_token ? random_scale(sshape, ++s, 0.05f, 0.5f) : gemm_op::scalar_f32(0.7f);
    op::Value bias = op::None{};
    if (c.bias) bias = random({c.N}, c.out, ++s, -2.f, 2.f);
    out.push_back({c.label, {a, b, bs, as, c.out, bias}, false});
  }
  Tensor a = random({3, 16}, DType::kF8E4M3FN, 1), b = random({8, 16}, DType::kF8E4M3FN, 2);
  out.push_back(
      {"C3_scale_1d",
       {a, b, random_scale({8}, 3, 0.1f, 1.f), gemm_op::scalar_f32(1.f), DType::kF32, op::None{}},
       true});
  out.push_back(
      {"C5_flat_token_scale",
       {a, b, gemm_op::scalar_f32(1.f), random_scale({3}, 5, 0.1f, 1.f), DType::kF32, op::None{}},
       true});
  return out;
}

}  // namespace
}  // namespace fp8_gemm

void register_fp8_gemm(op::Registry& r) {
  using namespace fp8_gemm;
  op::OpDef def;
  def.name = "fp8_gemm";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "W8A8 fp8 GEMM (scaled-mm): f32 accumulation, scales and bias, one rounding";
  def.constraints = {
      "C1: a is f8_e4m3fn [*, K]",           "C2: b is f8_e4m3fn [N, K], layout NK",
      "C3: b_scale is f32 [1] or [N, 1]",    "C4: a.size(-1) == K",
      "C5: scale_a is f32 [1] or [*, 1]",    "C6: out_dtype is bf16, f16 or f32",
      "C7: bias is [N] of out_dtype or f32",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(variant("fp8_gemm.avx512_bf16", tensor::Isa::kAvx512Bf16,
                                 "AVX512_BF16; a and b rows viewable with stride(-1) == 1"));
  def.variants.push_back(variant("fp8_gemm.avx2", tensor::Isa::kAvx2,
                                 "AVX2; a and b rows viewable with stride(-1) == 1"));
  def.variants.push_back(
      variant("fp8_gemm.scalar", tensor::Isa::kNone, "a and b rows viewable with stride(-1) == 1"));
  def.tolerance.compare = [](const op::Args& in, std::size_t, const Tensor& got, const Tensor&) {
    return gemm_op::compare_to_bound(got, ref_result(in));
  };
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
