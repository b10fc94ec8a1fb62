// clone(self): a copy that keeps self's strides when they are dense (non-overlapping and
// without gaps, e.g. a permuted tensor) and is row-major otherwise — PyTorch's
// preserve_format (refdata "clone").
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"
#include "ops/common/dense_copy.hpp"

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  return {preserve_format_meta(cx.env, a.meta("self"), a.meta("self").dtype)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("self");
  Tensor out = preserve_format_output(x, x.dtype(), cx);
  out.copy_from(x);
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  using samples::Layout;
  std::vector<op::Sample> s;
  for (Layout l : {Layout::kContiguous, Layout::kTransposed, Layout::kStrided, Layout::kExpanded})
    s.push_back({std::string(samples::layout_name(l)), {samples::random_layout({2, 3, 5}, DType::kF16, seed++, l)}});
  const Tensor p = samples::random({2, 3, 4, 5}, DType::kF32, seed++);
  s.push_back({"permuted", {p.transpose(1, 2)}});
  s.push_back({"offset", {p.narrow(0, 1, 1)}});
  s.push_back({"scalar", {samples::random({}, DType::kI32, seed++)}});
  return s;
}

}  // namespace

void register_clone(op::Registry& r) {
  op::OpDef def{.name = "clone", .schema = op::Schema::parse("clone(Tensor self) -> Tensor")};
  def.doc = "a copy; dense layouts keep their strides (preserve_format)";
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
