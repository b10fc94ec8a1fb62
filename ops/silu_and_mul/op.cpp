// silu_and_mul(x [*, 2d]) -> [*, d]: y = round(round(silu(gate)) · up) with gate = x[..., :d],
// up = x[..., d:] (OPS.md 11.4 and 15.6; HF act_fn(gate) * up, vLLM's kernel). Leading dims
// are carried through symbol for symbol.
//   C1: rank >= 1                                                                 code "dim"
//   C2: x.size(-1) is even                                                        code "shape-mismatch"
//   C3: x is a float dtype                                                        code "dtype"
// Variants: contiguous f32/bf16 x, AVX-512 then scalar (ops/common/ew_kernels*).
#include <cmath>

#include <fmt/format.h>

#include "ops/common/elementwise.hpp"
#include "ops/common/ew_kernels.hpp"
#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("x");
  if (x.dim() == 0) raise(cx.op, "C1", {"dim", "x", "[*, 2d]", "[]", "silu_and_mul needs a last dim to split"});  // C1
  if (!ew::is_floating(x.dtype))  // C3
    raise(cx.op, "C3", {"dtype", "x", "a float dtype", std::string(tensor::name(x.dtype)),
                  fmt::format("silu_and_mul expects a floating-point x, got {}", tensor::name(x.dtype))});
  const SymInt& two_d = x.sizes.back();
  if (!holds(cx.env, sym::divisible(two_d, 2), "silu_and_mul: x.size(-1) is even"))  // C2
    raise(cx.op, "C2", {"shape-mismatch", "x", "[*, 2d]", x.shape_str(),
                  fmt::format("the last dim of x ({}) must be even: gate and up halves", two_d.str())});
  SymShape out = x.sizes;
  out.back() = cx.env.simplify(sym::floordiv(two_d, 2));
  return {TensorMeta::contiguous(std::move(out), x.dtype, x.device)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("x");
  if (x.dim() == 0 || !ew::is_floating(x.dtype()) || x.size(-1) % 2 != 0)
    diag::fail("shape-mismatch", "silu_and_mul: x must be a float [*, 2d]");
  const std::int64_t d = x.size(-1) / 2;
  const Tensor gate = x.narrow(x.dim() - 1, 0, d), up = x.narrow(x.dim() - 1, d, d);
  // round(silu(gate)) in x's dtype first (OPS.md 11.4), then the product, rounded once.
  const DType dt = x.dtype();
  const Tensor g[] = {gate};
  op::HeapAllocator scratch;  // the rounded silu is an intermediate, not an output
  op::KernelContext scx{scratch};
  const Tensor s = ew::map_ref(
      g, dt, scx, [](std::span<const double> v) { return v[0] / (1 + std::exp(-v[0])); },
      [](std::span<const std::int64_t> v) { return v[0]; }, "silu_and_mul");
  const Tensor su[] = {s, up};
  return {ew::map_ref(
      su, dt, cx, [](std::span<const double> v) { return v[0] * v[1]; },
      [](std::span<const std::int64_t> v) { return v[0]; }, "silu_and_mul")};
}

op::Variant fast(op::Isa isa) {
  op::Variant v{.name = isa == op::Isa::kNone ? "silu_and_mul.scalar" : "silu_and_mul.avx512",
                .isa = isa,
                .rule = "x f32 or bf16, contiguous"};
  v.applicable = [](const op::Args& a, sym::ShapeEnv& env) -> op::Applicability {
    const TensorMeta& x = a.meta("x");
    if (x.dtype != DType::kF32 && x.dtype != DType::kBF16)
      return op::Applicability::no(fmt::format("x is {}, needs f32 or bf16", tensor::name(x.dtype)));
    const sym::Truth t = env.decide(contiguity(x));
    if (t != sym::Truth::kTrue) return {t, fmt::format("x strides {} are not proven contiguous", tensor::shape_str(x.strides))};
    return op::Applicability::yes();
  };
  v.run = [isa](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor& x = a.tensor("x");
    tensor::Shape sizes = x.sizes();
    const std::int64_t d = sizes.back() / 2;
    sizes.back() = d;
    Tensor out = cx.alloc.output(0, sizes, x.dtype());
    const std::int64_t rows = d == 0 ? 0 : out.numel() / d;
    (isa == op::Isa::kNone ? ewk::silu_and_mul_scalar : ewk::silu_and_mul_avx512)(x.dtype(), x.data_ptr(),
                                                                                   out.data_ptr(), rows, d);
    return {out};
  };
  return v;
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  using samples::Layout;
  std::vector<op::Sample> s;
  for (const tensor::Shape& lead : samples::leading_shapes())
    for (DType dt : {DType::kF32, DType::kBF16})
      for (std::int64_t d : {1, 16, 37, 130})
        s.push_back({samples::label(fmt::format("{}_d{}", tensor::name(dt), d), lead),
                     {samples::random(samples::append(lead, 2 * d), dt, seed++, -8.f, 8.f)}});
  s.push_back({"f16", {samples::random({3, 22}, DType::kF16, seed++, -8.f, 8.f)}});
  s.push_back({"transposed", {samples::random_layout({4, 6}, DType::kF32, seed++, Layout::kTransposed)}});
  s.push_back({"strided", {samples::random_layout({3, 10}, DType::kBF16, seed++, Layout::kStrided)}});
  s.push_back({"large_rows", {samples::random({257, 2 * 64}, DType::kBF16, seed++, -8.f, 8.f)}});
  s.push_back({"odd", {samples::random({3, 7}, DType::kF32, seed++)}, true});
  s.push_back({"int", {samples::random({3, 8}, DType::kI32, seed++, -5.f, 5.f)}, true});
  s.push_back({"scalar", {samples::random({}, DType::kF32, seed++)}, true});
  return s;
}

}  // namespace

void register_silu_and_mul(op::Registry& r) {
  op::OpDef def{.name = "silu_and_mul", .schema = op::Schema::parse("silu_and_mul(Tensor x) -> Tensor")};
  def.doc = "silu(x[..., :d]) * x[..., d:], [*, 2d] -> [*, d]";
  def.constraints = {"C1: rank >= 1", "C2: x.size(-1) is even", "C3: x is a float dtype"};
  def.fake = fake;
  def.reference = reference;
  def.variants = {fast(op::Isa::kAvx512), fast(op::Isa::kNone)};
  // f32 exp differs from the f64 reference by a few ulps; bf16 may then round one ulp apart,
  // and the product once more.
  def.tolerance = ew::ulp_tolerance(/*f32_ulps=*/8, /*half_ulps=*/2, /*atol=*/1e-30);
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
