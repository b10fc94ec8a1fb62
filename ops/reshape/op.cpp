// reshape(self, shape): view(self, shape) when the strides allow it, else a contiguous copy.
// PyTorch semantics (refdata meta_shapes.json "reshape"). With symbolic sizes the fake views
// only when the view is proven to exist and copies otherwise (the values are the same).
//   C1: at most one -1, other sizes >= 0, prod(shape) == numel(self)          code "view"
#include "ops/common/samples.hpp"
#include "ops/common/view_rules.hpp"

namespace symtrace::ops {
namespace {

using samples::Layout;

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const SymShape shape = infer_size(cx, "shape", a.sym_ints("shape"), x.numel(), "C1");
  return {reshape_meta(cx.env, x, shape)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("self");
  const tensor::Shape shape = infer_size("reshape", a.ints("shape"), x.numel());
  try {
    return {x.view(shape)};
  } catch (const diag::Error&) {  // not viewable: copy, then view the contiguous copy
    Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
    out.copy_from(x);
    return {out.view(shape)};
  }
}

std::vector<SymInt> sym(std::initializer_list<std::int64_t> v) { return {v.begin(), v.end()}; }

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  std::vector<op::Sample> s;
  const auto x = [&](tensor::Shape sizes, Layout l = Layout::kContiguous) {
    return samples::random_layout(sizes, DType::kBF16, seed++, l);
  };
  for (const tensor::Shape& lead : samples::leading_shapes()) {
    for (Layout l : {Layout::kContiguous, Layout::kTransposed, Layout::kStrided}) {
      const tensor::Shape in = samples::append(lead, 6);
      s.push_back({samples::label(std::string("flat_") + std::string(samples::layout_name(l)), lead),
                   {x(in, l), sym({-1})}});
      if (!lead.empty())
        s.push_back({samples::label(std::string("merge_") + std::string(samples::layout_name(l)), lead),
                     {x(in, l), sym({-1, 6})}});
    }
  }
  s.push_back({"transposed_split", {x({3, 2, 4}, Layout::kTransposed), sym({3, 2, 2, 2})}});
  s.push_back({"expanded_flat", {x({4, 3}, Layout::kExpanded), sym({12})}});
  s.push_back({"expanded_split", {x({4, 3}, Layout::kExpanded), sym({2, 2, 3})}});
  s.push_back({"bad_numel", {x({2, 3, 4}), sym({5, 5})}, true});
  s.push_back({"two_infers", {x({2, 3, 4}), sym({-1, -1})}, true});
  s.push_back({"negative", {x({2, 3}), sym({-2, 3})}, true});
  return s;
}

}  // namespace

void register_reshape(op::Registry& r) {
  op::OpDef def{.name = "reshape",
                .schema = op::Schema::parse("reshape(Tensor self, SymInt[] shape) -> Tensor")};
  def.doc = "view when the strides allow it, else a contiguous copy";
  def.constraints = {"C1: prod(shape) == numel(self), at most one -1"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
