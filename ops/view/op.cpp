// view(self, shape): the same storage read with new sizes. PyTorch semantics (refdata
// meta_shapes.json "view"); the stride rule lives in ops/common/view_rules.
//   C1: at most one -1, other sizes >= 0, prod(shape) == numel(self)          code "view"
//   C2: self's strides allow the view (no new dim spans two contiguous chunks) code "view"
#include "ops/common/samples.hpp"
#include "ops/common/view_rules.hpp"

namespace symtrace::ops {
namespace {

using samples::Layout;

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const SymShape shape = infer_size(cx, "shape", a.sym_ints("shape"), x.numel(), "C1");
  auto out = view_meta(cx.env, x, shape);                                          // C2
  if (!out) raise_not_viewable(cx.op, x, shape, "C2");
  return {*out};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  return {x.view(infer_size("view", a.ints("shape"), x.numel()))};
}

std::vector<SymInt> sym(std::initializer_list<std::int64_t> v) { return {v.begin(), v.end()}; }

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  std::vector<op::Sample> s;
  const auto x = [&](tensor::Shape sizes, Layout l = Layout::kContiguous) {
    return samples::random_layout(sizes, DType::kF32, seed++, l);
  };
  for (const tensor::Shape& lead : samples::leading_shapes()) {
    s.push_back({samples::label("lead_to_flat", lead), {x(samples::append(lead, 6)), sym({-1})}});
    tensor::Shape split = samples::concat(lead, {2, 3});
    s.push_back({samples::label("split_last", lead),
                 {x(samples::append(lead, 6)), std::vector<SymInt>(split.begin(), split.end())}});
  }
  s.push_back({"merge_2x3x4_to_6x4", {x({2, 3, 4}), sym({6, 4})}});
  s.push_back({"infer_middle", {x({2, 3, 4}), sym({3, -1, 2})}});
  s.push_back({"unit_dims", {x({2, 3, 4}), sym({1, 24, 1})}});
  s.push_back({"scalar_to_1x1", {x({}), sym({1, 1})}});
  s.push_back({"transposed_split_last", {x({3, 2, 4}, Layout::kTransposed), sym({3, 2, 2, 2})}});
  s.push_back({"strided_split_first", {x({4, 3}, Layout::kStrided), sym({2, 2, 3})}});
  s.push_back({"expanded_split_first", {x({4, 3}, Layout::kExpanded), sym({2, 2, 3})}});
  s.push_back({"empty", {x({0, 3}), sym({3, 0})}});
  // C1 / C2 violations: fake and reference must both refuse.
  s.push_back({"bad_numel", {x({2, 3, 4}), sym({5, 5})}, true});
  s.push_back({"two_infers", {x({2, 3, 4}), sym({-1, -1})}, true});
  s.push_back({"zero_and_infer", {x({2, 3, 4}), sym({0, -1})}, true});
  s.push_back({"transposed_merge", {x({3, 4}, Layout::kTransposed), sym({12})}, true});
  s.push_back({"strided_merge", {x({4, 3}, Layout::kStrided), sym({12})}, true});
  return s;
}

}  // namespace

void register_view(op::Registry& r) {
  op::OpDef def{.name = "view", .schema = op::Schema::parse("view(Tensor self, SymInt[] shape) -> Tensor")};
  def.doc = "the same storage with new sizes (-1 inferred); fails when strides do not allow it";
  def.constraints = {"C1: prod(shape) == numel(self), at most one -1",
                     "C2: the layout of self is viewable as shape"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
