// where(condition, self, other): self where condition else other, with the three shapes
// broadcast and self/other promoted (PyTorch semantics, refdata "where": f16 and f32 give f32).
//   C1: condition is bool                                                         code "dtype"
//   C2: the three shapes broadcast                                                code "broadcast"
//   C3: self and other promote                                                    code "dtype"
#include <fmt/format.h>

#include "ops/common/elementwise.hpp"
#include "ops/common/samples.hpp"

namespace symtrace::ops {
namespace {

DType result(std::string_view op, DType cond, ew::Operand a, ew::Operand b) {
  if (cond != DType::kBool)  // C1
    raise(op, "C1", {"dtype", "condition", "bool", std::string(tensor::name(cond)),
               fmt::format("where expected condition to be a boolean tensor, but got a tensor with dtype {}",
                           tensor::name(cond))});
  const ew::Operand both[] = {a, b};
  return ew::result_type(op, both, "C3");
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& c = a.meta("condition");
  const TensorMeta& x = a.meta("self");
  const TensorMeta& y = a.meta("other");
  const DType d = result(cx.op, c.dtype, ew::operand_of(x), ew::operand_of(y));
  const ew::Named shapes[] = {{"condition", &c.sizes}, {"self", &x.sizes}, {"other", &y.sizes}};
  return {TensorMeta::contiguous(ew::broadcast_shapes(cx, shapes, "C2"), d, x.device)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& c = a.tensor("condition");
  const Tensor& x = a.tensor("self");
  const Tensor& y = a.tensor("other");
  const DType d = result("where", c.dtype(), ew::operand_of(x), ew::operand_of(y));
  const Tensor ins[] = {c, x, y};
  return {ew::map_ref(
      ins, d, cx, [](std::span<const double> v) { return v[0] != 0 ? v[1] : v[2]; },
      [](std::span<const std::int64_t> v) { return v[0] != 0 ? v[1] : v[2]; }, "where")};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const auto t = [&](tensor::Shape s, DType d, samples::Layout l = samples::Layout::kContiguous) {
    return samples::random_layout(s, d, seed++, l);
  };
  std::vector<op::Sample> s = {
      {"promote", {t({2, 3}, DType::kBool), t({2, 3}, DType::kF16), t({3}, DType::kF32)}},
      {"mask_rows", {t({4, 1}, DType::kBool), t({4, 5}, DType::kBF16), t({}, DType::kBF16)}},
      {"ints", {t({6}, DType::kBool), t({6}, DType::kI32), t({6}, DType::kI8)}},
      {"layouts", {t({3, 4}, DType::kBool, samples::Layout::kTransposed), t({3, 4}, DType::kF32, samples::Layout::kStrided),
                   t({3, 4}, DType::kF32, samples::Layout::kExpanded)}},
      {"float_condition", {t({2}, DType::kF32), t({2}, DType::kF32), t({2}, DType::kF32)}, true},
      {"bad_broadcast", {t({2, 3}, DType::kBool), t({4}, DType::kF32), t({3}, DType::kF32)}, true}};
  for (const tensor::Shape& lead : samples::leading_shapes())
    s.push_back({samples::label("lead", lead),
                 {t(samples::append(lead, 5), DType::kBool), t(samples::append(lead, 5), DType::kF32), t({5}, DType::kF32)}});
  return s;
}

}  // namespace

void register_where(op::Registry& r) {
  op::OpDef def{.name = "where",
                .schema = op::Schema::parse("where(Tensor condition, Tensor self, Tensor other) -> Tensor")};
  def.doc = "self where condition else other (broadcasting, promotion)";
  def.constraints = {"C1: condition is bool", "C2: shapes broadcast", "C3: self and other promote"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
