// split(self, split_size, dim=0) and split_with_sizes(self, split_sizes, dim=0): views of
// consecutive pieces of one dim (storage offsets advance). PyTorch semantics (refdata
// "split"): split makes pieces of split_size with a shorter last one; split_with_sizes takes
// the sizes given, which must add up to the dim.
//   C1: rank >= 1, dim in [-rank, rank)                                           code "dim"
//   split C2: split_size >= 0, and 0 only for an empty dim                        code "shape-mismatch"
//   split C3: the dim's size is concrete (it decides the number of pieces)        code "symbolic"
//   split_with_sizes C2: sizes >= 0 and sum(split_sizes) == size                  code "shape-mismatch"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

std::size_t dim_of(std::string_view op, const op::Args& a, std::int64_t rank) {
  if (rank == 0) raise(op, "C1", {"dim", "self", "rank >= 1", "[]", fmt::format("{}: self has no dimensions", op)});
  return static_cast<std::size_t>(wrap_dim(op, "dim", a.int_value("dim"), rank, "C1"));
}

// Views of x along d with the given lengths (consecutive, from 0).
std::vector<TensorMeta> pieces(sym::ShapeEnv& env, const TensorMeta& x, std::size_t d,
                               const std::vector<SymInt>& lengths) {
  std::vector<TensorMeta> out;
  SymInt start = 0;
  for (const SymInt& len : lengths) {
    TensorMeta p = x;
    p.sizes[d] = len;
    p.storage_offset = env.simplify(x.storage_offset + start * x.strides[d]);
    out.push_back(std::move(p));
    start = start + len;
  }
  return out;
}

std::vector<Tensor> pieces(const Tensor& x, std::int64_t d, const std::vector<std::int64_t>& lengths) {
  std::vector<Tensor> out;
  std::int64_t start = 0;
  for (std::int64_t len : lengths) {
    out.push_back(x.narrow(d, start, len));
    start += len;
  }
  return out;
}

// Lengths of split(size, split_size): full pieces and a shorter last one (at least one piece).
std::vector<std::int64_t> split_lengths(std::int64_t size, std::int64_t split_size) {
  if (split_size == 0) return {0};
  std::vector<std::int64_t> out;
  for (std::int64_t start = 0; start < size; start += split_size) out.push_back(std::min(split_size, size - start));
  if (out.empty()) out.push_back(0);
  return out;
}

op::Outputs split_fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const std::size_t d = dim_of(cx.op, a, x.dim());  // C1
  const std::int64_t split_size = a.int_value("split_size");
  const SymInt& size = x.sizes[d];
  const auto concrete = size.maybe_value();
  if (!concrete)  // C3
    raise(cx.op, "C3", {"symbolic", "self", "a concrete size", size.str(),
                  fmt::format("split: the number of pieces depends on dim {} of {}, which is symbolic; "
                              "use split_with_sizes", d, x.shape_str())});
  if (split_size < 0 || (split_size == 0 && *concrete != 0))  // C2
    raise(cx.op, "C2", {"shape-mismatch", "split_size", "> 0", std::to_string(split_size),
                  fmt::format("split expects split_size be non-negative and 0 only for an empty dim, "
                              "but got split_size={} for dimension size {}", split_size, *concrete)});
  const auto lengths = split_lengths(*concrete, split_size);
  return {pieces(cx.env, x, d, std::vector<SymInt>(lengths.begin(), lengths.end()))};
}

op::Outputs split_ref(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  const auto d = static_cast<std::int64_t>(dim_of("split", a, x.dim()));
  const std::int64_t split_size = a.int_value("split_size");
  if (split_size < 0 || (split_size == 0 && x.size(d) != 0)) diag::fail("shape-mismatch", "split: bad split_size");
  return {pieces(x, d, split_lengths(x.size(d), split_size))};
}

op::Outputs sizes_fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const std::size_t d = dim_of(cx.op, a, x.dim());  // C1
  const std::vector<SymInt>& lengths = a.sym_ints("split_sizes");
  SymInt sum = 0;
  for (const SymInt& l : lengths) {
    if (auto v = l.maybe_value(); v && *v < 0)
      raise(cx.op, "C2", {"shape-mismatch", "split_sizes", "sizes >= 0", tensor::shape_str(lengths),
                    fmt::format("split_with_sizes expects split_sizes have only non-negative entries, "
                                "but got split_sizes={}", tensor::shape_str(lengths))});
    sum = sum + l;
  }
  if (!holds(cx.env, sym::eq(sum, x.sizes[d]), fmt::format("{}: split_sizes add up to dim {}", cx.op, d)))  // C2
    raise(cx.op, "C2", {"shape-mismatch", "split_sizes", x.sizes[d].str(), sum.str(),
                  fmt::format("split_with_sizes expects split_sizes to sum exactly to {} (input tensor's "
                              "size at dimension {}), but got split_sizes={}",
                              x.sizes[d].str(), d, tensor::shape_str(lengths))});
  return {pieces(cx.env, x, d, lengths)};
}

op::Outputs sizes_ref(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  const auto d = static_cast<std::int64_t>(dim_of("split_with_sizes", a, x.dim()));
  const std::vector<std::int64_t> lengths = a.ints("split_sizes");
  std::int64_t sum = 0;
  for (std::int64_t l : lengths) {
    if (l < 0) diag::fail("shape-mismatch", "split_with_sizes: negative size");
    sum += l;
  }
  if (sum != x.size(d)) diag::fail("shape-mismatch", "split_with_sizes: sizes do not add up");
  return {pieces(x, d, lengths)};
}

std::vector<op::Sample> split_samples(std::uint64_t seed) {
  const Tensor x = samples::random({5, 4}, DType::kF32, seed);
  const Tensor t = samples::random_layout({6, 7}, DType::kBF16, seed + 1, samples::Layout::kTransposed);
  const auto args = [](Tensor v, std::int64_t s, std::int64_t d) {
    return std::vector<op::Value>{v, SymInt(s), SymInt(d)};
  };
  return {{"rows_by2", args(x, 2, 0)},     {"cols_by3", args(x, 3, 1)},
          {"bigger_than_dim", args(x, 10, 0)}, {"exact", args(x, 1, 1)},
          {"transposed", args(t, 4, -1)},  {"empty_dim", args(samples::random({0, 3}, DType::kF32, seed), 0, 0)},
          {"negative", args(x, -1, 0), true}, {"zero", args(x, 0, 0), true},
          {"bad_dim", args(x, 1, 2), true}};
}

std::vector<op::Sample> sizes_samples(std::uint64_t seed) {
  const Tensor x = samples::random({5, 4}, DType::kF32, seed);
  const auto args = [](Tensor v, std::initializer_list<std::int64_t> s, std::int64_t d) {
    return std::vector<op::Value>{v, std::vector<SymInt>(s.begin(), s.end()), SymInt(d)};
  };
  std::vector<op::Sample> s = {{"cols", args(x, {1, 2, 1}, 1)},
                               {"with_zero", args(x, {0, 5}, 0)},
                               {"one_piece", args(x, {4}, 1)},
                               {"short", args(x, {2, 2}, 0), true},
                               {"negative", args(x, {6, -1}, 0), true}};
  for (const tensor::Shape& lead : samples::leading_shapes())  // q/k/v out of a fused [*, 3*8]
    s.push_back({samples::label("qkv", lead),
                 args(samples::random(samples::append(lead, 24), DType::kBF16, seed++), {8, 8, 8}, -1)});
  return s;
}

}  // namespace

void register_split(op::Registry& r) {
  op::OpDef split{.name = "split",
                  .schema = op::Schema::parse("split(Tensor self, SymInt split_size, int dim=0) -> Tensor[]")};
  split.doc = "pieces of split_size along dim (views; the last may be shorter)";
  split.constraints = {"C1: dim in [-rank, rank)", "C2: split_size >= 0 (0 only for an empty dim)",
                       "C3: the dim's size is concrete"};
  split.fake = split_fake;
  split.reference = split_ref;
  split.samples = split_samples;
  split.is_view = true;
  r.add(std::move(split));

  op::OpDef sizes{.name = "split_with_sizes",
                  .schema = op::Schema::parse(
                      "split_with_sizes(Tensor self, SymInt[] split_sizes, int dim=0) -> Tensor[]")};
  sizes.doc = "pieces of the given sizes along dim (views)";
  sizes.constraints = {"C1: dim in [-rank, rank)", "C2: sizes >= 0, sum(split_sizes) == self.size(dim)"};
  sizes.fake = sizes_fake;
  sizes.reference = sizes_ref;
  sizes.samples = sizes_samples;
  sizes.is_view = true;
  r.add(std::move(sizes));
}

}  // namespace symtrace::ops
