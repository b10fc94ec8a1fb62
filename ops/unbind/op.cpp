// unbind(self, dim=0): every index of dim as a view without that dim (PyTorch semantics,
// refdata "unbind").
//   C1: rank >= 1, dim in [-rank, rank)                                           code "dim"
//   C2: the dim's size is concrete (it is the number of outputs)                  code "symbolic"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  if (x.dim() == 0)
    raise(cx.op, "C1", {"dim", "self", "rank >= 1", "[]", "Dimension specified as 0 but tensor has no dimensions"});
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim(), "C1"));  // C1
  const auto n = x.sizes[d].maybe_value();
  if (!n)  // C2
    raise(cx.op, "C2", {"symbolic", "self", "a concrete size", x.sizes[d].str(),
                  fmt::format("unbind: the number of outputs is dim {} of {}, which is symbolic", d,
                              x.shape_str())});
  std::vector<TensorMeta> out;
  for (std::int64_t i = 0; i < *n; ++i) {
    TensorMeta p = x;
    p.sizes.erase(p.sizes.begin() + static_cast<std::ptrdiff_t>(d));
    p.strides.erase(p.strides.begin() + static_cast<std::ptrdiff_t>(d));
    p.storage_offset = cx.env.simplify(x.storage_offset + x.strides[d] * i);
    out.push_back(std::move(p));
  }
  return {std::move(out)};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  if (x.dim() == 0) diag::fail("dim", "unbind of a 0-d tensor");
  const std::int64_t d = wrap_dim("unbind", "dim", a.int_value("dim"), x.dim());
  std::vector<Tensor> out;
  for (std::int64_t i = 0; i < x.size(d); ++i) out.push_back(x.select(d, i));
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const Tensor x = samples::random({2, 3, 4}, DType::kF32, seed);
  const auto args = [](Tensor v, std::int64_t d) { return std::vector<op::Value>{v, SymInt(d)}; };
  return {{"middle", args(x, 1)},
          {"first", args(x, 0)},
          {"last", args(x, -1)},
          {"transposed", args(samples::random_layout({3, 5}, DType::kF32, seed + 1, samples::Layout::kTransposed), 1)},
          {"empty_dim", args(samples::random({0, 3}, DType::kF32, seed), 0)},
          {"scalar", args(samples::random({}, DType::kF32, seed), 0), true},
          {"bad_dim", args(x, 3), true}};
}

}  // namespace

void register_unbind(op::Registry& r) {
  op::OpDef def{.name = "unbind", .schema = op::Schema::parse("unbind(Tensor self, int dim=0) -> Tensor[]")};
  def.doc = "every index of dim, as views without that dim";
  def.constraints = {"C1: rank >= 1, dim in [-rank, rank)", "C2: the dim's size is concrete"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
