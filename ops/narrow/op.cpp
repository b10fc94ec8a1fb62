// narrow(self, dim, start, length): elements start..start+length of one dim (a view; the
// storage offset moves). PyTorch semantics (refdata "narrow"); a negative start counts from
// the end.
//   C1: rank >= 1 and dim in [-rank, rank)                                       code "dim"
//   C2: start in [-size, size], length >= 0, start + length <= size              code "shape-mismatch"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  if (x.dim() == 0)
    raise(cx.op, "C1", {"dim", "self", "rank >= 1", "[]", "narrow() cannot be applied to a 0-dim tensor."});
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim(), "C1"));  // C1
  const SymInt& size = x.sizes[d];
  SymInt start = a.sym_int("start");
  const SymInt& length = a.sym_int("length");
  const auto fail = [&](std::string arg, std::string expected, std::string got, std::string msg) {
    raise(cx.op, "C2", {"shape-mismatch", std::move(arg), std::move(expected), std::move(got), std::move(msg)});
  };
  if (auto s = start.maybe_value(); s && *s < 0) {
    if (!holds(cx.env, sym::ge(start, -size), "narrow: start >= -size"))  // C2
      fail("start", fmt::format("[-{0}, {0}]", size.str()), start.str(),
           fmt::format("start out of range (expected to be in range of [-{0}, {0}], but got {1})",
                       size.str(), start.str()));
    start = start + size;
  }
  if (!holds(cx.env, sym::ge(length, 0), "narrow: length >= 0"))
    fail("length", ">= 0", length.str(), "narrow(): length must be non-negative.");
  if (!holds(cx.env, sym::le(start + length, size), fmt::format("{}: start + length <= size", cx.op)))
    fail("length", fmt::format("<= {} - {}", size.str(), start.str()), length.str(),
         fmt::format("start ({}) + length ({}) exceeds dimension size ({}).", start.str(), length.str(),
                     size.str()));
  TensorMeta out = x;
  out.sizes[d] = length;
  out.storage_offset = cx.env.simplify(x.storage_offset + start * x.strides[d]);
  return {out};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  if (x.dim() == 0) diag::fail("dim", "narrow of a 0-d tensor");
  const std::int64_t d = wrap_dim("narrow", "dim", a.int_value("dim"), x.dim());
  std::int64_t start = a.int_value("start");
  const std::int64_t length = a.int_value("length");
  if (start < -x.size(d) || start > x.size(d)) diag::fail("shape-mismatch", "narrow: start out of range");
  if (start < 0) start += x.size(d);
  if (length < 0 || start + length > x.size(d)) diag::fail("shape-mismatch", "narrow: too long");
  return {x.narrow(d, start, length)};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const auto args = [](Tensor t, std::int64_t d, std::int64_t s, std::int64_t l) {
    return std::vector<op::Value>{t, SymInt(d), SymInt(s), SymInt(l)};
  };
  const Tensor x = samples::random({2, 3, 4, 5}, DType::kF32, seed);
  const Tensor t = samples::random_layout({3, 7}, DType::kF32, seed + 1, samples::Layout::kTransposed);
  std::vector<op::Sample> s = {{"first", args(x, 0, 0, 1)},
                               {"middle", args(x, 1, 1, 2)},
                               {"last_dim", args(x, 3, 2, 3)},
                               {"negative", args(x, -1, -2, 2)},
                               {"empty", args(x, 2, 4, 0)},
                               {"transposed", args(t, 1, 2, 4)},
                               {"too_long", args(x, 1, 2, 5), true},
                               {"start_too_negative", args(x, 1, -4, 1), true},
                               {"negative_length", args(x, 1, 0, -1), true},
                               {"scalar", args(samples::random({}, DType::kF32, seed), 0, 0, 1), true}};
  for (const tensor::Shape& lead : samples::leading_shapes())  // a K-slice of [*, K]
    s.push_back({samples::label("lead", lead),
                 args(samples::random(samples::append(lead, 11), DType::kF32, seed++), -1, 3, 5)});
  return s;
}

}  // namespace

void register_narrow(op::Registry& r) {
  op::OpDef def{.name = "narrow",
                .schema = op::Schema::parse(
                    "narrow(Tensor self, int dim, SymInt start, SymInt length) -> Tensor")};
  def.doc = "a contiguous range of one dim (a view with a storage offset)";
  def.constraints = {"C1: rank >= 1, dim in [-rank, rank)",
                     "C2: -size <= start <= size, length >= 0, start + length <= size"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
