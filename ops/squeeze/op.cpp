// squeeze(self, dim=None): drop size-1 dims — all of them, or those listed that have size 1
// (a view). PyTorch semantics (refdata "squeeze"). A symbolic dim that might be 1 is kept
// under a recorded guard that it is not 1.
//   C1: every listed dim in [-rank, rank)                                        code "dim"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

// Which dims to consider: all, or the listed ones wrapped (C1).
std::vector<bool> candidates(std::string_view op, const op::Args& a, std::int64_t rank) {
  std::vector<bool> c(static_cast<std::size_t>(rank), a.is_none("dim"));
  if (!a.is_none("dim"))
    for (std::int64_t d : a.ints("dim")) {
      const std::int64_t w = wrap_dim(op, "dim", d, rank, "C1");
      if (rank > 0) c[static_cast<std::size_t>(w)] = true;
    }
  return c;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const auto c = candidates(cx.op, a, x.dim());
  SymShape sizes, strides;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const SymInt& s = x.sizes[i];
    const bool drop = c[i] && (is_one(s) || (!s.is_concrete() &&
                                             !holds(cx.env, sym::ne(s, 1),
                                                    fmt::format("squeeze keeps dim {} of {}", i,
                                                                x.shape_str()))));
    if (drop) continue;
    sizes.push_back(s);
    strides.push_back(x.strides[i]);
  }
  return {restride(x, std::move(sizes), std::move(strides), x.storage_offset)};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  const auto c = candidates("squeeze", a, x.dim());
  tensor::Shape sizes, strides;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i] && x.sizes()[i] == 1) continue;
    sizes.push_back(x.sizes()[i]);
    strides.push_back(x.strides()[i]);
  }
  return {x.as_strided(sizes, strides, x.storage_offset())};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const Tensor x = samples::random({1, 3, 1}, DType::kBF16, seed);
  const Tensor y = samples::random_layout({2, 1, 5, 1}, DType::kBF16, seed + 1, samples::Layout::kStrided);
  const auto dims = [](std::initializer_list<std::int64_t> v) { return std::vector<SymInt>(v.begin(), v.end()); };
  return {{"all", {x}},
          {"dim0", {x, dims({0})}},
          {"dim1_not_one", {x, dims({1})}},
          {"dim_last", {x, dims({-1})}},
          {"two_dims", {x, dims({0, 2})}},
          {"strided_all", {y}},
          {"strided_dim3", {y, dims({3})}},
          {"scalar", {samples::random({}, DType::kBF16, seed + 2), dims({0})}},
          {"no_unit_dims", {samples::random({2, 3}, DType::kBF16, seed + 3)}},
          {"out_of_range", {x, dims({3})}, true}};
}

}  // namespace

void register_squeeze(op::Registry& r) {
  op::OpDef def{.name = "squeeze",
                .schema = op::Schema::parse("squeeze(Tensor self, int[]? dim=None) -> Tensor")};
  def.doc = "drop size-1 dims: all, or the listed ones (a view)";
  def.constraints = {"C1: listed dims in [-rank, rank)"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
