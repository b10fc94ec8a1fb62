// to(self, dtype): self when the dtype is already right, else a converted copy that keeps
// dense strides (preserve_format) — PyTorch's Tensor.to(dtype) (refdata "to_fp8"). The
// conversion is PyTorch's plain cast: round to nearest even, fp8 overflow to NaN/inf
// (quantizers saturate instead; they are their own ops).
#include "ops/common/dense_copy.hpp"
#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const DType d = a.dtype("dtype");
  if (d == x.dtype) return {x};
  return {preserve_format_meta(cx.env, x, d)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("self");
  const DType d = a.dtype("dtype");
  if (d == x.dtype()) return {x};
  Tensor out = preserve_format_output(x, d, cx);
  out.copy_from(x, tensor::Rounding::kRaw);
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  using samples::Layout;
  std::vector<op::Sample> s;
  const std::pair<DType, DType> pairs[] = {
      {DType::kBF16, DType::kF8E4M3FN}, {DType::kF32, DType::kBF16}, {DType::kF32, DType::kF16},
      {DType::kBF16, DType::kF32},      {DType::kF32, DType::kI32},  {DType::kI8, DType::kF32},
      {DType::kF16, DType::kF8E5M2},    {DType::kF32, DType::kF32}};
  for (auto [from, to] : pairs)
    for (Layout l : {Layout::kContiguous, Layout::kTransposed, Layout::kStrided})
      s.push_back({std::string(tensor::name(from)) + "_to_" + std::string(tensor::name(to)) + "_" +
                       std::string(samples::layout_name(l)),
                   {samples::random_layout({3, 4, 5}, from, seed++, l, -600.f, 600.f), to}});
  return s;
}

}  // namespace

void register_to(op::Registry& r) {
  op::OpDef def{.name = "to", .schema = op::Schema::parse("to(Tensor self, ScalarType dtype) -> Tensor")};
  def.doc = "convert to dtype (self when already that dtype); PyTorch's plain cast";
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
