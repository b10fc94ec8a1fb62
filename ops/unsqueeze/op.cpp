// unsqueeze(self, dim): insert a size-1 dim (a view). PyTorch semantics (refdata "unsqueeze").
//   C1: dim in [-(rank+1), rank]                                                code "dim"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim() + 1, "C1"));
  SymShape sizes = x.sizes, strides = x.strides;
  // The new dim's stride is what PyTorch picks: the next dim's extent, or 1 at the end.
  const SymInt stride = d < x.sizes.size() ? x.sizes[d] * x.strides[d] : SymInt(1);
  sizes.insert(sizes.begin() + static_cast<std::ptrdiff_t>(d), SymInt(1));
  strides.insert(strides.begin() + static_cast<std::ptrdiff_t>(d), stride);
  return {restride(x, std::move(sizes), std::move(strides), x.storage_offset)};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  const auto d = static_cast<std::size_t>(wrap_dim("unsqueeze", "dim", a.int_value("dim"), x.dim() + 1));
  tensor::Shape sizes = x.sizes(), strides = x.strides();
  const std::int64_t stride = d < sizes.size() ? sizes[d] * strides[d] : 1;
  sizes.insert(sizes.begin() + static_cast<std::ptrdiff_t>(d), 1);
  strides.insert(strides.begin() + static_cast<std::ptrdiff_t>(d), stride);
  return {x.as_strided(sizes, strides, x.storage_offset())};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  std::vector<op::Sample> s;
  for (const tensor::Shape& lead : samples::leading_shapes())
    for (std::int64_t d : {0, -1, 1})
      if (d <= static_cast<std::int64_t>(lead.size()) + 1)
        s.push_back({samples::label("dim" + std::to_string(d), lead),
                     {samples::random(samples::append(lead, 4), DType::kF32, seed++), SymInt(d)}});
  const auto x = samples::random_layout({2, 3, 4}, DType::kF32, seed, samples::Layout::kStrided);
  s.push_back({"strided_middle", {x, SymInt(2)}});
  s.push_back({"end", {x, SymInt(3)}});
  s.push_back({"most_negative", {x, SymInt(-4)}});
  s.push_back({"too_big", {x, SymInt(4)}, true});
  s.push_back({"too_negative", {x, SymInt(-5)}, true});
  return s;
}

}  // namespace

void register_unsqueeze(op::Registry& r) {
  op::OpDef def{.name = "unsqueeze",
                .schema = op::Schema::parse("unsqueeze(Tensor self, int dim) -> Tensor")};
  def.doc = "insert a size-1 dim (a view)";
  def.constraints = {"C1: dim in [-(rank+1), rank]"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
