// embedding(ids [*], table [V, H]) -> [*, H]                               OPS.md §11.1
//
// Gathers table rows; the output keeps ids' dims symbol for symbol, has the table's dtype and
// is contiguous. An id outside [0, V) is an error in the kernel (vocab-parallel shards that
// zero foreign ids are a different op). The reference is the kernel: a row copy per id.
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

const std::vector<std::string> kEmbeddingConstraints = {
    "C1: table is [V, H] (2-D)",
    "C2: ids hold integer values (i64, i32; PyTorch's meta kernel also takes float ids, and so "
    "does this fake; the kernel requires each value to be a whole number)",
    "C3: every id is in [0, V) (checked by the kernel; data-dependent)",
};

op::Outputs embedding_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& ids = a.meta("ids");
  const TensorMeta& table = a.meta("table");
  nn::require_rank(site.at("C1"), "table", table, 2, 2, "[V, H]");
  static constexpr std::array kIds = {DType::kI64, DType::kI32, DType::kI8, DType::kU8,
                                      DType::kF64, DType::kF32, DType::kBF16, DType::kF16};
  nn::require_dtype(site.at("C2"), "ids", ids, kIds);
  SymShape out = ids.sizes;
  out.push_back(table.sizes[1]);
  return {nn::contiguous_like(std::move(out), table.dtype, table)};
}

namespace {

op::Outputs embedding_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(embedding_fake, a, "embedding");
  const Tensor& ids = a.tensor("ids");
  const Tensor& table = a.tensor("table");
  const std::int64_t V = table.size(0), H = table.size(1);
  Tensor out = cx.alloc.output(0, nn::out_sizes(f), table.dtype());
  const std::vector<double> id = nn::read_f64(ids);
  Tensor rows = out.view({static_cast<std::int64_t>(id.size()), H});
  for (std::size_t i = 0; i < id.size(); ++i) {
    const double v = id[i];
    if (!(v >= 0 && v < static_cast<double>(V)) || v != std::floor(v)) {
      diag::Diagnostic d;
      d.code = "index";
      d.op = "embedding";
      d.constraint = std::string(v == std::floor(v) ? "C3" : "C2");
      d.argument = "ids";
      d.expected = fmt::format("whole numbers in [0, {})", V);
      d.got = fmt::format("{} at flat position {}", v, i);
      d.message = fmt::format("id {} is outside the table's {} rows", v, V);
      throw diag::Error(std::move(d));
    }
    rows.select(0, static_cast<std::int64_t>(i)).copy_from(table.select(0, static_cast<std::int64_t>(v)));
  }
  return {out};
}

std::vector<op::Sample> embedding_samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 37;
  const tensor::Shape id_shapes[] = {{}, {1}, {7}, {2, 5}, {2, 1, 3}};
  for (DType table_dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (DType id_dt : {DType::kI64, DType::kI32})
      for (const tensor::Shape& is : id_shapes)
        out.push_back({fmt::format("ids{}_{}_table_{}", tensor::shape_str(SymShape(is.begin(), is.end())),
                                   tensor::name(id_dt), tensor::name(table_dt)),
                       {nn::sample_tensor(is, id_dt, ++s, nn::Layout::kContiguous, 0, 96.4f),
                        nn::sample_tensor({97, 13}, table_dt, ++s)}});
  out.push_back({"table_transposed", {nn::sample_tensor({3, 4}, DType::kI64, ++s, nn::Layout::kContiguous, 0, 6.4f),
                                      nn::sample_tensor({7, 5}, DType::kF32, ++s, nn::Layout::kTransposedLast2)}});
  out.push_back({"C1_table_1d", {nn::sample_tensor({3}, DType::kI64, ++s, nn::Layout::kContiguous, 0, 3),
                                 nn::sample_tensor({16}, DType::kF32, ++s)}, true});
  out.push_back({"C2_bool_ids", {nn::sample_tensor({3}, DType::kBool, ++s),
                                 nn::sample_tensor({4, 8}, DType::kF32, ++s)}, true});
  return out;
}

}  // namespace

void register_embedding(op::Registry& r) {
  op::OpDef def;
  def.name = "embedding";
  def.schema = op::Schema::parse("embedding(Tensor ids, Tensor table) -> Tensor");
  def.doc = "table rows gathered by ids: [*ids, H] in the table's dtype";
  def.constraints = kEmbeddingConstraints;
  def.fake = embedding_fake;
  def.reference = embedding_reference;
  def.tolerance = {.atol = 0, .rtol = 0, .compare = nullptr};
  def.samples = embedding_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
