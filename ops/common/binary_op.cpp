#include "ops/common/binary_op.hpp"

#include <fmt/format.h>

#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

namespace v2 = boost::variant2;

DType result_dtype(const BinarySpec& s, std::string_view op, ew::Operand a, ew::Operand b) {
  if (!s.bool_error.empty() && (a.dtype == DType::kBool || b.dtype == DType::kBool))
    raise(op, "C2", {"dtype", a.dtype == DType::kBool ? "self" : "other", "a non-bool dtype", "bool", s.bool_error});
  const ew::Operand both[] = {a, b};
  const DType d = ew::result_type(op, both, "C2");
  if (s.true_division && !ew::is_floating(d)) return DType::kF32;
  return d;
}

op::Outputs fake(const BinarySpec& s, const op::Args& a, op::FakeContext& cx, bool scalar) {
  const TensorMeta& x = a.meta("self");
  if (scalar) {
    const DType d = result_dtype(s, cx.op, ew::operand_of(x), ew::operand_of_scalar(a.scalar("other")));
    return {TensorMeta::contiguous(x.sizes, d, x.device)};
  }
  const TensorMeta& y = a.meta("other");
  const DType d = result_dtype(s, cx.op, ew::operand_of(x), ew::operand_of(y));
  const ew::Named shapes[] = {{"self", &x.sizes}, {"other", &y.sizes}};
  return {TensorMeta::contiguous(ew::broadcast_shapes(cx, shapes, "C1"), d, x.device)};
}

op::Outputs reference(const BinarySpec& s, const op::Args& a, op::KernelContext& cx, bool scalar) {
  const Tensor& x = a.tensor("self");
  const Tensor y = scalar ? ew::scalar_tensor(a.scalar("other")) : a.tensor("other");
  const ew::Operand oy = scalar ? ew::operand_of_scalar(a.scalar("other")) : ew::operand_of(y);
  const DType d = result_dtype(s, s.name, ew::operand_of(x), oy);
  const Tensor ins[] = {x, y};
  const auto f = s.f64;
  const auto g = s.i64;
  return {ew::map_ref(
      ins, d, cx, [f](std::span<const double> v) { return f(v[0], v[1]); },
      [g](std::span<const std::int64_t> v) { return g(v[0], v[1]); }, s.name)};
}

// The contiguous same-shape f32/bf16 kernels, one variant per ISA build.
op::Variant fast_variant(const std::string& op, ewk::BinOp kind, op::Isa isa) {
  op::Variant v{.name = op + (isa == op::Isa::kNone ? ".scalar" : ".avx512"), .isa = isa,
                .rule = "self, other: same sizes, same dtype f32 or bf16, contiguous"};
  v.applicable = [](const op::Args& a, sym::ShapeEnv& env) -> op::Applicability {
    const TensorMeta& x = a.meta("self");
    const TensorMeta& y = a.meta("other");
    if (x.dtype != y.dtype || (x.dtype != DType::kF32 && x.dtype != DType::kBF16))
      return op::Applicability::no(fmt::format("dtypes {} and {}: needs two f32 or two bf16",
                                               tensor::name(x.dtype), tensor::name(y.dtype)));
    if (x.dim() != y.dim()) return op::Applicability::no("broadcasting ranks");
    for (std::size_t i = 0; i < x.sizes.size(); ++i)
      if (!x.sizes[i].identical(y.sizes[i]) && env.decide(sym::eq(x.sizes[i], y.sizes[i])) != sym::Truth::kTrue)
        return op::Applicability::no(fmt::format("sizes {} and {} may differ (broadcast)", x.shape_str(), y.shape_str()));
    for (const TensorMeta* m : {&x, &y}) {
      const sym::Truth t = env.decide(contiguity(*m));
      if (t != sym::Truth::kTrue)
        return {t, fmt::format("{} strides {} are {} contiguous", m == &x ? "self" : "other",
                               tensor::shape_str(m->strides), t == sym::Truth::kFalse ? "not" : "maybe not")};
    }
    return op::Applicability::yes();
  };
  v.run = [kind, isa](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor& x = a.tensor("self");
    const Tensor& y = a.tensor("other");
    Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
    (isa == op::Isa::kNone ? ewk::binary_scalar : ewk::binary_avx512)(kind, x.dtype(), x.data_ptr(), y.data_ptr(),
                                                                       out.data_ptr(), x.numel());
    return {out};
  };
  return v;
}

std::vector<op::Sample> tensor_samples(const BinarySpec& s, std::uint64_t seed) {
  using samples::Layout;
  const float lo = static_cast<float>(s.divisor_lo);
  const auto t = [&](tensor::Shape sh, DType d, Layout l = Layout::kContiguous, bool divisor = false) {
    return samples::random_layout(sh, d, seed++, l, divisor ? lo : -2.f, divisor ? lo + 8.f : 2.f);
  };
  const auto ints = [&](tensor::Shape sh, DType d, bool divisor = false) {
    return samples::random(sh, d, seed++, divisor ? lo : -100.f, divisor ? lo + 8.f : 100.f);
  };
  std::vector<op::Sample> out;
  const auto add = [&](std::string label, Tensor a, Tensor b, bool err = false) {
    out.push_back({std::move(label), {std::move(a), std::move(b)}, err});
  };
  // Same shape, the fast kernels' case: sizes 1, below / at / past a vector, primes.
  for (DType d : {DType::kF32, DType::kBF16})
    for (std::int64_t n : {1, 7, 16, 33, 130, 1031})
      add(fmt::format("{}_n{}", tensor::name(d), n), t({n}, d), t({n}, d, Layout::kContiguous, true));
  // [*, K] with [K] (bias) and [*, K] with [*, 1] (per-row scale), leading ranks 0..3.
  for (const tensor::Shape& lead : samples::leading_shapes()) {
    add(samples::label("bias", lead), t(samples::append(lead, 13), DType::kBF16), t({13}, DType::kBF16, Layout::kContiguous, true));
    add(samples::label("rowscale", lead), t(samples::append(lead, 13), DType::kF32),
        t(samples::append(lead, 1), DType::kF32, Layout::kContiguous, true));
    add(samples::label("same", lead), t(samples::append(lead, 13), DType::kF32),
        t(samples::append(lead, 13), DType::kF32, Layout::kContiguous, true));
  }
  for (Layout l : {Layout::kTransposed, Layout::kStrided, Layout::kExpanded})
    add(std::string(samples::layout_name(l)), t({4, 9}, DType::kF32, l), t({4, 9}, DType::kF32, Layout::kContiguous, true));
  add("both_stretch", t({5, 1, 4}, DType::kF32), t({3, 1}, DType::kF32, Layout::kContiguous, true));
  add("zero_dim_other", t({3}, DType::kF16), t({}, DType::kF32, Layout::kContiguous, true));
  add("zero_dim_both", t({}, DType::kF32), t({}, DType::kBF16, Layout::kContiguous, true));
  add("promote_bf16_f16", t({2, 3}, DType::kBF16), t({3}, DType::kF16, Layout::kContiguous, true));
  add("promote_i32_f32", ints({2, 3}, DType::kI32), t({3}, DType::kF32, Layout::kContiguous, true));
  add("int64", ints({2, 3}, DType::kI64), ints({3}, DType::kI64, true));
  add("int8_wraps", ints({2, 3}, DType::kI8), ints({2, 3}, DType::kI8, true));
  add("u8_i32", ints({6}, DType::kU8), ints({6}, DType::kI32, true));
  if (s.bool_error.empty() && !s.true_division && s.divisor_lo <= 0)
    add("bools", t({4}, DType::kBool), t({4}, DType::kBool));
  add("bad_broadcast", t({2, 3}, DType::kF32), t({4}, DType::kF32), true);
  return out;
}

std::vector<op::Sample> scalar_samples(const BinarySpec& s, std::uint64_t seed) {
  std::vector<op::Sample> out;
  const op::Value scalars[] = {SymInt(3), 2.5, true};
  const double safe = s.divisor_lo > 0 ? s.divisor_lo + 1 : 3;  // a nonzero divisor
  for (DType d : {DType::kF32, DType::kBF16, DType::kI32, DType::kU8, DType::kBool})
    for (const op::Value& v : scalars) {
      const op::Value other = v2::holds_alternative<SymInt>(v) ? op::Value(SymInt(static_cast<std::int64_t>(safe))) : v;
      const bool refused = !s.bool_error.empty() && (d == DType::kBool || v2::holds_alternative<bool>(v));
      out.push_back({fmt::format("{}_{}", tensor::name(d), op::value_str(other)),
                     {samples::random({2, 5}, d, seed++, 1.f, 9.f), other}, refused});
    }
  for (const tensor::Shape& lead : samples::leading_shapes())
    out.push_back({samples::label("lead", lead), {samples::random(samples::append(lead, 3), DType::kF16, seed++), 0.5}});
  return out;
}

}  // namespace

void register_binary(op::Registry& r, const BinarySpec& spec) {
  const auto s = std::make_shared<const BinarySpec>(spec);
  const std::vector<std::string> constraints = {"C1: self and other broadcast", "C2: the dtypes promote"};

  op::OpDef t{.name = spec.name,
              .schema = op::Schema::parse(spec.name + "(Tensor self, Tensor other) -> Tensor")};
  t.doc = spec.doc + " (broadcasting, type promotion)";
  t.constraints = constraints;
  t.fake = [s](const op::Args& a, op::FakeContext& cx) { return fake(*s, a, cx, false); };
  t.reference = [s](const op::Args& a, op::KernelContext& cx) { return reference(*s, a, cx, false); };
  t.samples = [s](std::uint64_t seed) { return tensor_samples(*s, seed); };
  t.tolerance = {.atol = 0, .rtol = 0};  // the fast kernels round exactly as the reference
  if (spec.fast) {
    t.variants.push_back(fast_variant(spec.name, *spec.fast, op::Isa::kAvx512));
    t.variants.push_back(fast_variant(spec.name, *spec.fast, op::Isa::kNone));
  }
  r.add(std::move(t));

  const std::string name = spec.name + "_scalar";
  op::OpDef sc{.name = name, .schema = op::Schema::parse(name + "(Tensor self, Scalar other) -> Tensor")};
  sc.doc = spec.doc + " with a Python number (its kind promotes: bf16 + 2.0 stays bf16)";
  sc.constraints = {"C2: the dtypes promote"};
  sc.fake = [s](const op::Args& a, op::FakeContext& cx) { return fake(*s, a, cx, true); };
  sc.reference = [s](const op::Args& a, op::KernelContext& cx) { return reference(*s, a, cx, true); };
  sc.samples = [s](std::uint64_t seed) { return scalar_samples(*s, seed); };
  r.add(std::move(sc));
}

}  // namespace symtrace::ops
