// select(self, dim, index): one index of one dim, which disappears (a view with a storage
// offset). PyTorch semantics (refdata "select"); a negative index counts from the end.
//   C1: rank >= 1 and dim in [-rank, rank)                                       code "dim"
//   C2: index in [-size, size)                                                   code "index"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  if (x.dim() == 0)
    raise(cx.op, "C1", {"dim", "self", "rank >= 1", "[]", "select() cannot be applied to a 0-dim tensor."});
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim(), "C1"));  // C1
  const SymInt& size = x.sizes[d];
  SymInt index = a.sym_int("index");
  const auto c = index.maybe_value();
  const bool negative = c && *c < 0;
  if (!holds(cx.env, negative ? sym::ge(index, -size) : sym::lt(index, size),
             fmt::format("{}: index {} within dim {} of {}", cx.op, index.str(), d, x.shape_str())))
    raise(cx.op, "C2", {"index", "index", fmt::format("[-{0}, {0})", size.str()), index.str(),
                  fmt::format("select(): index {} out of range for tensor of size {} at dimension {}",
                              index.str(), x.shape_str(), d)});  // C2
  if (negative) index = index + size;
  TensorMeta out = x;
  out.sizes.erase(out.sizes.begin() + static_cast<std::ptrdiff_t>(d));
  out.strides.erase(out.strides.begin() + static_cast<std::ptrdiff_t>(d));
  out.storage_offset = cx.env.simplify(x.storage_offset + index * x.strides[d]);
  return {out};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  if (x.dim() == 0) diag::fail("dim", "select of a 0-d tensor");
  const std::int64_t d = wrap_dim("select", "dim", a.int_value("dim"), x.dim());
  std::int64_t index = a.int_value("index");
  if (index < -x.size(d) || index >= x.size(d)) diag::fail("index", "select: index out of range");
  if (index < 0) index += x.size(d);
  return {x.select(d, index)};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const auto args = [](Tensor t, std::int64_t d, std::int64_t i) {
    return std::vector<op::Value>{t, SymInt(d), SymInt(i)};
  };
  const Tensor x = samples::random({2, 3, 4, 5}, DType::kI64, seed, -50, 50);
  const Tensor t = samples::random_layout({3, 6}, DType::kI64, seed + 1, samples::Layout::kTransposed, -50, 50);
  return {{"first", args(x, 0, 1)},        {"negative_index", args(x, 1, -1)},
          {"last_dim", args(x, 3, 4)},     {"rank1", args(samples::random({7}, DType::kI64, seed), 0, 6)},
          {"transposed", args(t, 1, 2)},   {"out_of_range", args(x, 1, 3), true},
          {"too_negative", args(x, 1, -4), true},
          {"scalar", args(samples::random({}, DType::kI64, seed), 0, 0), true}};
}

}  // namespace

void register_select(op::Registry& r) {
  op::OpDef def{.name = "select",
                .schema = op::Schema::parse("select(Tensor self, int dim, SymInt index) -> Tensor")};
  def.doc = "one index of one dim, which is removed (a view)";
  def.constraints = {"C1: rank >= 1, dim in [-rank, rank)", "C2: -size <= index < size"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
