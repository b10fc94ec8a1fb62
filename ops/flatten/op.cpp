// flatten(self, start_dim=0, end_dim=-1): merge dims start..end into one — a view when the
// strides allow it, else a contiguous copy (PyTorch's reshape rule; refdata "flatten").
// A 0-d tensor becomes [1]; start == end returns self unchanged.
//   C1: start_dim, end_dim in [-rank, rank)                                      code "dim"
//   C2: start_dim <= end_dim (after wrapping)                                    code "dim"
#include "ops/common/samples.hpp"
#include "ops/common/view_rules.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

struct Range {
  std::int64_t start, end;
};

Range checked_range(std::string_view op, const op::Args& a, std::int64_t rank) {
  const Range r{wrap_dim(op, "start_dim", a.int_value("start_dim"), rank, "C1"),
                wrap_dim(op, "end_dim", a.int_value("end_dim"), rank, "C1")};  // C1
  if (r.start > r.end)  // C2
    raise(op, "C2", {"dim", "start_dim", fmt::format("<= end_dim ({})", r.end), std::to_string(r.start),
               "flatten() has invalid args: start_dim cannot come after end_dim"});
  return r;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const Range r = checked_range(cx.op, a, x.dim());
  if (x.dim() == 0) return {reshape_meta(cx.env, x, {SymInt(1)})};
  if (r.start == r.end) return {x};
  SymShape shape(x.sizes.begin(), x.sizes.begin() + r.start);
  SymInt merged = 1;
  for (std::int64_t d = r.start; d <= r.end; ++d) merged = merged * x.sizes[static_cast<std::size_t>(d)];
  shape.push_back(cx.env.simplify(merged));
  shape.insert(shape.end(), x.sizes.begin() + r.end + 1, x.sizes.end());
  return {reshape_meta(cx.env, x, shape)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("self");
  const Range r = checked_range("flatten", a, x.dim());
  if (x.dim() > 0 && r.start == r.end) return {x};
  tensor::Shape shape;
  std::int64_t merged = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d < r.start || d > r.end) shape.push_back(x.size(d));
    else merged *= x.size(d);
    if (d == r.end) shape.push_back(merged);
  }
  if (x.dim() == 0) shape = {1};
  try {
    return {x.view(shape)};
  } catch (const diag::Error&) {
    Tensor out = cx.alloc.output(0, x.sizes(), x.dtype());
    out.copy_from(x);
    return {out.view(shape)};
  }
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  using samples::Layout;
  const auto x = [&](tensor::Shape s, Layout l = Layout::kContiguous) {
    return samples::random_layout(s, DType::kF32, seed++, l);
  };
  const auto args = [](Tensor t, std::int64_t s, std::int64_t e) {
    return std::vector<op::Value>{t, SymInt(s), SymInt(e)};
  };
  std::vector<op::Sample> s = {
      {"all", args(x({2, 3, 4, 5}), 0, -1)},
      {"middle", args(x({2, 3, 4, 5}), 1, 2)},
      {"same", args(x({2, 3, 4, 5}), 0, 0)},
      {"last_two", args(x({2, 3, 4, 5}), -2, -1)},
      {"scalar", {x({})}},
      {"transposed_copies", args(x({2, 3, 5}, Layout::kTransposed), 1, 2)},
      {"transposed_views_lead", args(x({2, 3, 5}, Layout::kTransposed), 0, 0)},
      {"strided_lead_views", args(x({3, 4, 5}, Layout::kStrided), 0, 1)},
      {"expanded_copies", args(x({4, 3}, Layout::kExpanded), 0, 1)},
      {"start_after_end", args(x({2, 3, 4, 5}), 2, 1), true},
      {"out_of_range", args(x({2, 3}), 0, 2), true}};
  return s;
}

}  // namespace

void register_flatten(op::Registry& r) {
  op::OpDef def{.name = "flatten",
                .schema = op::Schema::parse(
                    "flatten(Tensor self, int start_dim=0, int end_dim=-1) -> Tensor")};
  def.doc = "merge dims start..end (a view when possible, else a copy)";
  def.constraints = {"C1: start_dim, end_dim in [-rank, rank)", "C2: start_dim <= end_dim"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
