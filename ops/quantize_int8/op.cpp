// quantize_int8: x [*, K] -> (q i8 [*, K], scale f32, azp i32?) — static or dynamic,
// symmetric or asymmetric (OPS.md §4.4; formulas §15.3).
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/quantize_int8/quantize_int8.hpp"

namespace symtrace::ops {
namespace quantize_int8 {
namespace {

constexpr std::string_view kSchema =
    "quantize_int8(Tensor x, Tensor? scale=None, Tensor? azp=None, *, bool symmetric=True, "
    "str granularity='token', int group=128) -> (Tensor q, Tensor scale, Tensor? azp)";

bool is_unit(const sym::ShapeEnv& env, const TensorMeta& t) {
  return t.dim() == 1 && env.decide(sym::eq(t.sizes[0], 1)) == sym::Truth::kTrue;
}

}  // namespace

Config config(const op::Args& a) {
  Config c;
  c.symmetric = a.flag("symmetric");
  c.group = a.int_value("group");
  const std::string& g = a.str("granularity");
  c.mode = !a.is_none("scale") ? Mode::kStatic
           : g == "tensor"     ? Mode::kTensor
           : g == "group"      ? Mode::kGroup
           : c.symmetric       ? Mode::kToken
                               : Mode::kTokenAsym;
  return c;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x is a float activation [*, K].
  require_dtype(site, "x", x, {DType::kBF16, DType::kF16, DType::kF32});
  if (x.dim() < 1)
    fail(site, violation("shape", "x", "[*, K]", x.shape_str(), "x must have at least one dim"));
  // C2: granularity.
  const std::string& gran = a.str("granularity");
  if (gran != "tensor" && gran != "token" && gran != "group")
    qop::bad_argument(site.with("C2"), "granularity", "'tensor', 'token' or 'group'",
                      fmt::format("'{}'", gran), "unknown granularity");
  const Config c = config(a);
  const TensorMeta* scale = a.opt_meta("scale");
  const TensorMeta* azp = a.opt_meta("azp");
  // C3: a static scale is f32 [1]; there is no static per-token or per-group form.
  if (scale) {
    const CheckSite c3 = site.with("C3");
    require_scale_dtype(c3, "scale", *scale);
    if (!is_unit(cx.env, *scale)) require_shape(c3, "scale-layout", "scale", *scale, {1});
    if (gran == "group")
      qop::bad_argument(c3, "granularity", "'tensor' or 'token'", "'group'",
                        "a given (static) int8 scale is per-tensor");
  }
  // C4: azp i32 [1] goes with a static scale and symmetric=False, and the reverse.
  const CheckSite c4 = site.with("C4");
  if (azp) {
    if (!scale)
      qop::bad_argument(c4, "azp", "None", azp->shape_str(),
                        "a given zero point needs a given scale (static quantization)");
    if (c.symmetric)
      qop::bad_argument(c4, "symmetric", "False", "True",
                        "a zero point makes the quantization asymmetric");
    require_dtype(c4, "azp", *azp, {DType::kI32});
    if (!is_unit(cx.env, *azp)) require_shape(c4, "shape", "azp", *azp, {1});
  } else if (scale && !c.symmetric) {
    qop::bad_argument(c4, "azp", "an i32 [1] zero point", "None",
                      "static asymmetric quantization needs its zero point");
  }
  // C5: dynamic asymmetric quantization is per-token only.
  if (!scale && !c.symmetric && gran != "token")
    qop::bad_argument(site.with("C5"), "granularity", "'token'", fmt::format("'{}'", gran),
                      "dynamic asymmetric int8 quantization is per-token only");
  // C6: group size.
  if (c.mode == Mode::kGroup && c.group < 1)
    qop::bad_argument(site.with("C6"), "group", ">= 1", std::to_string(c.group),
                      "the group size must be positive");

  TensorMeta q = TensorMeta::contiguous(x.sizes, DType::kI8, x.device);
  SymShape ss = qop::leading_dims(x);
  switch (c.mode) {
    case Mode::kStatic:
    case Mode::kTensor:
      ss = {1};
      break;
    case Mode::kToken:
    case Mode::kTokenAsym:
      ss.push_back(1);
      break;
    case Mode::kGroup:
      ss.push_back(sym::ceildiv(x.sizes.back(), c.group));
      break;
  }
  TensorMeta s = TensorMeta::contiguous(ss, DType::kF32, x.device);
  s.scale_fmt = tensor::ScaleFormat::kF32;
  op::Value z = op::None{};
  if (!c.symmetric) z = TensorMeta::contiguous(ss, DType::kI32, x.device);
  return {q, s, z};
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
    out.push_back({"dynamic_token_" + label, {x}, false});
    out.push_back(
        {"static_" + label, {x, Tensor::from_f32({1}, std::vector<float>{0.021f})}, false});
    ++i;
  }
  Tensor xt = Tensor::empty({40, 6}, DType::kF32);
  xt.fill_random(seed + 7, -2.f, 2.f);
  out.push_back({"transposed_K40", {xt.transpose(0, 1)}, false});
  Tensor x = Tensor::empty({3, 8}, DType::kBF16);
  x.fill_random(seed, -1.f, 1.f);
  out.push_back({"C3_scale_2x1", {x, Tensor::zeros({2, 1}, DType::kF32)}, true});
  out.push_back({"C4_azp_without_scale", {x, op::None{}, Tensor::zeros({1}, DType::kI32)}, true});
  out.push_back({"C1_int_x", {Tensor::zeros({3, 8}, DType::kI8)}, true});
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
}  // namespace quantize_int8

void register_quantize_int8(op::Registry& r) {
  using namespace quantize_int8;
  op::OpDef def;
  def.name = "quantize_int8";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "activation -> int8 codes, scales and zero points (static/dynamic, sym/asym)";
  def.constraints = {
      "C1: x is bf16, f16 or f32 with rank >= 1",
      "C2: granularity is 'tensor', 'token' or 'group'",
      "C3: a static scale is f32 [1] (no static per-group form)",
      "C4: azp is i32 [1], given exactly when a static scale is asymmetric",
      "C5: dynamic asymmetric quantization is per-token",
      "C6: group >= 1",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(
      variant("quantize_int8.avx512", tensor::Isa::kAvx512, quant::row_kernels_avx512));
  def.variants.push_back(
      variant("quantize_int8.avx2", tensor::Isa::kAvx2, quant::row_kernels_avx2));
  def.variants.push_back(variant("quantize_int8.scalar", tensor::Isa::kNone, scalar_table));
  def.tolerance.atol = 0;  // codes, scales and zero points are bit-exact on every path
  def.tolerance.rtol = 0;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
