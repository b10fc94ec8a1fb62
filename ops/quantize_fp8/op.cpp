// quantize_fp8: x [*, K] -> (q f8_e4m3fn [*, K], scale), static or dynamic, per-tensor,
// per-token or per-token-group 1 x g (OPS.md §4.1-§4.3; formulas §15.3).
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/quantize_fp8/quantize_fp8.hpp"

namespace symtrace::ops {
namespace quantize_fp8 {
namespace {

constexpr std::string_view kSchema =
    "quantize_fp8(Tensor x, Tensor? scale=None, *, str granularity='tensor', int group=128, "
    "str scale_fmt='f32', bool scale_col_major=False, float? scale_ub=None, "
    "ScalarType qdtype=f8_e4m3fn) -> (Tensor q, Tensor scale)";

}  // namespace

Config config(const op::Args& a) {
  Config c;
  const std::string& g = a.str("granularity");
  c.mode = !a.is_none("scale") ? Mode::kStatic
           : g == "token"      ? Mode::kToken
           : g == "group"      ? Mode::kGroup
                               : Mode::kTensor;
  c.group = a.int_value("group");
  c.pow2 = a.str("scale_fmt") == "f32_pow2";
  c.col_major = a.flag("scale_col_major");
  if (auto ub = a.opt_f64("scale_ub")) c.ub = static_cast<float>(*ub);
  return c;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x is a 16/32-bit float activation [*, K].
  require_dtype(site, "x", x, {DType::kBF16, DType::kF16, DType::kF32});
  if (x.dim() < 1)
    fail(site, violation("shape", "x", "[*, K]", x.shape_str(), "x must have at least one dim"));
  // C2: the CPU quantizers produce f8_e4m3fn only.
  if (a.dtype("qdtype") != DType::kF8E4M3FN)
    qop::bad_argument(site.with("C2"), "qdtype", "f8_e4m3fn",
                      std::string(tensor::name(a.dtype("qdtype"))),
                      "quantize_fp8 produces f8_e4m3fn codes only",
                      "fnuz targets convert the checkpoint instead (OPS.md §2)");
  // C3: granularity.
  const std::string& gran = a.str("granularity");
  if (gran != "tensor" && gran != "token" && gran != "group")
    qop::bad_argument(site.with("C3"), "granularity", "'tensor', 'token' or 'group'",
                      fmt::format("'{}'", gran), "unknown granularity");
  const Config c = config(a);
  const SymInt K = x.sizes.back();
  const SymShape lead = qop::leading_dims(x);

  // C4: a static scale is f32 [1] (per-tensor) or [K] (per input column), granularity 'tensor'.
  TensorMeta scale_out;
  if (const TensorMeta* s = a.opt_meta("scale")) {
    const CheckSite c4 = site.with("C4");
    require_scale_dtype(c4, "scale", *s);
    if (gran != "tensor")
      qop::bad_argument(c4, "granularity", "'tensor'", fmt::format("'{}'", gran),
                        "a given (static) scale is per-tensor or per input column; dynamic "
                        "granularities compute their own scales",
                        "pass scale=None for dynamic per-token or per-group quantization");
    const bool one = s->dim() == 1 && cx.env.decide(sym::eq(s->sizes[0], 1)) == sym::Truth::kTrue;
    if (!one) require_shape(c4, "scale-layout", "scale", *s, {K}, "static scales are [1] or [K]");
    scale_out = TensorMeta::contiguous(s->sizes, DType::kF32, x.device);
  }

  // C5: group size.
  if (c.mode == Mode::kGroup && c.group < 1)
    qop::bad_argument(site.with("C5"), "group", ">= 1", std::to_string(c.group),
                      "the group size must be positive");
  // C6: scale format and layout.
  const std::string& fmt_s = a.str("scale_fmt");
  if (fmt_s != "f32" && fmt_s != "f32_pow2")
    qop::bad_argument(site.with("C6"), "scale_fmt", "'f32' or 'f32_pow2'",
                      fmt::format("'{}'", fmt_s), "unsupported scale format",
                      fmt_s == "ue8m0_packed4"
                          ? "packed UE8M0 scales are produced by the deepgemm-like block_fp8_gemm "
                            "variant's own quantizer"
                          : "");
  if ((c.pow2 || c.col_major) && c.mode != Mode::kGroup)
    qop::bad_argument(site.with("C6"), c.pow2 ? "scale_fmt" : "scale_col_major",
                      "granularity 'group'", fmt::format("granularity '{}'", gran),
                      "power-of-two and column-major scales exist only for per-token-group "
                      "quantization");
  // C7: scale_ub bounds per-token amax only.
  if (c.ub) {
    if (c.mode != Mode::kToken)
      qop::bad_argument(site.with("C7"), "scale_ub", "granularity 'token'",
                        fmt::format("granularity '{}'", gran),
                        "scale_ub bounds the per-token amax only");
    if (!(std::isfinite(*c.ub) && *c.ub > 0))
      qop::bad_argument(site.with("C7"), "scale_ub", "finite and > 0", fmt::format("{}", *c.ub),
                        "scale_ub must be a positive finite bound");
  }

  TensorMeta q = TensorMeta::contiguous(x.sizes, DType::kF8E4M3FN, x.device);
  SymShape ss = lead;
  switch (c.mode) {
    case Mode::kStatic:
      break;
    case Mode::kTensor:
      scale_out = TensorMeta::contiguous({1}, DType::kF32, x.device);
      break;
    case Mode::kToken:
      ss.push_back(1);
      scale_out = TensorMeta::contiguous(ss, DType::kF32, x.device);
      break;
    case Mode::kGroup: {
      ss.push_back(sym::ceildiv(K, c.group));
      scale_out = TensorMeta::contiguous(ss, DType::kF32, x.device);
      if (c.col_major) {
        // Column-major [*, G]: the flattened leading dims are contiguous, G has stride M.
        SymShape st = TensorMeta::contiguous_strides(lead);
        st.push_back(qop::leading_numel(x));
        scale_out.strides = std::move(st);
      }
      break;
    }
  }
  scale_out.scale_fmt = c.pow2 ? tensor::ScaleFormat::kF32Pow2 : tensor::ScaleFormat::kF32;
  return {q, scale_out};
}

namespace {

std::vector<op::Sample> samples(std::uint64_t seed) {
  using tensor::Tensor;
  std::vector<op::Sample> out;
  const std::vector<std::pair<std::string, tensor::Shape>> shapes = {
      {"K1", {1}},
      {"K130", {130}},
      {"M1_K257", {1, 257}},
      {"M3_K17", {3, 17}},
      {"B2_S7_K129", {2, 7, 129}},
      {"B2_T1_S3_K64", {2, 1, 3, 64}},
      {"M0_K16", {0, 16}}};
  int i = 0;
  for (const auto& [label, shape] : shapes) {
    const DType d = (i % 3 == 0) ? DType::kBF16 : (i % 3 == 1) ? DType::kF16 : DType::kF32;
    Tensor x = Tensor::empty(shape, d);
    x.fill_random(seed + static_cast<std::uint64_t>(i), -3.f, 3.f);
    out.push_back({"dynamic_tensor_" + label, {x, op::None{}}, false});
    Tensor s = Tensor::from_f32({1}, std::vector<float>{0.0123f});
    out.push_back({"static_" + label, {x, s}, false});
    Tensor sk = Tensor::empty({shape.back()}, DType::kF32);
    sk.fill_random(seed + 100 + static_cast<std::uint64_t>(i), 0.001f, 0.02f);
    out.push_back({"static_cols_" + label, {x, sk}, false});
    ++i;
  }
  // A non-contiguous activation: the reference reads it, the fast variants decline it.
  Tensor xt = Tensor::empty({40, 6}, DType::kBF16);
  xt.fill_random(seed + 7, -2.f, 2.f);
  out.push_back({"transposed_K40", {xt.transpose(0, 1), op::None{}}, false});
  // Rejected calls: bf16 scale (C4), [K+1] scale (C4), int input (C1).
  Tensor x = Tensor::empty({3, 8}, DType::kBF16);
  x.fill_random(seed, -1.f, 1.f);
  out.push_back(
      {"C4_bf16_scale", {x, Tensor::from_f32({1}, std::vector<float>{0.5f}, DType::kBF16)}, true});
  out.push_back({"C4_scale_K_plus_1", {x, Tensor::zeros({9}, DType::kF32)}, true});
  out.push_back({"C1_int_x", {Tensor::zeros({3, 8}, DType::kI32), op::None{}}, true});
  return out;
}

op::Variant variant(std::string name, tensor::Isa isa, const quant::RowKernels* (*table)()) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = "x rows viewable as [M, K] with stride(-1) == 1";
  v.applicable = [](const op::Args& a, sym::ShapeEnv& env) {
    return qop::rows_applicable(a.meta("x"), env, "x");
  };
  v.run = [table](const op::Args& a, op::KernelContext& cx) { return run(a, cx, *table()); };
  return v;
}

const quant::RowKernels* scalar_table() { return &quant::row_kernels_scalar(); }

}  // namespace
}  // namespace quantize_fp8

void register_quantize_fp8(op::Registry& r) {
  using namespace quantize_fp8;
  op::OpDef def;
  def.name = "quantize_fp8";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "activation -> f8_e4m3fn codes and scales (static, per-tensor, per-token, 1xg group)";
  def.constraints = {
      "C1: x is bf16, f16 or f32 with rank >= 1",
      "C2: qdtype is f8_e4m3fn",
      "C3: granularity is 'tensor', 'token' or 'group'",
      "C4: a static scale is f32 [1] or [K], with granularity 'tensor'",
      "C5: group >= 1",
      "C6: scale_fmt is 'f32' or 'f32_pow2'; pow2 and column-major scales need 'group'",
      "C7: scale_ub only with 'token', finite and > 0",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(
      variant("quantize_fp8.avx512", tensor::Isa::kAvx512, quant::row_kernels_avx512));
  def.variants.push_back(variant("quantize_fp8.avx2", tensor::Isa::kAvx2, quant::row_kernels_avx2));
  def.variants.push_back(variant("quantize_fp8.scalar", tensor::Isa::kNone, scalar_table));
  // Codes and scales are bit-exact on every path (division form everywhere, §15.7 row 4).
  def.tolerance.atol = 0;
  def.tolerance.rtol = 0;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
