// index(self, index): self[index] with one int index tensor of any shape — gather along dim
// 0, the result is [*index.shape, *self.shape[1:]], fresh and row-major (PyTorch advanced
// indexing with a single tensor, refdata "index": experts [E, N, K] gathered by ids [T, k]).
//   C1: self has rank >= 1                                                        code "dim"
//   C2: index is i32 or i64 (bool masks are data-dependent: not supported)        code "dtype"
//   C3 (kernel): -size <= index < size (negative counts from the end)             code "index"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

void check(std::string_view op, std::int64_t rank, DType index_dtype) {
  if (rank == 0) raise(op, "C1", {"dim", "self", "rank >= 1", "[]", "too many indices for tensor of dimension 0"});  // C1
  if (index_dtype != DType::kI64 && index_dtype != DType::kI32)  // C2
    raise(op, "C2", {"dtype", "index", "i32 or i64", std::string(tensor::name(index_dtype)),
               fmt::format("tensors used as indices must be long or int tensors, got {}{}",
                           tensor::name(index_dtype),
                           index_dtype == DType::kBool ? " (boolean masks make data-dependent shapes)" : "")});
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const TensorMeta& index = a.meta("index");
  check(cx.op, x.dim(), index.dtype);
  SymShape sizes = index.sizes;
  sizes.insert(sizes.end(), x.sizes.begin() + 1, x.sizes.end());
  return {TensorMeta::contiguous(std::move(sizes), x.dtype, x.device)};
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const Tensor& x = a.tensor("self");
  const Tensor& index = a.tensor("index");
  check("index", x.dim(), index.dtype());
  tensor::Shape sizes = index.sizes();
  sizes.insert(sizes.end(), x.sizes().begin() + 1, x.sizes().end());
  Tensor out = cx.alloc.output(0, sizes, x.dtype());
  // Rows of the output in order: one per index element.
  const Tensor rows = out.view({index.numel(), out.numel() / std::max<std::int64_t>(index.numel(), 1)});
  const std::vector<double> ids = index.to_f64();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto id = static_cast<std::int64_t>(ids[i]);
    if (id < -x.size(0) || id >= x.size(0))  // C3
      diag::fail("index", fmt::format("index {} is out of bounds for dimension 0 with size {}", id, x.size(0)));
    if (id < 0) id += x.size(0);
    rows.select(0, static_cast<std::int64_t>(i)).copy_from(x.select(0, id).contiguous().view({rows.size(1)}));
  }
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const auto ids = [&](tensor::Shape s, std::int64_t n, DType d = DType::kI64) {
    return samples::random(s, d, seed++, static_cast<float>(-n), static_cast<float>(n));
  };
  const Tensor experts = samples::random({10, 4, 3}, DType::kF32, seed++);
  const Tensor w = samples::random_layout({5, 6}, DType::kBF16, seed++, samples::Layout::kTransposed);
  const auto args = [](Tensor v, Tensor i) { return std::vector<op::Value>{v, i}; };
  return {{"experts_by_topk", args(experts, ids({2, 5}, 10))},
          {"vector", args(experts, ids({4}, 10, DType::kI32))},
          {"scalar_index", args(experts, ids({}, 10))},
          {"rank1_self", args(samples::random({7}, DType::kI32, seed++), ids({3, 2}, 7))},
          {"transposed_self", args(w, ids({4}, 5))},
          {"bool_mask", args(experts, samples::random({10}, DType::kBool, seed++)), true},
          {"scalar_self", args(samples::random({}, DType::kF32, seed++), ids({2}, 1)), true}};
}

}  // namespace

void register_index(op::Registry& r) {
  op::OpDef def{.name = "index", .schema = op::Schema::parse("index(Tensor self, Tensor index) -> Tensor")};
  def.doc = "self[index]: gather along dim 0 by an int tensor of any shape";
  def.constraints = {"C1: rank(self) >= 1", "C2: index is i32/i64", "C3 (kernel): -size <= index < size"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
