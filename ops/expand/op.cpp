// expand(self, size): broadcast size-1 dims (stride 0) and add leading dims (a view).
// PyTorch semantics (refdata "expand"); -1 keeps a dim.
//   C1: len(size) >= rank                                                      code "dim"
//   C2: a new leading dim is >= 0 (no -1)                                      code "shape-mismatch"
//   C3: an existing dim is -1, equal to size, or 1 (then stretched)            code "shape-mismatch"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const std::vector<SymInt>& size = a.sym_ints("size");
  const auto n = static_cast<std::int64_t>(size.size());
  if (n < x.dim())  // C1
    raise(cx.op, "C1", {"dim", "size", fmt::format(">= {} sizes", x.dim()), std::to_string(n),
                  fmt::format("expand({}, size={}): the number of sizes provided ({}) must be "
                              "greater or equal to the number of dimensions in the tensor ({})",
                              x.shape_str(), tensor::shape_str(size), n, x.dim())});
  SymShape sizes(size.size()), strides(size.size());
  for (std::int64_t i = n - 1; i >= 0; --i) {
    const auto u = static_cast<std::size_t>(i);
    const std::int64_t d = i - (n - x.dim());  // dim of self, < 0 for a new leading dim
    const auto target = size[u].maybe_value();
    if (d < 0) {
      if (target && *target < 0)  // C2
        raise(cx.op, "C2", {"shape-mismatch", "size", ">= 0", size[u].str(),
                      fmt::format("The expanded size of the tensor ({}) isn't allowed in a "
                                  "leading, non-existing dimension {}",
                                  *target, i)});
      // PyTorch gives a new dim the stride of a size-1 dim that is then stretched: 0.
      sizes[u] = size[u];
      strides[u] = !is_one(size[u]) ? SymInt(0) : i + 1 < n ? sizes[u + 1] * strides[u + 1] : SymInt(1);
      continue;
    }
    const SymInt& have = x.sizes[static_cast<std::size_t>(d)];
    const SymInt& stride = x.strides[static_cast<std::size_t>(d)];
    if ((target && *target == -1) || size[u].identical(have)) {
      sizes[u] = have, strides[u] = stride;
    } else if (is_one(have)) {
      sizes[u] = size[u], strides[u] = 0;
    } else if (holds(cx.env, sym::eq(have, size[u]),
                     fmt::format("expand of {} to {}: dim {}", x.shape_str(),
                                 tensor::shape_str(size), i))) {
      sizes[u] = have, strides[u] = stride;
    } else {  // C3
      raise(cx.op, "C3", {"shape-mismatch", "size", have.str(), size[u].str(),
                    fmt::format("The expanded size of the tensor ({}) must match the existing "
                                "size ({}) at non-singleton dimension {}.  Target sizes: {}.  "
                                "Tensor sizes: {}",
                                size[u].str(), have.str(), i, tensor::shape_str(size),
                                x.shape_str())});
    }
  }
  return {restride(x, std::move(sizes), std::move(strides), x.storage_offset)};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  const std::vector<std::int64_t> size = a.ints("size");
  const auto n = static_cast<std::int64_t>(size.size());
  if (n < x.dim()) diag::fail("dim", "expand: fewer sizes than dims");
  tensor::Shape sizes(size.size()), strides(size.size());
  for (std::int64_t i = n - 1; i >= 0; --i) {
    const auto u = static_cast<std::size_t>(i);
    const std::int64_t d = i - (n - x.dim());
    if (d < 0) {
      if (size[u] < 0) diag::fail("shape-mismatch", "expand: -1 in a new dim");
      sizes[u] = size[u];
      strides[u] = size[u] != 1 ? 0 : i + 1 < n ? sizes[u + 1] * strides[u + 1] : 1;
    } else if (size[u] == -1 || size[u] == x.size(d)) {
      sizes[u] = x.size(d), strides[u] = x.stride(d);
    } else if (x.size(d) == 1) {
      sizes[u] = size[u], strides[u] = 0;
    } else {
      diag::fail("shape-mismatch", "expand: size mismatch");
    }
  }
  return {x.as_strided(sizes, strides, x.storage_offset())};
}

std::vector<SymInt> sym(std::initializer_list<std::int64_t> v) { return {v.begin(), v.end()}; }

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const auto x = [&](tensor::Shape s, samples::Layout l = samples::Layout::kContiguous) {
    return samples::random_layout(s, DType::kF32, seed++, l);
  };
  return {{"stretch_first", {x({1, 3, 5}), sym({4, 3, 5})}},
          {"new_leading", {x({1, 3, 5}), sym({2, 4, 3, 5})}},
          {"new_unit_leading", {x({2, 3}), sym({1, 2, 3})}},
          {"keep_all", {x({1, 3, 5}), sym({-1, 3, 5})}},
          {"keep_rest", {x({1, 3, 5}), sym({4, -1, -1})}},
          {"rank0", {x({}), sym({2, 3})}},
          {"strided_stretch", {x({3, 1}, samples::Layout::kStrided), sym({2, 3, 7})}},
          {"to_zero", {x({1, 3}), sym({0, 3})}},
          {"fewer_sizes", {x({1, 3, 5}), sym({3, 5})}, true},
          {"mismatch", {x({1, 3, 5}), sym({1, 6, 5})}, true},
          {"infer_new_dim", {x({3}), sym({-1, 3})}, true}};
}

}  // namespace

void register_expand(op::Registry& r) {
  op::OpDef def{.name = "expand",
                .schema = op::Schema::parse("expand(Tensor self, SymInt[] size) -> Tensor")};
  def.doc = "stretch size-1 dims and add leading dims with stride 0 (a view)";
  def.constraints = {"C1: len(size) >= rank", "C2: new leading dims are >= 0",
                     "C3: existing dims are kept (-1, same size) or stretched from 1"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
