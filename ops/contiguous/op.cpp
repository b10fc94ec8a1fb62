// contiguous(self): self when it is already row-major contiguous, else a row-major copy.
// PyTorch semantics (refdata "contiguous": transposed, permuted and expanded inputs copy).
// With symbolic sizes, "already contiguous" is decided by the ShapeEnv; an undecided layout
// copies (the graph then holds an explicit copy; the values are the same).
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  if (proven(cx.env, contiguity(x))) return {x};
  TensorMeta out = TensorMeta::contiguous(x.sizes, x.dtype, x.device);
  out.layout = x.layout;
  out.scale_fmt = x.scale_fmt;
  return {out};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("self");
  if (x.is_contiguous()) return {x};
  Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
  out.copy_from(x);
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  using samples::Layout;
  std::vector<op::Sample> s;
  for (DType d : {DType::kF32, DType::kBF16, DType::kI8, DType::kF8E4M3FN})
    for (Layout l : {Layout::kContiguous, Layout::kTransposed, Layout::kStrided, Layout::kExpanded})
      s.push_back({std::string(tensor::name(d)) + "_" + std::string(samples::layout_name(l)),
                   {samples::random_layout({3, 2, 5}, d, seed++, l)}});
  Tensor base = samples::random({4, 6}, DType::kF32, seed++);
  s.push_back({"offset_rows", {base.narrow(0, 1, 2)}});  // contiguous, with a storage offset
  s.push_back({"unit_dim_odd_stride", {base.narrow(1, 2, 1).transpose(0, 1)}});
  s.push_back({"scalar", {samples::random({}, DType::kF32, seed++)}});
  return s;
}

}  // namespace

void register_contiguous(op::Registry& r) {
  op::OpDef def{.name = "contiguous", .schema = op::Schema::parse("contiguous(Tensor self) -> Tensor")};
  def.doc = "self if row-major contiguous, else a row-major copy";
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
