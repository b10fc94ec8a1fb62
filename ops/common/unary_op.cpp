#include "ops/common/unary_op.hpp"

#include <fmt/format.h>

#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

using Result = UnarySpec::Result;

DType result_dtype(const UnarySpec& s, std::string_view op, DType d) {
  if (d == DType::kBool && !s.bool_error.empty()) raise(op, "C1", {"dtype", "self", "a non-bool dtype", "bool", s.bool_error});
  const bool floating = ew::is_floating(d);
  if (!floating && !ew::is_integral(d) && d != DType::kBool)
    raise(op, "C1", {"dtype", "self", "a float or integer dtype", std::string(tensor::name(d)),
               fmt::format("{} does not apply to {} (a scale or packed format)", op, tensor::name(d))});
  switch (s.result) {
    case Result::kSame: return d;
    case Result::kFloat: return floating ? d : DType::kF32;
    case Result::kFloatOnly:
      if (!floating)
        raise(op, "C1", {"dtype", "self", "a floating-point dtype", std::string(tensor::name(d)),
                   fmt::format("{} expects a floating-point tensor, got {}", op, tensor::name(d))});
      return d;
  }
  return d;
}

std::vector<op::Sample> make_samples(const UnarySpec& s, std::uint64_t seed) {
  using samples::Layout;
  std::vector<op::Sample> out;
  for (const tensor::Shape& lead : samples::leading_shapes())
    for (DType d : {DType::kF32, DType::kBF16})
      out.push_back({samples::label(std::string(tensor::name(d)), lead),
                     {samples::random(samples::append(lead, 19), d, seed++, -6.f, 6.f)}});
  for (Layout l : {Layout::kTransposed, Layout::kStrided, Layout::kExpanded})
    out.push_back({std::string(samples::layout_name(l)), {samples::random_layout({5, 3}, DType::kF16, seed++, l, -4.f, 4.f)}});
  const bool ints_ok = s.result != Result::kFloatOnly;
  out.push_back({"i32", {samples::random({7}, DType::kI32, seed++, -50.f, 50.f)}, !ints_ok});
  out.push_back({"bool", {samples::random({7}, DType::kBool, seed++)}, !ints_ok || !s.bool_error.empty()});
  out.push_back({"f64_scalar", {samples::random({}, DType::kF64, seed++, -3.f, 3.f)}});
  out.push_back({"e8m0_refused", {Tensor::zeros({3}, DType::kF8E8M0FNU)}, true});
  if (s.extra_samples)
    for (op::Sample& x : s.extra_samples(seed)) out.push_back(std::move(x));
  return out;
}

// The contiguous f32/bf16 kernels, one variant per ISA build.
op::Variant fast_variant(const std::string& op, ewk::UnaryOp kind, op::Isa isa) {
  op::Variant v{.name = op + (isa == op::Isa::kNone ? ".scalar" : ".avx512"), .isa = isa,
                .rule = "self f32 or bf16, contiguous"};
  v.applicable = [](const op::Args& a, sym::ShapeEnv& env) -> op::Applicability {
    const TensorMeta& x = a.meta("self");
    if (x.dtype != DType::kF32 && x.dtype != DType::kBF16)
      return op::Applicability::no(fmt::format("self is {}, needs f32 or bf16", tensor::name(x.dtype)));
    const sym::Truth t = env.decide(contiguity(x));
    if (t != sym::Truth::kTrue)
      return {t, fmt::format("self strides {} are {} contiguous", tensor::shape_str(x.strides),
                             t == sym::Truth::kFalse ? "not" : "maybe not")};
    return op::Applicability::yes();
  };
  v.run = [kind, isa](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor& x = a.tensor("self");
    Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
    (isa == op::Isa::kNone ? ewk::unary_scalar : ewk::unary_avx512)(kind, x.dtype(), x.data_ptr(), out.data_ptr(),
                                                                     x.numel());
    return {out};
  };
  return v;
}

}  // namespace

void register_unary(op::Registry& r, const UnarySpec& spec) {
  const auto s = std::make_shared<const UnarySpec>(spec);
  op::OpDef def{.name = spec.name,
                .schema = op::Schema::parse(spec.name + "(Tensor self" + spec.extra_args + ") -> Tensor")};
  def.doc = spec.doc;
  def.constraints = {"C1: self's dtype suits the op"};
  def.constraints.insert(def.constraints.end(), spec.extra_constraints.begin(), spec.extra_constraints.end());
  def.fake = [s](const op::Args& a, op::FakeContext& cx) -> op::Outputs {
    const TensorMeta& x = a.meta("self");
    if (s->check) s->check(a, cx.op);
    return {TensorMeta::contiguous(x.sizes, result_dtype(*s, cx.op, x.dtype), x.device)};
  };
  def.reference = [s](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor& x = a.tensor("self");
    if (s->check) s->check(a, s->name);
    const DType d = result_dtype(*s, s->name, x.dtype());
    const auto f = s->f64(a);
    const auto g = s->i64;
    const Tensor ins[] = {x};
    return {ew::map_ref(
        ins, d, cx, [&f](std::span<const double> v) { return f(v[0]); },
        [g](std::span<const std::int64_t> v) { return g ? g(v[0]) : v[0]; }, s->name)};
  };
  def.samples = [s](std::uint64_t seed) { return make_samples(*s, seed); };
  if (spec.fast) {
    def.variants = {fast_variant(spec.name, *spec.fast, op::Isa::kAvx512),
                    fast_variant(spec.name, *spec.fast, op::Isa::kNone)};
    def.tolerance = spec.fast_tolerance;
  }
  r.add(std::move(def));
}

}  // namespace symtrace::ops
