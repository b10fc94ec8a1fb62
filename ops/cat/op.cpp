// cat(tensors, dim=0): concatenate along dim into a fresh row-major tensor of the promoted
// dtype. PyTorch semantics (refdata "cat"): 1-D empty tensors ([0]) are skipped (legacy).
//   C1: at least one tensor; dim in [-rank, rank) of the first non-skipped one   code "dim"
//   C2: every tensor has that rank                                               code "shape-mismatch"
//   C3: sizes agree outside dim                                                  code "shape-mismatch"
//   C4: the dtypes promote                                                       code "dtype"
#include "ops/common/elementwise.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

// PyTorch still accepts (and skips) 1-D empty tensors whatever their rank.
bool skipped(const TensorMeta& t) {
  if (t.dim() != 1) return false;
  const auto n = t.sizes[0].maybe_value();
  return n && *n == 0;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const std::vector<TensorMeta>& ts = a.metas("tensors");
  if (ts.empty())
    raise(cx.op, "C1", {"shape-mismatch", "tensors", "a non-empty list", "[]",
                  "torch.cat(): expected a non-empty list of Tensors"});
  std::vector<ew::Operand> operands;
  for (const TensorMeta& t : ts) operands.push_back({t.dtype, ew::Category::kTensor});
  const DType dtype = ew::result_type(cx.op, operands, "C4");
  const TensorMeta* first = nullptr;
  for (const TensorMeta& t : ts)
    if (!skipped(t)) first = first ? first : &t;
  if (!first) return {TensorMeta::contiguous(ts[0].sizes, dtype, ts[0].device)};
  const std::int64_t rank = first->dim();
  if (rank == 0)
    raise(cx.op, "C1", {"dim", "tensors", "tensors with >= 1 dim", "a 0-d tensor",
                  "zero-dimensional tensor (at position 0) cannot be concatenated"});
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), rank, "C1"));  // C1
  SymShape out = first->sizes;
  out[d] = 0;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const TensorMeta& t = ts[i];
    if (skipped(t)) continue;
    if (t.dim() != rank)  // C2
      raise(cx.op, "C2", {"shape-mismatch", fmt::format("tensors[{}]", i), fmt::format("{}-D", rank),
                    fmt::format("{}-D", t.dim()),
                    fmt::format("Number of dimensions of tensors must match.  Expected {}-D tensors, "
                                "but got {}-D for tensor number {} in the list",
                                rank, t.dim(), i)});
    for (std::size_t k = 0; k < static_cast<std::size_t>(rank); ++k) {
      if (k == d || t.sizes[k].identical(first->sizes[k])) continue;
      if (!holds(cx.env, sym::eq(t.sizes[k], first->sizes[k]),
                 fmt::format("cat: tensors[{}].size({}) matches", i, k)))  // C3
        raise(cx.op, "C3", {"shape-mismatch", fmt::format("tensors[{}]", i), first->sizes[k].str(),
                      t.sizes[k].str(),
                      fmt::format("Sizes of tensors must match except in dimension {}. Expected {} in "
                                  "dimension {} but got {} for tensor number {} in the list",
                                  d, first->sizes[k].str(), k, t.sizes[k].str(), i)});
    }
    out[d] = out[d] + t.sizes[d];
  }
  out[d] = cx.env.simplify(out[d]);
  return {TensorMeta::contiguous(std::move(out), dtype, first->device)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const std::vector<Tensor>& ts = a.tensors("tensors");
  if (ts.empty()) diag::fail("shape-mismatch", "cat: no tensors");
  std::vector<ew::Operand> operands;
  for (const Tensor& t : ts) operands.push_back({t.dtype(), ew::Category::kTensor});
  const DType dtype = ew::result_type("cat", operands);
  std::vector<const Tensor*> kept;
  for (const Tensor& t : ts)
    if (!(t.dim() == 1 && t.size(0) == 0)) kept.push_back(&t);
  if (kept.empty()) return {cx.alloc.output(0, ts[0].sizes(), dtype)};
  const std::int64_t rank = kept[0]->dim();
  if (rank == 0) diag::fail("dim", "cat: 0-d tensor");
  const std::int64_t d = wrap_dim("cat", "dim", a.int_value("dim"), rank);
  tensor::Shape out_shape = kept[0]->sizes();
  out_shape[static_cast<std::size_t>(d)] = 0;
  for (const Tensor* t : kept) {
    if (t->dim() != rank) diag::fail("shape-mismatch", "cat: ranks differ");
    for (std::int64_t k = 0; k < rank; ++k)
      if (k != d && t->size(k) != kept[0]->size(k)) diag::fail("shape-mismatch", "cat: sizes differ");
    out_shape[static_cast<std::size_t>(d)] += t->size(d);
  }
  Tensor out = cx.alloc.output(0, out_shape, dtype);
  std::int64_t at = 0;
  for (const Tensor* t : kept) {
    out.narrow(d, at, t->size(d)).copy_from(*t, tensor::Rounding::kRaw);
    at += t->size(d);
  }
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  using samples::Layout;
  const auto t = [&](tensor::Shape s, DType d = DType::kF32, Layout l = Layout::kContiguous) {
    return samples::random_layout(s, d, seed++, l);
  };
  const auto args = [](std::vector<Tensor> ts, std::int64_t dim) {
    return std::vector<op::Value>{std::move(ts), SymInt(dim)};
  };
  std::vector<op::Sample> s = {
      {"rows", args({t({2, 3}), t({4, 3})}, 0)},
      {"cols", args({t({2, 3}), t({2, 5})}, 1)},
      {"last_neg", args({t({2, 3, 4}), t({2, 3, 1})}, -1)},
      {"skips_empty_1d", args({t({2, 3}), t({0})}, 0)},
      {"three_mixed_layouts",
       args({t({3, 4}, DType::kF32, Layout::kTransposed), t({3, 2}), t({3, 5}, DType::kF32, Layout::kStrided)}, 1)},
      {"promote_f16_f32", args({t({2, 3}, DType::kF16), t({2, 3})}, 0)},
      {"promote_i8_bf16", args({t({2, 3}, DType::kI8), t({1, 3}, DType::kBF16)}, 0)},
      {"single", args({t({5})}, 0)},
      {"size_mismatch", args({t({2, 3}), t({2, 4})}, 0), true},
      {"rank_mismatch", args({t({2, 3}), t({2, 3, 1})}, 0), true},
      {"dim_out_of_range", args({t({2, 3}), t({2, 3})}, 2), true},
      {"empty_list", args({}, 0), true}};
  for (const tensor::Shape& lead : samples::leading_shapes())  // [*, d1] ++ [*, d2] along -1
    s.push_back({samples::label("lead", lead),
                 args({t(samples::append(lead, 3), DType::kBF16), t(samples::append(lead, 4), DType::kBF16)}, -1)});
  return s;
}

}  // namespace

void register_cat(op::Registry& r) {
  op::OpDef def{.name = "cat", .schema = op::Schema::parse("cat(Tensor[] tensors, int dim=0) -> Tensor")};
  def.doc = "concatenate along dim (dtypes promote; 1-D empty tensors are skipped)";
  def.constraints = {"C1: dim in [-rank, rank)", "C2: equal ranks", "C3: equal sizes outside dim",
                     "C4: dtypes promote"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
