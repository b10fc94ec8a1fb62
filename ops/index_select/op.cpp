// index_select(self, dim, index): rows of self along dim picked by a 1-D (or 0-d) int index,
// into a fresh row-major tensor; dim's size becomes index.numel() (PyTorch semantics, refdata
// "index_select"). Index values are data: the fake cannot see them, the kernel checks them.
//   C1: dim in [-rank, rank)                                                      code "dim"
//   C2: index is i32 or i64                                                       code "dtype"
//   C3: index has rank <= 1                                                       code "shape-mismatch"
//   C4 (kernel): 0 <= index < self.size(dim)                                      code "index"
#include "ops/common/elementwise.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

void check_index(std::string_view op, DType dtype, std::int64_t rank, const std::string& shape) {
  if (dtype != DType::kI64 && dtype != DType::kI32)  // C2
    raise(op, "C2", {"dtype", "index", "i32 or i64", std::string(tensor::name(dtype)),
               fmt::format("index_select(): Expected dtype int32/int64 for index but got: {}",
                           tensor::name(dtype))});
  if (rank > 1)  // C3
    raise(op, "C3", {"shape-mismatch", "index", "a vector", shape,
               "index_select(): Index is supposed to be a vector"});
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const TensorMeta& index = a.meta("index");
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim(), "C1"));  // C1
  check_index(cx.op, index.dtype, index.dim(), index.shape_str());
  SymShape sizes = x.sizes;
  if (x.dim() > 0) sizes[d] = index.numel();
  return {TensorMeta::contiguous(std::move(sizes), x.dtype, x.device)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("self");
  const Tensor& index = a.tensor("index");
  const std::int64_t d = wrap_dim("index_select", "dim", a.int_value("dim"), x.dim());
  check_index("index_select", index.dtype(), index.dim(), fmt::format("{}", fmt::join(index.sizes(), ", ")));
  tensor::Shape sizes = x.sizes();
  if (x.dim() > 0) sizes[static_cast<std::size_t>(d)] = index.numel();
  Tensor out = cx.alloc.output(0, sizes, x.dtype());
  const std::vector<double> ids = index.to_f64();  // exact for any index a tensor can address
  const std::int64_t n = x.dim() > 0 ? x.size(d) : 1;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto id = static_cast<std::int64_t>(ids[i]);
    if (id < 0 || id >= n)  // C4
      diag::fail("index", fmt::format("index_select(): index {} is out of range for dim {} of size {}", id, d, n));
    if (x.dim() == 0) out.copy_from(x);
    else out.select(d, static_cast<std::int64_t>(i)).copy_from(x.select(d, id));
  }
  return {out};
}

tensor::Tensor ids(tensor::Shape s, std::int64_t n, std::uint64_t seed, DType d = DType::kI64) {
  return samples::random(s, d, seed, 0.f, static_cast<float>(n));
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const Tensor x = samples::random({10, 4}, DType::kF32, seed++);
  const Tensor w = samples::random_layout({6, 5}, DType::kBF16, seed++, samples::Layout::kTransposed);
  const auto args = [](Tensor v, std::int64_t d, Tensor i) { return std::vector<op::Value>{v, SymInt(d), i}; };
  return {{"rows", args(x, 0, ids({6}, 10, seed++))},
          {"cols_i32", args(x, 1, ids({7}, 4, seed++, DType::kI32))},
          {"repeat", args(x, 0, ids({25}, 10, seed++))},
          {"scalar_index", args(x, 0, ids({}, 10, seed++))},
          {"empty_index", args(x, 0, ids({0}, 10, seed++))},
          {"transposed_self", args(w, -1, ids({3}, 5, seed++))},
          {"float_index", args(x, 0, samples::random({3}, DType::kF32, seed++)), true},
          {"matrix_index", args(x, 0, ids({2, 2}, 10, seed++)), true},
          {"bad_dim", args(x, 2, ids({2}, 4, seed++)), true}};
}

}  // namespace

void register_index_select(op::Registry& r) {
  op::OpDef def{.name = "index_select",
                .schema = op::Schema::parse("index_select(Tensor self, int dim, Tensor index) -> Tensor")};
  def.doc = "pick entries of one dim by an int index vector";
  def.constraints = {"C1: dim in [-rank, rank)", "C2: index is i32/i64", "C3: index rank <= 1",
                     "C4 (kernel): 0 <= index < self.size(dim)"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
