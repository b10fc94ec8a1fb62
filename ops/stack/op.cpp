// stack(tensors, dim=0): join equal-sized tensors along a new dim, into a fresh row-major
// tensor of the promoted dtype. PyTorch semantics (refdata "stack").
//   C1: at least one tensor; dim in [-(rank+1), rank]                             code "dim"
//   C2: every tensor has the sizes of the first                                   code "shape-mismatch"
#include "ops/common/elementwise.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const std::vector<TensorMeta>& ts = a.metas("tensors");
  if (ts.empty())
    raise(cx.op, "C1", {"shape-mismatch", "tensors", "a non-empty list", "[]", "stack expects a non-empty TensorList"});
  const TensorMeta& first = ts[0];
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), first.dim() + 1, "C1"));  // C1
  std::vector<ew::Operand> operands;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const TensorMeta& t = ts[i];
    operands.push_back({t.dtype, ew::Category::kTensor});
    bool same = t.dim() == first.dim();
    for (std::size_t k = 0; same && k < t.sizes.size(); ++k)
      same = t.sizes[k].identical(first.sizes[k]) ||
             holds(cx.env, sym::eq(t.sizes[k], first.sizes[k]), fmt::format("stack: tensors[{}] sizes", i));
    if (!same)  // C2
      raise(cx.op, "C2", {"shape-mismatch", fmt::format("tensors[{}]", i), first.shape_str(), t.shape_str(),
                    fmt::format("stack expects each tensor to be equal size, but got {} at entry 0 and "
                                "{} at entry {}",
                                first.shape_str(), t.shape_str(), i)});
  }
  SymShape out = first.sizes;
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(d), SymInt(static_cast<std::int64_t>(ts.size())));
  return {TensorMeta::contiguous(std::move(out), ew::result_type(cx.op, operands), first.device)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const std::vector<Tensor>& ts = a.tensors("tensors");
  if (ts.empty()) diag::fail("shape-mismatch", "stack: no tensors");
  const std::int64_t d = wrap_dim("stack", "dim", a.int_value("dim"), ts[0].dim() + 1);
  std::vector<ew::Operand> operands;
  for (const Tensor& t : ts) {
    if (t.sizes() != ts[0].sizes()) diag::fail("shape-mismatch", "stack: sizes differ");
    operands.push_back({t.dtype(), ew::Category::kTensor});
  }
  tensor::Shape shape = ts[0].sizes();
  shape.insert(shape.begin() + d, static_cast<std::int64_t>(ts.size()));
  Tensor out = cx.alloc.output(0, shape, ew::result_type("stack", operands));
  for (std::size_t i = 0; i < ts.size(); ++i)
    out.select(d, static_cast<std::int64_t>(i)).copy_from(ts[i], tensor::Rounding::kRaw);
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const auto t = [&](tensor::Shape s, DType d = DType::kF32,
                     samples::Layout l = samples::Layout::kContiguous) {
    return samples::random_layout(s, d, seed++, l);
  };
  const auto args = [](std::vector<Tensor> ts, std::int64_t dim) {
    return std::vector<op::Value>{std::move(ts), SymInt(dim)};
  };
  return {{"middle", args({t({2, 3}), t({2, 3})}, 1)},
          {"first", args({t({2, 3}), t({2, 3}), t({2, 3})}, 0)},
          {"last", args({t({4}), t({4})}, -1)},
          {"scalars", args({t({}), t({})}, 0)},
          {"layouts", args({t({3, 4}, DType::kF32, samples::Layout::kTransposed), t({3, 4})}, 2)},
          {"promote", args({t({2, 3}, DType::kI32), t({2, 3}, DType::kF16)}, 0)},
          {"unequal", args({t({2, 3}), t({3, 2})}, 0), true},
          {"dim_out_of_range", args({t({2, 3})}, 3), true}};
}

}  // namespace

void register_stack(op::Registry& r) {
  op::OpDef def{.name = "stack", .schema = op::Schema::parse("stack(Tensor[] tensors, int dim=0) -> Tensor")};
  def.doc = "join equal-sized tensors along a new dim";
  def.constraints = {"C1: dim in [-(rank+1), rank]", "C2: equal sizes"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
