// int8_gemm — W8A8 int8 GEMM with per-tensor/per-channel weight scales, per-tensor/per-token
// activation scales, optional activation zero point and bias (OPS.md §8).
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_gemm/int8_gemm.hpp"

namespace symtrace::ops {
namespace int8_gemm {
using tensor::Tensor;
namespace {

// OPS.md writes out_dtype and bias keyword-only (`*`) after azp; opcheck samples bind
// positionally, so the marker is dropped and the required out_dtype moves before azp.
constexpr std::string_view kSchema =
    "int8_gemm(Tensor a, Tensor b, Tensor b_scale, Tensor scale_a, ScalarType out_dtype, "
    "Tensor? azp=None, Tensor? bias=None) -> Tensor";

void check_out_dtype(const CheckSite& site, DType d) {
  if (d == DType::kBF16 || d == DType::kF16 || d == DType::kF32) return;
  fail(site, violation("dtype", "out_dtype", "bf16, f16 or f32", std::string(tensor::name(d)),
                       "the output of a quantized GEMM is a float dtype"));
}

}  // namespace

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("a");
  // C1: a is i8 [*, K].
  require_dtype(site, "a", x, {DType::kI8});
  if (x.dim() < 1) fail(site, violation("shape", "a", "[*, K]", x.shape_str(), "a needs a K dim"));
  // C2: b is i8 [N, K] in the canonical NK layout (symmetric weights only).
  const TensorMeta& b = a.meta("b");
  require_dtype(site.with("C2"), "b", b, {DType::kI8});
  require_layout(site.with("C2"), "b", b, {WeightLayout::kNK});
  // C3: b_scale is per-tensor [1] or per-channel [N, 1] f32 (OPS.md §3).
  const QuantizedWeight w = bind_weight(site.with("C3"), "b", b, "b_scale", a.meta("b_scale"),
                                        {Granularity::kTensor, Granularity::kChannel});
  // C4: a.size(-1) == K.
  require_k_match(site.with("C4"), "a", x, w);
  // C5: scale_a is per-tensor [1] or per-token [*, 1] f32.
  const Granularity ga = check_act_scale(site.with("C5"), "scale_a", a.meta("scale_a"), x,
                                         {Granularity::kToken, Granularity::kTensor});
  // C6: azp is i32 with the shape of scale_a ([1] static, [*, 1] per-token).
  if (const TensorMeta* z = a.opt_meta("azp")) {
    require_dtype(site.with("C6"), "azp", *z, {DType::kI32});
    require_shape(site.with("C6"), "shape", "azp", *z, a.meta("scale_a").sizes,
                  ga == Granularity::kToken ? "per-token zero points go with per-token scales"
                                            : "a static zero point is [1]");
  }
  // C7: out_dtype is bf16, f16 or f32.
  const DType out = a.dtype("out_dtype");
  check_out_dtype(site.with("C7"), out);
  // C8: bias is [N] in out_dtype or f32.
  check_bias(site.with("C8"), "bias", a.opt_meta("bias"), w.N, {out, DType::kF32});
  return {gemm_out_meta(x, w.N, out)};
}

namespace {

op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env, std::int64_t max_k) {
  if (auto r = qop::rows_applicable(a.meta("a"), env, "a"); r.truth != sym::Truth::kTrue) return r;
  const TensorMeta& b = a.meta("b");
  if (env.decide(sym::eq(b.stride(-1), 1)) != sym::Truth::kTrue &&
      env.decide(sym::eq(b.size(-1), 1)) != sym::Truth::kTrue)
    return op::Applicability::no("b needs stride(-1) == 1");
  const sym::Truth t = env.decide(sym::le(b.size(-1), max_k));
  if (t != sym::Truth::kTrue)
    return {t, fmt::format("K <= {} (exact int32 accumulation) is {}: K = {}", max_k,
                           sym::truth_name(t), b.size(-1).str())};
  return op::Applicability::yes();
}

op::Variant variant(std::string name, tensor::Isa isa, std::int64_t max_k, std::string rule) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = std::move(rule);
  v.applicable = [max_k](const op::Args& a, sym::ShapeEnv& env) {
    return applicable(a, env, max_k);
  };
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
    bool per_channel, per_token, azp, bias;
    DType out;
  };
  const std::vector<Case> cases = {
      {"K64_N48_lead0", {}, 64, 48, true, true, false, true, DType::kBF16},
      {"M3_K17_N5", {3}, 17, 5, false, false, false, false, DType::kF32},
      {"M1_K130_N33_azp", {1}, 130, 33, true, true, true, true, DType::kF16},
      {"M6_K257_N70_lead2", {2, 3}, 257, 70, true, true, true, true, DType::kBF16},
      {"M8_K96_N130_lead3", {2, 1, 4}, 96, 130, true, false, true, true, DType::kF32},
      {"M0_K32_N16", {0}, 32, 16, true, true, false, true, DType::kBF16},
      {"M17_K515_N31", {17}, 515, 31, false, true, false, true, DType::kF32},
      {"M40_K200_N67", {40}, 200, 67, true, true, true, true, DType::kBF16},
  };
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 101;
  for (const Case& c : cases) {
    tensor::Shape ashape = c.lead, sshape = c.lead;
    ashape.push_back(c.K);
    sshape.push_back(1);
    Tensor a = random(ashape, DType::kI8, ++s, -128.f, 128.f);
    Tensor b = random({c.N, c.K}, DType::kI8, ++s, -128.f, 128.f);
    Tensor bs =
        c.per_channel ? random_scale({c.N, 1}, ++s, 0.001f, 0.01f) : gemm_op::scalar_f32(0.0037f);
    Tensor as = c.per_token ? random_scale(sshape, ++s, 0.01f, 0.05f) : gemm_op::scalar_f32(0.021f);
    op::Value z = op::None{};
    if (c.azp)
      z = c.per_token ? random(sshape, DType::kI32, ++s, -20.f, 20.f)
                      : Tensor::from_f32({1}, std::vector<float>{7.f}, DType::kI32);
    op::Value bias = op::None{};
    if (c.bias) bias = random({c.N}, c.out, ++s, -2.f, 2.f);
    out.push_back({c.label, {a, b, bs, as, c.out, z, bias}, false});
  }
  Tensor a = random({3, 16}, DType::kI8, 1, -128.f, 128.f),
         b = random({8, 16}, DType::kI8, 2, -128.f, 128.f);
  Tensor as = gemm_op::scalar_f32(0.1f);
  out.push_back({"C3_scale_1d",
                 {a, b, random_scale({8}, 3, 0.1f, 1.f), as, DType::kF32, op::None{}, op::None{}},
                 true});
  out.push_back({"C4_K_mismatch",
                 {random({3, 15}, DType::kI8, 4, -9.f, 9.f), b, gemm_op::scalar_f32(1.f), as,
                  DType::kF32, op::None{}, op::None{}},
                 true});
  out.push_back({"C5_flat_token_scale",
                 {a, b, gemm_op::scalar_f32(1.f), random_scale({3}, 5, 0.1f, 1.f), DType::kF32,
                  op::None{}, op::None{}},
                 true});
  return out;
}

}  // namespace
}  // namespace int8_gemm

void register_int8_gemm(op::Registry& r) {
  using namespace int8_gemm;
  op::OpDef def;
  def.name = "int8_gemm";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "W8A8 int8 GEMM: int32 accumulation, f32 epilogue with scales, zero point and bias";
  def.constraints = {
      "C1: a is i8 [*, K]",
      "C2: b is i8 [N, K], layout NK",
      "C3: b_scale is f32 [1] or [N, 1]",
      "C4: a.size(-1) == K",
      "C5: scale_a is f32 [1] or [*, 1]",
      "C6: azp is i32 with the shape of scale_a",
      "C7: out_dtype is bf16, f16 or f32",
      "C8: bias is [N] of out_dtype or f32",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(variant("int8_gemm.avx512_vnni", tensor::Isa::kAvx512Vnni, kMaxKVnni,
                                 "AVX512_VNNI; a rows viewable as [M, K]; K <= 65535"));
  def.variants.push_back(variant("int8_gemm.avx2", tensor::Isa::kAvx2, kMaxKS16,
                                 "AVX2; a rows viewable as [M, K]; K <= 131072"));
  def.variants.push_back(variant("int8_gemm.scalar", tensor::Isa::kNone, kMaxKS16,
                                 "a rows viewable as [M, K]; K <= 131072"));
  def.tolerance.compare = [](const op::Args& in, std::size_t, const Tensor& got, const Tensor&) {
    return gemm_op::compare_to_bound(got, ref_result(in));
  };
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
