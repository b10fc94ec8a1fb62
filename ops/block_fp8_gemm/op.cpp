// block_fp8_gemm — W8A8 fp8 with bn x bk weight-scale blocks and 1 x bk activation groups
// (OPS.md §7). Variants: deepgemm_like (bf16 out, N % 64, K % 128, power-of-two scales from its
// own prepare step), generic (any N, K, out dtype; f32 scales), AVX2 and scalar. Every variant
// serves decode too: its kernel picks the weight-streaming GEMV by the run-time M (gemv.hpp),
// so selection never depends on M and a symbolic, unknown M selects the same variant.
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/block_fp8_gemm/block_fp8.hpp"
#include "ops/common/quantizers_op.hpp"

namespace symtrace::ops {
namespace block_fp8_gemm {

// OPS.md writes the settings keyword-only (`*`); opcheck samples bind positionally.
constexpr std::string_view kSchema =
    "block_fp8_gemm(Tensor x, Tensor w, Tensor w_scale, int[2] block=[128, 128], "
    "str act_quant='group', ScalarType? out_dtype=None, Tensor? bias=None) -> Tensor";

Config config(const op::Args& a) {
  Config c;
  const std::vector<std::int64_t> b = a.ints("block");
  c.bn = b.at(0);
  c.bk = b.at(1);
  c.quantize_act = a.str("act_quant") == "group";
  const op::Value& x = a["x"];
  const DType xd = boost::variant2::holds_alternative<TensorMeta>(x)
                       ? boost::variant2::get<TensorMeta>(x).dtype
                       : boost::variant2::get<Tensor>(x).dtype();
  c.out = a.opt_dtype("out_dtype").value_or(xd);
  return c;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x is bf16, f16 or f32 [*, K].
  require_dtype(site, "x", x, {DType::kBF16, DType::kF16, DType::kF32});
  if (x.dim() < 1) fail(site, violation("shape", "x", "[*, K]", x.shape_str(), "x needs a K dim"));
  // C5: block is [bn, bk], both positive.
  const Config c = config(a);
  if (c.bn < 1 || c.bk < 1)
    qop::bad_argument(site.with("C5"), "block", "[bn, bk] with bn, bk >= 1",
                      fmt::format("[{}, {}]", c.bn, c.bk), "block sizes must be positive");
  // C2: w is f8_e4m3fn [N, K], layout NK.
  const TensorMeta& w = a.meta("w");
  require_dtype(site.with("C2"), "w", w, {DType::kF8E4M3FN});
  require_layout(site.with("C2"), "w", w, {WeightLayout::kNK});
  // C3: w_scale is the block grid [cdiv(N, bn), cdiv(K, bk)], f32 or f32_pow2 (a UE8M0 byte
  // or packed-i32 scale belongs to another kernel's prepare).
  const TensorMeta& s = a.meta("w_scale");
  require_scale_format(site.with("C3"), "w_scale", s, {ScaleFormat::kF32, ScaleFormat::kF32Pow2});
  const QuantizedWeight b = bind_weight(site.with("C3"), "w", w, "w_scale", s,
                                        {Granularity::kBlock}, BlockShape{c.bn, c.bk});
  // C4: x.size(-1) == K.
  require_k_match(site.with("C4"), "x", x, b);
  // C6: act_quant is "group" or "none".
  const std::string& aq = a.str("act_quant");
  if (aq != "group" && aq != "none")
    qop::bad_argument(site.with("C6"), "act_quant", "'group' or 'none'", fmt::format("'{}'", aq),
                      "unknown activation quantization");
  // C7: the output dtype is bf16, f16 or f32.
  if (c.out != DType::kBF16 && c.out != DType::kF16 && c.out != DType::kF32)
    fail(site.with("C7"),
         violation("dtype", "out_dtype", "bf16, f16 or f32", std::string(tensor::name(c.out)),
                   "the output of a quantized GEMM is a float dtype"));
  // C8: bias is [N] in the output dtype or f32.
  check_bias(site.with("C8"), "bias", a.opt_meta("bias"), b.N, {c.out, DType::kF32});
  return {gemm_out_meta(x, b.N, c.out)};
}

namespace {

// `what % m == 0` decided by the env; the reason names the symbol (OPS.md §13).
op::Applicability divisible(sym::ShapeEnv& env, const SymInt& v, std::int64_t m,
                            std::string_view name) {
  const sym::Truth t = env.decide(sym::divisible(v, m));
  if (t == sym::Truth::kTrue) return op::Applicability::yes();
  return {t,
          fmt::format("{} % {} == 0 is {}: {} = {}", name, m, sym::truth_name(t), name, v.str())};
}

op::Applicability deepgemm_applicable(const op::Args& a, sym::ShapeEnv& env) {
  const Config c = config(a);
  if (c.out != DType::kBF16)
    return op::Applicability::no(fmt::format("out_dtype {} != bf16", tensor::name(c.out)));
  if (c.bn != 128 || c.bk != 128)
    return op::Applicability::no(fmt::format("block [{}, {}] != [128, 128]", c.bn, c.bk));
  if (!c.quantize_act) return op::Applicability::no("act_quant 'none': no activation groups");
  const TensorMeta& s = a.meta("w_scale");
  if (scale_format_of(s) != ScaleFormat::kF32Pow2)
    return op::Applicability::no(
        fmt::format("w_scale is {}, needs f32_pow2 from the deepgemm_like prepare step",
                    tensor::scale_format_name(scale_format_of(s))));
  const TensorMeta& w = a.meta("w");
  if (auto r = divisible(env, w.size(0), 64, "N"); r.truth != sym::Truth::kTrue) return r;
  if (auto r = divisible(env, w.size(1), 128, "K"); r.truth != sym::Truth::kTrue) return r;
  return qop::rows_applicable(a.meta("x"), env, "x");
}

op::Applicability generic_applicable(const op::Args& a, sym::ShapeEnv& env, bool bf16_words) {
  const Config c = config(a);
  const TensorMeta& s = a.meta("w_scale");
  if (scale_format_of(s) != ScaleFormat::kF32)
    return op::Applicability::no(
        fmt::format("w_scale is {}: the bundle was prepared for another variant",
                    tensor::scale_format_name(scale_format_of(s))));
  if (bf16_words && c.bk % 2 != 0)
    return op::Applicability::no(fmt::format("bk = {} is odd (bf16 pairs)", c.bk));
  if (auto r = qop::rows_applicable(a.meta("x"), env, "x"); r.truth != sym::Truth::kTrue) return r;
  return qop::rows_applicable(a.meta("w"), env, "w");
}

op::Variant variant(std::string name, tensor::Isa isa, bool deepgemm, std::string rule) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = std::move(rule);
  if (deepgemm) {
    v.applicable = deepgemm_applicable;
    v.prepare = prepare_requant_ue8m0();
  } else {
    const bool bf16 = isa == tensor::Isa::kAvx512Bf16;
    v.applicable = [bf16](const op::Args& a, sym::ShapeEnv& env) {
      return generic_applicable(a, env, bf16);
    };
  }
  v.run = [isa, deepgemm](const op::Args& a, op::KernelContext& cx) {
    return run(a, cx, isa, /*pow2_act=*/deepgemm);
  };
  return v;
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  using gemm_op::random;
  using gemm_op::random_scale;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t K, N, bn, bk;
    std::string act_quant;
    op::Value out;
    DType x;
  };
  const op::Value none = op::None{};
  const std::vector<Case> cases = {
      {"M7_K448_N320", {7}, 448, 320, 128, 128, "group", none, DType::kBF16},
      {"K256_N128_lead0", {}, 256, 128, 128, 128, "group", none, DType::kBF16},
      {"M6_K256_N192_lead2", {2, 3}, 256, 192, 128, 128, "group", DType::kBF16, DType::kF32},
      {"M8_K200_N70_lead3_f16", {2, 1, 4}, 200, 70, 128, 128, "group", none, DType::kF16},
      {"M0_K128_N64", {0}, 128, 64, 128, 128, "group", none, DType::kBF16},
      {"M5_K130_N33_none", {5}, 130, 33, 128, 128, "none", DType::kF32, DType::kBF16},
      {"M4_K96_N40_block32x64", {4}, 96, 40, 32, 64, "group", none, DType::kBF16},
      {"M17_K384_N256", {17}, 384, 256, 128, 128, "group", none, DType::kBF16},
  };
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 173;
  for (const Case& c : cases) {
    tensor::Shape xs = c.lead;
    xs.push_back(c.K);
    Tensor x = random(xs, c.x, ++s, -3.f, 3.f);
    Tensor w = random({c.N, c.K}, DType::kF8E4M3FN, ++s, -448.f, 448.f);
    Tensor ws = random_scale({(c.N + c.bn - 1) / c.bn, (c.K + c.bk - 1) / c.bk}, ++s, 1e-4f, 1e-3f);
    const DType od =
        boost::variant2::holds_alternative<DType>(c.out) ? boost::variant2::get<DType>(c.out) : c.x;
    Tensor bias = random({c.N}, od, ++s, -1.f, 1.f);
    out.push_back(
        {c.label,
         {x, w, ws, std::vector<SymInt>{c.bn, c.bk}, std::string(c.act_quant), c.out, bias},
         false});
  }
  Tensor x = random({3, 256}, DType::kBF16, 1), w = random({128, 256}, DType::kF8E4M3FN, 2);
  out.push_back({"C3_transposed_grid",
                 {x, w, random_scale({2, 1}, 3, 0.1f, 1.f), std::vector<SymInt>{128, 128},
                  std::string("group"), none, none},
                 true});
  return out;
}

// Variants with dynamic activation quantization are compared to the reference within the
// OPS.md §15.7 bound, except deepgemm_like, whose requantized weight and power-of-two
// activation scales add two e4m3 roundings (the requantization alone is ~2.6 % relative
// Frobenius on the weight, vLLM #58157): relative L2 <= 8 % here; test.cpp holds it to the
// §15.7 bound against its own operands and to the 5 % bar on a larger problem.
std::string compare(const op::Args& in, const Tensor& got) {
  const gemm_op::RefResult r = ref_result(in, false);
  const std::string tight = gemm_op::compare_to_bound(got, r);
  if (tight.empty() || !config(in).quantize_act) return tight;
  const std::vector<double> g = got.to_f64();
  double num = 0, den = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    num += (g[i] - r.y[i]) * (g[i] - r.y[i]);
    den += r.y[i] * r.y[i];
  }
  const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  if (rel <= 0.08) return {};
  return fmt::format("relative L2 {:.4f} > 0.08 and {}", rel, tight);
}

}  // namespace
}  // namespace block_fp8_gemm

void register_block_fp8_gemm(op::Registry& r) {
  using namespace block_fp8_gemm;
  op::OpDef def;
  def.name = "block_fp8_gemm";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "block-scaled fp8 GEMM: 1 x bk activation groups, bn x bk weight blocks";
  def.constraints = {
      "C1: x is bf16, f16 or f32 [*, K]",
      "C2: w is f8_e4m3fn [N, K], layout NK",
      "C3: w_scale is f32 / f32_pow2 [cdiv(N, bn), cdiv(K, bk)] (not transposed)",
      "C4: x.size(-1) == K",
      "C5: block = [bn, bk] with bn, bk >= 1",
      "C6: act_quant is 'group' or 'none'",
      "C7: out_dtype (default x's) is bf16, f16 or f32",
      "C8: bias is [N] of the output dtype or f32",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(variant("block_fp8_gemm.deepgemm_like", tensor::Isa::kAvx512Bf16, true,
                                 "bf16 out, N % 64 == 0, K % 128 == 0, block [128, 128], "
                                 "act_quant group, f32_pow2 scales from its prepare; "
                                 "run time M <= 64: weight-streaming GEMV"));
  def.variants.push_back(variant("block_fp8_gemm.avx512_bf16", tensor::Isa::kAvx512Bf16, false,
                                 "AVX512_BF16; f32 scales; bk even; any N, K; "
                                 "run time M <= 64: weight-streaming GEMV"));
  def.variants.push_back(
      variant("block_fp8_gemm.avx2", tensor::Isa::kAvx2, false,
              "AVX2; f32 scales; any N, K; run time M <= 64: weight-streaming GEMV"));
  def.variants.push_back(
      variant("block_fp8_gemm.scalar", tensor::Isa::kNone, false,
              "f32 scales; any N, K; run time M <= 64: weight-streaming GEMV"));
  def.tolerance.compare = [](const op::Args& in, std::size_t, const Tensor& got, const Tensor&) {
    return compare(in, got);
  };
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
