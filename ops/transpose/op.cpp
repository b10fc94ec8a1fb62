// transpose(self, dim0, dim1), t(self), mT(self): swap two dims of the view (sizes and
// strides), PyTorch semantics (refdata meta_shapes.json "transpose", "t", "mT").
//   transpose C1: dim0, dim1 in [-rank, rank)                                  code "dim"
//   t C1: rank <= 2                                                            code "dim"
//   mT C1: rank >= 2                                                           code "dim"
#include "ops/common/samples.hpp"
#include "ops/common/fake_util.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

TensorMeta swap(const TensorMeta& x, std::int64_t d0, std::int64_t d1) {
  TensorMeta out = x;
  if (x.dim() == 0) return out;  // a 0-d tensor transposes to itself
  std::swap(out.sizes[static_cast<std::size_t>(d0)], out.sizes[static_cast<std::size_t>(d1)]);
  std::swap(out.strides[static_cast<std::size_t>(d0)], out.strides[static_cast<std::size_t>(d1)]);
  return out;
}

op::Outputs transpose_fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  return {swap(x, wrap_dim(cx.op, "dim0", a.int_value("dim0"), x.dim(), "C1"),  // C1
               wrap_dim(cx.op, "dim1", a.int_value("dim1"), x.dim(), "C1"))};
}

op::Outputs transpose_ref(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  if (x.dim() == 0) return {x};
  return {x.transpose(wrap_dim("transpose", "dim0", a.int_value("dim0"), x.dim()),
                      wrap_dim("transpose", "dim1", a.int_value("dim1"), x.dim()))};
}

op::Outputs t_fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  if (x.dim() > 2)  // C1
    raise(cx.op, "C1", {"dim", "self", "a tensor with <= 2 dims", x.shape_str(),
                  fmt::format("t() expects a tensor with <= 2 dimensions, but self is {}D", x.dim())});
  return {x.dim() == 2 ? swap(x, 0, 1) : x};
}

op::Outputs t_ref(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  if (x.dim() > 2) diag::fail("dim", "t: more than 2 dims");
  return {x.dim() == 2 ? x.transpose(0, 1) : x};
}

op::Outputs mt_fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  if (x.dim() < 2)  // C1
    raise(cx.op, "C1", {"dim", "self", "a tensor with >= 2 dims", x.shape_str(),
                  fmt::format("tensor.mT is only supported on matrices or batches of matrices. Got "
                              "{}-D tensor.",
                              x.dim())});
  return {swap(x, x.dim() - 2, x.dim() - 1)};
}

op::Outputs mt_ref(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  if (x.dim() < 2) diag::fail("dim", "mT: fewer than 2 dims");
  return {x.transpose(x.dim() - 2, x.dim() - 1)};
}

tensor::Tensor input(tensor::Shape s, std::uint64_t seed,
                     samples::Layout l = samples::Layout::kContiguous) {
  return samples::random_layout(s, DType::kF16, seed, l);
}

std::vector<op::Sample> transpose_samples(std::uint64_t seed) {
  using samples::Layout;
  std::vector<op::Sample> s;
  for (const tensor::Shape& lead : samples::leading_shapes()) {
    const tensor::Shape in = samples::concat(lead, {3, 4});
    s.push_back({samples::label("last_two", lead), {input(in, seed++), SymInt(-1), SymInt(-2)}});
    s.push_back({samples::label("first_last_strided", lead),
                 {input(in, seed++, Layout::kStrided), SymInt(0), SymInt(-1)}});
  }
  s.push_back({"same_dim", {input({2, 3, 4, 5}, seed++), SymInt(2), SymInt(2)}});
  s.push_back({"scalar", {input({}, seed++), SymInt(0), SymInt(-1)}});
  s.push_back({"dim_out_of_range", {input({2, 3, 4, 5}, seed++), SymInt(0), SymInt(4)}, true});
  return s;
}

std::vector<op::Sample> t_samples(std::uint64_t seed) {
  return {{"rank0", {input({}, seed)}},
          {"rank1", {input({7}, seed + 1)}},
          {"rank2", {input({3, 4}, seed + 2)}},
          {"rank2_transposed", {input({5, 2}, seed + 3, samples::Layout::kTransposed)}},
          {"rank3", {input({2, 3, 4}, seed + 4)}, true}};
}

std::vector<op::Sample> mt_samples(std::uint64_t seed) {
  std::vector<op::Sample> s;
  for (const tensor::Shape& lead : samples::leading_shapes())
    s.push_back({samples::label("lead", lead), {input(samples::concat(lead, {3, 4}), seed++)}});
  s.push_back({"rank1", {input({7}, seed)}, true});
  return s;
}

}  // namespace

void register_transpose(op::Registry& r) {
  op::OpDef tr{.name = "transpose",
               .schema = op::Schema::parse("transpose(Tensor self, int dim0, int dim1) -> Tensor")};
  tr.doc = "swap two dims (a view)";
  tr.constraints = {"C1: dim0, dim1 in [-rank, rank)"};
  tr.fake = transpose_fake;
  tr.reference = transpose_ref;
  tr.samples = transpose_samples;
  tr.is_view = true;
  r.add(std::move(tr));

  op::OpDef t{.name = "t", .schema = op::Schema::parse("t(Tensor self) -> Tensor")};
  t.doc = "transpose of a matrix; 0-d and 1-d tensors are returned as they are (a view)";
  t.constraints = {"C1: rank <= 2"};
  t.fake = t_fake;
  t.reference = t_ref;
  t.samples = t_samples;
  t.is_view = true;
  r.add(std::move(t));

  op::OpDef mt{.name = "mT", .schema = op::Schema::parse("mT(Tensor self) -> Tensor")};
  mt.doc = "swap the last two dims (a view)";
  mt.constraints = {"C1: rank >= 2"};
  mt.fake = mt_fake;
  mt.reference = mt_ref;
  mt.samples = mt_samples;
  mt.is_view = true;
  r.add(std::move(mt));
}

}  // namespace symtrace::ops
