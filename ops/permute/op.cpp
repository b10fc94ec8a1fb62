// permute(self, dims): reorder dims (a view). PyTorch semantics (refdata "permute").
//   C1: len(dims) == rank                                                      code "dim"
//   C2: every dim in [-rank, rank), no dim twice                                code "dim"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

// dims wrapped and checked (C1, C2); shared by fake and reference, which differ only in
// what they permute.
std::vector<std::size_t> checked_dims(std::string_view op, const std::vector<std::int64_t>& dims,
                                      std::int64_t rank) {
  if (static_cast<std::int64_t>(dims.size()) != rank)
    raise(op, "C1", {"dim", "dims", fmt::format("{} dims", rank), std::to_string(dims.size()),
               fmt::format("number of dimensions in the tensor input does not match the length "
                           "of the desired ordering of dimensions i.e. input.dim() = {} is not "
                           "equal to len(dims) = {}",
                           rank, dims.size())});
  std::vector<std::size_t> out;
  std::vector<bool> seen(static_cast<std::size_t>(rank), false);
  for (std::int64_t d : dims) {
    const auto w = static_cast<std::size_t>(wrap_dim(op, "dims", d, rank, "C2"));
    if (seen[w])
      raise(op, "C2", {"dim", "dims", "a permutation", shape_str(dims),
                 "permute(): duplicate dims are not allowed."});
    seen[w] = true;
    out.push_back(w);
  }
  return out;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const auto dims = checked_dims(cx.op, a.ints("dims"), x.dim());
  SymShape sizes, strides;
  for (std::size_t d : dims) {
    sizes.push_back(x.sizes[d]);
    strides.push_back(x.strides[d]);
  }
  return {restride(x, std::move(sizes), std::move(strides), x.storage_offset)};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  tensor::Shape sizes, strides;
  for (std::size_t d : checked_dims("permute", a.ints("dims"), x.dim())) {
    sizes.push_back(x.sizes()[d]);
    strides.push_back(x.strides()[d]);
  }
  return {x.as_strided(sizes, strides, x.storage_offset())};
}

std::vector<SymInt> sym(std::initializer_list<std::int64_t> v) { return {v.begin(), v.end()}; }

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  using samples::Layout;
  const auto x = [&](tensor::Shape s, Layout l = Layout::kContiguous) {
    return samples::random_layout(s, DType::kI32, seed++, l, -100, 100);
  };
  return {{"reverse", {x({2, 3, 4, 5}), sym({3, 2, 1, 0})}},
          {"swap_middle", {x({2, 3, 4, 5}), sym({0, 2, 1, 3})}},
          {"negative", {x({2, 3, 4, 5}), sym({0, -1, 1, 2})}},
          {"heads_first_strided", {x({2, 7, 3, 4}, Layout::kStrided), sym({0, 2, 1, 3})}},
          {"rank1", {x({7}), sym({0})}},
          {"rank0", {x({}), sym({})}},
          {"too_few", {x({2, 3, 4, 5}), sym({1, 0, 2})}, true},
          {"duplicate", {x({2, 3, 4, 5}), sym({0, 1, 2, 2})}, true},
          {"out_of_range", {x({2, 3}), sym({0, 2})}, true}};
}

}  // namespace

void register_permute(op::Registry& r) {
  op::OpDef def{.name = "permute",
                .schema = op::Schema::parse("permute(Tensor self, int[] dims) -> Tensor")};
  def.doc = "reorder dims (a view)";
  def.constraints = {"C1: len(dims) == rank", "C2: dims is a permutation of [0, rank)"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
