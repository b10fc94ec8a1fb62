// chunk(self, chunks, dim=0): split into pieces of ceil(size / chunks) along dim — so possibly
// fewer than `chunks` pieces (PyTorch semantics, refdata "chunk": [5] in 4 chunks is 2, 2, 1).
//   C1: chunks > 0                                                                code "shape-mismatch"
//   C2: rank >= 1, dim in [-rank, rank)                                           code "dim"
//   C3: the dim's size is concrete                                                code "symbolic"
#include "ops/common/fake_util.hpp"
#include "ops/common/samples.hpp"

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

// Piece lengths of chunk(size, chunks), as PyTorch's split(ceil(size/chunks)).
std::vector<std::int64_t> chunk_lengths(std::int64_t size, std::int64_t chunks) {
  const std::int64_t step = (size + chunks - 1) / chunks;
  if (step == 0) return std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0);
  std::vector<std::int64_t> out;
  for (std::int64_t start = 0; start < size; start += step) out.push_back(std::min(step, size - start));
  return out;
}

void check_chunks(std::string_view op, std::int64_t chunks) {
  if (chunks <= 0)  // C1
    raise(op, "C1", {"shape-mismatch", "chunks", "> 0", std::to_string(chunks),
               fmt::format("chunk expects `chunks` to be greater than 0, got: {}", chunks)});
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const TensorMeta& x = a.meta("self");
  const std::int64_t chunks = a.int_value("chunks");
  check_chunks(cx.op, chunks);
  if (x.dim() == 0) raise(cx.op, "C2", {"dim", "self", "rank >= 1", "[]", "chunk expects at least a 1-dimensional tensor"});
  const auto d = static_cast<std::size_t>(wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim(), "C2"));  // C2
  const auto size = x.sizes[d].maybe_value();
  if (!size)  // C3
    raise(cx.op, "C3", {"symbolic", "self", "a concrete size", x.sizes[d].str(),
                  fmt::format("chunk: the number of pieces depends on dim {} of {}, which is symbolic",
                              d, x.shape_str())});
  std::vector<TensorMeta> out;
  std::int64_t start = 0;
  for (std::int64_t len : chunk_lengths(*size, chunks)) {
    TensorMeta p = x;
    p.sizes[d] = len;
    p.storage_offset = cx.env.simplify(x.storage_offset + start * x.strides[d]);
    out.push_back(std::move(p));
    start += len;
  }
  return {std::move(out)};
}

op::Outputs reference(const op::Args& a, op::KernelContext&) {
  const Tensor& x = a.tensor("self");
  const std::int64_t chunks = a.int_value("chunks");
  if (chunks <= 0 || x.dim() == 0) diag::fail("shape-mismatch", "chunk: bad call");
  const std::int64_t d = wrap_dim("chunk", "dim", a.int_value("dim"), x.dim());
  std::vector<Tensor> out;
  std::int64_t start = 0;
  for (std::int64_t len : chunk_lengths(x.size(d), chunks)) {
    out.push_back(x.narrow(d, start, len));
    start += len;
  }
  return {out};
}

std::vector<op::Sample> make_samples(std::uint64_t seed) {
  const Tensor x = samples::random({5, 7}, DType::kF32, seed);
  const auto args = [](Tensor v, std::int64_t n, std::int64_t d) {
    return std::vector<op::Value>{v, SymInt(n), SymInt(d)};
  };
  std::vector<op::Sample> s = {{"cols_3", args(x, 3, 1)},   {"rows_4", args(x, 4, 0)},
                               {"cols_2", args(x, 2, 1)},   {"one", args(x, 1, 0)},
                               {"more_than_size", args(x, 9, 0)},
                               {"empty_dim", args(samples::random({0, 2}, DType::kF32, seed), 3, 0)},
                               {"zero_chunks", args(x, 0, 0), true},
                               {"bad_dim", args(x, 2, 2), true}};
  for (const tensor::Shape& lead : samples::leading_shapes())  // gate/up halves of [*, 2d]
    s.push_back({samples::label("halves", lead),
                 args(samples::random(samples::append(lead, 10), DType::kBF16, seed++), 2, -1)});
  return s;
}

}  // namespace

void register_chunk(op::Registry& r) {
  op::OpDef def{.name = "chunk",
                .schema = op::Schema::parse("chunk(Tensor self, int chunks, int dim=0) -> Tensor[]")};
  def.doc = "split into pieces of ceil(size / chunks) along dim (views)";
  def.constraints = {"C1: chunks > 0", "C2: dim in [-rank, rank)", "C3: the dim's size is concrete"};
  def.fake = fake;
  def.reference = reference;
  def.samples = make_samples;
  def.is_view = true;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
