// unflatten(self, dim, sizes): split dim into sizes (one may be -1) — a view (PyTorch
// semantics, refdata "unflatten").
//   C1: dim in [-rank, rank)                                                     code "dim"
//   C2: sizes non-empty, at most one -1, prod(sizes) == self.size(dim)           code "shape-mismatch"
#include "ops/common/samples.hpp"
#include "ops/common/view_rules.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

[[noreturn]] void bad_sizes(std::string_view op, const std::vector<SymInt>& sizes, std::int64_t dim,
                            const SymInt& have) {
  raise(op, "C2", {"shape-mismatch", "sizes", fmt::format("sizes multiplying to {}", have.str()),
             tensor::shape_str(sizes),
             fmt::format("unflatten: Provided sizes {} don't multiply up to the size of dim {} ({}) "
                         "in the input tensor",
                         tensor::shape_str(sizes), dim, have.str())});
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const std::int64_t dim = wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim(), "C1");  // C1
  const std::vector<SymInt>& sizes = a.sym_ints("sizes");
  if (sizes.empty())
    raise(cx.op, "C2", {"shape-mismatch", "sizes", "non-empty sizes", "[]", "unflatten: sizes must be non-empty"});
  const SymInt& have = x.sizes[static_cast<std::size_t>(dim)];
  SymShape split;
  try {  // C2, with PyTorch's unflatten message rather than view's
    split = infer_size(cx, "sizes", sizes, have);
  } catch (const diag::Error&) {
    bad_sizes(cx.op, sizes, dim, have);
  }
  SymShape shape(x.sizes.begin(), x.sizes.begin() + dim);
  shape.insert(shape.end(), split.begin(), split.end());
  shape.insert(shape.end(), x.sizes.begin() + dim + 1, x.sizes.end());
  auto out = view_meta(cx.env, x, shape);
  if (!out) raise_not_viewable(cx.op, x, shape);  // a strided dim that does not split
  return {*out};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  const std::int64_t dim = wrap_dim("unflatten", "dim", a.int_value("dim"), x.dim());
  const std::vector<std::int64_t> sizes = a.ints("sizes");
  if (sizes.empty()) diag::fail("shape-mismatch", "unflatten: empty sizes");
  const tensor::Shape split = infer_size("unflatten", sizes, x.size(dim));
  tensor::Shape shape(x.sizes().begin(), x.sizes().begin() + dim);
  shape.insert(shape.end(), split.begin(), split.end());
  shape.insert(shape.end(), x.sizes().begin() + dim + 1, x.sizes().end());
  return {x.view(shape)};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const auto sz = [](std::initializer_list<std::int64_t> v) { return std::vector<SymInt>(v.begin(), v.end()); };
  std::vector<op::Sample> s;
  for (const tensor::Shape& lead : samples::leading_shapes())  // [*, H*D] -> [*, H, D]
    s.push_back({samples::label("heads", lead),
                 {samples::random(samples::append(lead, 12), DType::kBF16, seed++), SymInt(-1), sz({3, -1})}});
  const Tensor x = samples::random({2, 12}, DType::kBF16, seed++);
  s.push_back({"middle", {x, SymInt(1), sz({3, 4})}});
  s.push_back({"first", {x, SymInt(0), sz({1, 2})}});
  s.push_back({"strided", {samples::random_layout({4, 6}, DType::kBF16, seed++, samples::Layout::kStrided),
                           SymInt(0), sz({2, 2})}});
  s.push_back({"not_dividing", {x, SymInt(1), sz({5, -1})}, true});
  s.push_back({"wrong_product", {x, SymInt(1), sz({3, 3})}, true});
  s.push_back({"empty_sizes", {x, SymInt(1), sz({})}, true});
  s.push_back({"bad_dim", {x, SymInt(2), sz({3, 4})}, true});
  return s;
}

}  // namespace

void register_unflatten(op::Registry& r) {
  op::OpDef def{.name = "unflatten",
                .schema = op::Schema::parse("unflatten(Tensor self, int dim, SymInt[] sizes) -> Tensor")};
  def.doc = "split one dim into several (a view)";
  def.constraints = {"C1: dim in [-rank, rank)", "C2: prod(sizes) == self.size(dim), one -1 at most"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
