// slice(self, dim=0, start=None, end=None, step=1): Python slicing of one dim, x[start:end:step]
// (a view: the storage offset moves by start*stride and the stride grows by step). Start and
// end clamp to the dim like Python's; PyTorch semantics (refdata "slice").
//   C1: rank >= 1 and dim in [-rank, rank)                                       code "dim"
//   C2: step > 0                                                                 code "shape-mismatch"
#include <algorithm>

#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

// clamp(e, lo, hi) decided where possible; min/max expressions where not.
SymInt clamp(const sym::ShapeEnv& env, SymInt e, const SymInt& lo, const SymInt& hi) {
  if (!proven(env, sym::ge(e, lo))) e = proven(env, sym::le(e, lo)) ? lo : sym::max(e, lo);
  if (!proven(env, sym::le(e, hi))) e = proven(env, sym::ge(e, hi)) ? hi : sym::min(e, hi);
  return env.simplify(e);
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  if (x.dim() == 0)
    raise(cx.op, "C1", {"dim", "self", "rank >= 1", "[]", "slice() cannot be applied to a 0-dim tensor."});
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim(), "C1"));  // C1
  const std::int64_t step = a.int_value("step");
  if (step == 0) raise(cx.op, "C2", {"shape-mismatch", "step", "> 0", "0", "slice step cannot be zero"});  // C2
  if (step < 0)
    raise(cx.op, "C2", {"shape-mismatch", "step", "> 0", std::to_string(step), "step must be greater than zero"});
  const SymInt& size = x.sizes[d];
  const auto bound = [&](std::string_view name, const SymInt& none) {
    if (a.is_none(name)) return none;
    SymInt v = a.sym_int(name);
    if (auto c = v.maybe_value(); c && *c < 0) v = v + size;  // Python: negative counts from the end
    return clamp(cx.env, v, 0, size);
  };
  const SymInt start = bound("start", 0);
  const SymInt end = clamp(cx.env, bound("end", size), start, size);
  TensorMeta out = x;
  out.sizes[d] = cx.env.simplify(sym::floordiv(end - start + (step - 1), step));
  out.strides[d] = x.strides[d] * step;
  out.storage_offset = cx.env.simplify(x.storage_offset + start * x.strides[d]);
  return {out};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  if (x.dim() == 0) diag::fail("dim", "slice of a 0-d tensor");
  const std::int64_t d = wrap_dim("slice", "dim", a.int_value("dim"), x.dim());
  const std::int64_t step = a.int_value("step"), size = x.size(d);
  if (step <= 0) diag::fail("shape-mismatch", "slice: step must be > 0");
  const auto bound = [&](std::string_view name, std::int64_t none) {
    std::int64_t v = a.opt_int(name).value_or(none);
    if (v < 0) v += size;
    return std::clamp<std::int64_t>(v, 0, size);
  };
  const std::int64_t start = bound("start", 0);
  const std::int64_t end = std::max(start, bound("end", size));
  tensor::Shape sizes = x.sizes(), strides = x.strides();
  sizes[static_cast<std::size_t>(d)] = (end - start + step - 1) / step;
  strides[static_cast<std::size_t>(d)] *= step;
  return {x.as_strided(sizes, strides, x.storage_offset() + start * x.stride(d))};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const op::Value none = op::None{};
  const auto args = [&](Tensor t, std::int64_t d, op::Value s, op::Value e, std::int64_t step) {
    return std::vector<op::Value>{t, SymInt(d), s, e, SymInt(step)};
  };
  const auto i = [](std::int64_t v) { return op::Value(SymInt(v)); };
  const Tensor x = samples::random({2, 3, 4, 5}, DType::kF16, seed);
  const Tensor t = samples::random_layout({4, 9}, DType::kF16, seed + 1, samples::Layout::kStrided);
  return {{"step2_from1", args(x, 0, i(1), none, 2)},
          {"end_past_size", args(x, 2, i(0), i(5), 2)},
          {"plain", args(x, 3, i(1), i(4), 1)},
          {"step_equals_size", args(x, 1, i(0), i(3), 3)},
          {"all_step2", args(x, 3, none, none, 2)},
          {"negative_start", args(x, 3, i(-3), none, 1)},
          {"start_past_end_of_dim", args(x, 1, i(5), i(10), 1)},
          {"step_past_size", args(x, 3, i(0), i(5), 7)},
          {"end_before_start", args(x, 2, i(3), i(1), 1)},
          {"negative_end", args(x, 2, i(-100), i(-1), 1)},
          {"strided_input", args(t, 1, i(1), i(8), 3)},
          {"negative_step", args(x, 3, none, none, -1), true},
          {"zero_step", args(x, 3, none, none, 0), true},
          {"scalar", args(samples::random({}, DType::kF16, seed), 0, none, none, 1), true}};
}

}  // namespace

void register_slice(op::Registry& r) {
  op::OpDef def{.name = "slice",
                .schema = op::Schema::parse("slice(Tensor self, int dim=0, SymInt? start=None, "
                                            "SymInt? end=None, SymInt step=1) -> Tensor")};
  def.doc = "x[start:end:step] along one dim (a view)";
  def.constraints = {"C1: rank >= 1, dim in [-rank, rank)", "C2: step > 0"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
