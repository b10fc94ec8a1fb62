// topk(x, k, dim=-1, largest=True, sorted=True) -> (values, indices)      OPS.md §11.6
//
// Output sizes are x's with size(dim) replaced by k (k may be symbolic), contiguous; values
// keep x's dtype, indices are i64. Order: by value (descending when largest), ties by the
// lower index (PyTorch leaves ties unspecified; symtrace fixes them so every kernel agrees),
// NaN counts as larger than every number, as in PyTorch. sorted=False returns the same
// (sorted) order, which is one of the orders it allows.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

const std::vector<std::string> kTopkConstraints = {
    "C1: dim is in [-rank, rank - 1] (a 0-d x takes 0 or -1)",
    "C2: 0 <= k <= x.size(dim) (1 for a 0-d x)",
    "C3: x is a float or integer tensor",
};

op::Outputs topk_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  const std::int64_t d = nn::wrap_dim(site.at("C1"), "dim", a.int_value("dim"), x.dim());
  static constexpr std::array kTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16,
                                        DType::kI64, DType::kI32, DType::kI8,   DType::kU8};
  nn::require_dtype(site.at("C3"), "x", x, kTypes);
  const SymInt& k = a.sym_int("k");
  const SymInt n = x.dim() == 0 ? SymInt(1) : x.sizes[static_cast<std::size_t>(d)];
  const nn::Site c2 = site.at("C2");
  const std::string reason = fmt::format("topk C2: 0 <= k <= x.size({})", d);
  const sym::Truth in_range = sym::truth_and(cx.env.require(sym::ge(k, 0), reason),
                                             cx.env.require(sym::le(k, n), reason));
  if (in_range == sym::Truth::kFalse) {
    const SymInt syms[] = {k, n};
    nn::fail(c2, "shape-mismatch", "k", fmt::format("0 <= k <= {}", n.str()), k.str(),
             fmt::format("k = {} is not in range for dim {} of size {}", k.str(), d, n.str()), syms);
  }
  SymShape out = x.sizes;
  if (x.dim() > 0) out[static_cast<std::size_t>(d)] = k;
  return {nn::contiguous_like(out, x.dtype, x), nn::contiguous_like(out, DType::kI64, x)};
}

op::Outputs topk_reference(const op::Args& a, op::KernelContext& cx);  // ref.cpp

namespace {

std::vector<op::Sample> topk_samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 13;
  struct Case {
    tensor::Shape sizes;
    std::int64_t k, dim;
    bool largest;
  };
  const Case cases[] = {{{7}, 3, 0, true},      {{2, 3, 4}, 1, -1, true}, {{2, 3, 4}, 4, -1, false},
                        {{2, 3, 4}, 0, -1, true}, {{2, 3, 4}, 2, 0, true},  {{5, 257}, 8, 1, true},
                        {{3, 1, 9}, 1, 1, false}, {{}, 1, 0, true},         {{16, 64}, 6, -1, true}};
  for (DType dt : {DType::kF32, DType::kBF16, DType::kI32})
    for (const Case& c : cases)
      out.push_back({fmt::format("x{}_k{}_dim{}_{}_{}", tensor::shape_str(SymShape(c.sizes.begin(), c.sizes.end())),
                                 c.k, c.dim, c.largest ? "largest" : "smallest", tensor::name(dt)),
                     {nn::sample_tensor(c.sizes, dt, ++s, nn::Layout::kContiguous, -4, 4), SymInt(c.k),
                      SymInt(c.dim), c.largest}});
  // Many ties (integers in [-1, 1]) and a transposed input.
  out.push_back({"ties_x[4,33]_k7", {nn::sample_tensor({4, 33}, DType::kI32, ++s, nn::Layout::kContiguous, -1, 1),
                                     SymInt(7)}});
  out.push_back({"x[6,5]_k2_transposed", {nn::sample_tensor({6, 5}, DType::kF32, ++s, nn::Layout::kTransposedLast2),
                                          SymInt(2)}});
  out.push_back({"C2_k5_of_4", {nn::sample_tensor({2, 3, 4}, DType::kF32, ++s), SymInt(5)}, true});
  out.push_back({"C2_k-1", {nn::sample_tensor({2, 3, 4}, DType::kF32, ++s), SymInt(-1)}, true});
  out.push_back({"C1_dim3", {nn::sample_tensor({2, 3, 4}, DType::kF32, ++s), SymInt(1), SymInt(3)}, true});
  return out;
}

}  // namespace

void register_topk(op::Registry& r) {
  op::OpDef def;
  def.name = "topk";
  def.schema = op::Schema::parse(
      "topk(Tensor x, SymInt k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor values, Tensor indices)");
  def.doc = "the k largest (or smallest) values along dim and their i64 indices, ties to the lower index";
  def.constraints = kTopkConstraints;
  def.fake = topk_fake;
  def.reference = topk_reference;
  def.tolerance = {.atol = 0, .rtol = 0, .compare = nullptr};
  def.samples = topk_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
