// matmul (1-D..N-D, broadcast batch dims), mm (2-D only) and bmm (3-D, no broadcasting),
// with torch's shape rules (refdata meta_shapes.json: 26 matmul, 2 mm, 2 bmm cases).
//
//   matmul([B, M, K], [K, N]) -> [B, M, N]      matmul([K], [K]) -> []
//   matmul([M, K], [K]) -> [M]                  matmul([7, 1, M, K], [5, K, N]) -> [7, 5, M, N]
//
// Outputs are contiguous with a's dtype (PyTorch's meta kernels do not compare the dtypes of a
// and b; the reference computes mixed dtypes in f64, the fast variants need equal ones).
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/matmul/matmul.hpp"

namespace symtrace::ops {

namespace {

constexpr std::array kMatmulTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16,
                                     DType::kI64, DType::kI32, DType::kI8,   DType::kU8};

void check_dtypes(const nn::Site& site, const TensorMeta& a, const TensorMeta& b) {
  nn::require_dtype(site, "a", a, kMatmulTypes);
  nn::require_dtype(site, "b", b, kMatmulTypes);
}

}  // namespace

// --- matmul ---------------------------------------------------------------------------------
const char* const kMatmulSchema = "matmul(Tensor a, Tensor b) -> Tensor";
const std::vector<std::string> kMatmulConstraints = {
    "C1: a and b have rank >= 1",
    "C2: a.size(-1) == b.size(-2) (b.size(0) for a 1-D b) == K",
    "C3: the batch dims a.sizes[:-2] and b.sizes[:-2] broadcast",
    "C4: a and b are f64, f32, bf16, f16 or an integer type; the output has a's dtype",
};

op::Outputs matmul_fake(const op::Args& args, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& a = args.meta("a");
  const TensorMeta& b = args.meta("b");
  if (a.dim() == 0 || b.dim() == 0)
    nn::fail(site.at("C1"), "shape-mismatch", a.dim() == 0 ? "a" : "b", "rank >= 1",
             fmt::format("{} and {}", a.shape_str(), b.shape_str()),
             fmt::format("both arguments to matmul need at least 1 dim, got {}-d and {}-d",
                         a.dim(), b.dim()));
  check_dtypes(site.at("C4"), a, b);
  const SymInt& K = a.sizes.back();
  nn::require_size(site.at("C2"), "b", b, b.dim() == 1 ? 0 : -2, K, "K = a.size(-1)");
  const SymShape a_batch(a.sizes.begin(), a.sizes.end() - std::min<std::int64_t>(a.dim(), 2));
  const SymShape b_batch(b.sizes.begin(), b.sizes.end() - std::min<std::int64_t>(b.dim(), 2));
  SymShape out = nn::broadcast_shapes(site.at("C3"), "a", a_batch, "b", b_batch);
  if (a.dim() >= 2) out.push_back(a.sizes[a.sizes.size() - 2]);
  if (b.dim() >= 2) out.push_back(b.sizes.back());
  return {nn::contiguous_like(std::move(out), a.dtype, a)};
}

// --- mm -------------------------------------------------------------------------------------
const char* const kMmSchema = "mm(Tensor a, Tensor b) -> Tensor";
const std::vector<std::string> kMmConstraints = {
    "C1: a is [M, K] and b is [K, N] (both 2-D)",
    "C2: a.size(1) == b.size(0) == K",
    "C4: a and b are f64, f32, bf16, f16 or an integer type; the output has a's dtype",
};

op::Outputs mm_fake(const op::Args& args, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& a = args.meta("a");
  const TensorMeta& b = args.meta("b");
  nn::require_rank(site.at("C1"), "a", a, 2, 2, "[M, K]");
  nn::require_rank(site.at("C1"), "b", b, 2, 2, "[K, N]");
  check_dtypes(site.at("C4"), a, b);
  nn::require_size(site.at("C2"), "b", b, 0, a.sizes[1], "K = a.size(1)");
  return {nn::contiguous_like({a.sizes[0], b.sizes[1]}, a.dtype, a)};
}

// --- bmm ------------------------------------------------------------------------------------
const char* const kBmmSchema = "bmm(Tensor a, Tensor b) -> Tensor";
const std::vector<std::string> kBmmConstraints = {
    "C1: a is [B, M, K] and b is [B, K, N] (both 3-D)",
    "C2: b.size(1) == a.size(2) == K",
    "C3: b.size(0) == a.size(0) == B (no broadcasting)",
    "C4: a and b are f64, f32, bf16, f16 or an integer type; the output has a's dtype",
};

op::Outputs bmm_fake(const op::Args& args, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& a = args.meta("a");
  const TensorMeta& b = args.meta("b");
  nn::require_rank(site.at("C1"), "a", a, 3, 3, "[B, M, K]");
  nn::require_rank(site.at("C1"), "b", b, 3, 3, "[B, K, N]");
  check_dtypes(site.at("C4"), a, b);
  nn::require_size(site.at("C3"), "b", b, 0, a.sizes[0], "B = a.size(0)");
  nn::require_size(site.at("C2"), "b", b, 1, a.sizes[2], "K = a.size(2)");
  return {nn::contiguous_like({a.sizes[0], a.sizes[1], b.sizes[2]}, a.dtype, a)};
}

// --- reference ------------------------------------------------------------------------------
namespace {

op::KernelFn reference_of(op::FakeFn fake, std::string name) {
  return [fake = std::move(fake), name = std::move(name)](const op::Args& args,
                                                          op::KernelContext& cx) -> op::Outputs {
    const op::Outputs f = nn::fake_of_real(fake, args, name);
    const Tensor& a = args.tensor("a");
    Tensor out = cx.alloc.output(0, nn::out_sizes(f), a.dtype());
    matmul_detail::run_reference(a, args.tensor("b"), out);
    return {out};
  };
}

// --- opcheck samples ------------------------------------------------------------------------
using Shapes = std::pair<tensor::Shape, tensor::Shape>;

std::vector<op::Sample> make_samples(std::uint64_t seed, std::span<const Shapes> valid,
                                     std::span<const Shapes> invalid, bool two_d) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 7;
  const auto label = [](const Shapes& c, DType dt, std::string_view tag) {
    return fmt::format("a{}_b{}_{}{}", tensor::shape_str(tensor::SymShape(c.first.begin(), c.first.end())),
                       tensor::shape_str(tensor::SymShape(c.second.begin(), c.second.end())),
                       tensor::name(dt), tag);
  };
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (const Shapes& c : valid) {
      out.push_back({label(c, dt, ""), {nn::sample_tensor(c.first, dt, ++s),
                                        nn::sample_tensor(c.second, dt, ++s)}});
    }
  }
  // Non-contiguous operands: a transposed a (packed by the fast path), b column-major (read
  // in place as w rows) and b with rows two apart.
  for (const Shapes& c : valid) {
    if (c.first.size() < 2 || c.second.size() < 2) continue;
    out.push_back({label(c, DType::kF32, "_a_transposed"),
                   {nn::sample_tensor(c.first, DType::kF32, ++s, nn::Layout::kTransposedLast2),
                    nn::sample_tensor(c.second, DType::kF32, ++s)}});
    out.push_back({label(c, DType::kBF16, "_b_colmajor"),
                   {nn::sample_tensor(c.first, DType::kBF16, ++s),
                    nn::sample_tensor(c.second, DType::kBF16, ++s, nn::Layout::kTransposedLast2)}});
    out.push_back({label(c, DType::kF16, "_b_strided_rows"),
                   {nn::sample_tensor(c.first, DType::kF16, ++s),
                    nn::sample_tensor(c.second, DType::kF16, ++s, nn::Layout::kStridedRows)}});
  }
  // Integer and mixed-dtype products run on the reference (mm and matmul take 2-D operands).
  const tensor::Shape as = two_d ? tensor::Shape{3, 5} : tensor::Shape{2, 3, 5};
  const tensor::Shape bs = two_d ? tensor::Shape{5, 4} : tensor::Shape{2, 5, 4};
  out.push_back({"i32", {nn::sample_tensor(as, DType::kI32, ++s, nn::Layout::kContiguous, -9, 9),
                         nn::sample_tensor(bs, DType::kI32, ++s, nn::Layout::kContiguous, -9, 9)}});
  out.push_back({"bf16_times_f32", {nn::sample_tensor(as, DType::kBF16, ++s),
                                    nn::sample_tensor(bs, DType::kF32, ++s)}});
  for (const Shapes& c : invalid)
    out.push_back({label(c, DType::kF32, "_rejected"),
                   {nn::sample_tensor(c.first, DType::kF32, ++s),
                    nn::sample_tensor(c.second, DType::kF32, ++s)},
                   true});
  return out;
}

std::vector<op::Sample> matmul_samples(std::uint64_t seed) {
  static const Shapes valid[] = {
      {{7}, {7}},           {{3}, {3, 4}},          {{2, 3}, {3}},         {{5, 2, 3}, {3}},
      {{3}, {5, 3, 4}},     {{17, 33}, {33, 13}},   {{5, 2, 3}, {3, 4}},   {{2, 3}, {5, 3, 4}},
      {{1, 2, 3}, {5, 3, 4}}, {{7, 1, 2, 3}, {5, 3, 4}}, {{2, 1, 4, 3}, {1, 6, 3, 5}},
      {{2, 3, 1, 31}, {31, 6}}, {{0, 3}, {3, 4}},   {{2, 0}, {0, 4}},      {{257, 5}, {5, 3}}};
  static const Shapes invalid[] = {{{2, 2, 3}, {3, 3, 4}}, {{2, 3}, {4, 5}}, {{3}, {4}}};
  return make_samples(seed, valid, invalid, true);
}

std::vector<op::Sample> mm_samples(std::uint64_t seed) {
  static const Shapes valid[] = {{{2, 3}, {3, 4}}, {{1, 1}, {1, 1}}, {{17, 65}, {65, 7}},
                                 {{0, 3}, {3, 2}}, {{128, 9}, {9, 33}}};
  static const Shapes invalid[] = {{{2, 2, 3}, {3, 4}}, {{2, 3}, {4, 5}}, {{3}, {3, 4}}};
  return make_samples(seed, valid, invalid, true);
}

std::vector<op::Sample> bmm_samples(std::uint64_t seed) {
  static const Shapes valid[] = {{{4, 2, 3}, {4, 3, 5}}, {{1, 1, 1}, {1, 1, 1}},
                                 {{3, 17, 19}, {3, 19, 7}}, {{2, 0, 3}, {2, 3, 4}}};
  static const Shapes invalid[] = {{{4, 2, 3}, {1, 3, 5}}, {{4, 2, 3}, {4, 4, 5}},
                                   {{2, 3}, {3, 4}}};
  return make_samples(seed, valid, invalid, false);
}

op::OpDef make_def(std::string name, const char* schema, const std::vector<std::string>& cs,
                   op::FakeFn fake, op::SampleFn samples, std::string doc) {
  op::OpDef def;
  def.name = name;
  def.schema = op::Schema::parse(schema);
  def.doc = std::move(doc);
  def.constraints = cs;
  def.fake = fake;
  def.reference = reference_of(fake, name);
  def.variants = matmul_detail::variants(name);
  def.tolerance.compare = matmul_detail::compare;
  def.samples = std::move(samples);
  return def;
}

}  // namespace

void register_matmul(op::Registry& r) {
  r.add(make_def("matmul", kMatmulSchema, kMatmulConstraints, matmul_fake, matmul_samples,
                 "torch.matmul: 1-D..N-D operands, broadcast batch dims"));
  r.add(make_def("mm", kMmSchema, kMmConstraints, mm_fake, mm_samples, "[M, K] · [K, N]"));
  r.add(make_def("bmm", kBmmSchema, kBmmConstraints, bmm_fake, bmm_samples,
                 "[B, M, K] · [B, K, N], no broadcasting"));
}

}  // namespace symtrace::ops
