// softmax / log_softmax over any dim                                  OPS.md §11.6
//
//   softmax(x, dim, dtype=None):  exp(x − max) / Σ exp(x − max) along dim, computed in f32
//   (f64 for f64), rounded once to `dtype` (default: x's dtype; routers pass f32).
//   log_softmax: (x − max) − log Σ exp(x − max).
// Output: x's sizes, contiguous. PyTorch's meta kernels accept integer inputs (the result keeps
// the integer dtype; refdata case 173) and so do we: the value is the f64 softmax truncated.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"
#include "ops/softmax/kernels.hpp"

namespace symtrace::ops {

namespace {
constexpr std::array kOutTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};
constexpr std::array kInTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16,
                                 DType::kI64, DType::kI32, DType::kI8,   DType::kU8};
}  // namespace

const std::vector<std::string> kSoftmaxConstraints = {
    "C1: dim is in [-rank, rank - 1] (a 0-d x takes 0 or -1)",
    "C2: x is a float or integer tensor; dtype, when given, is f64, f32, bf16 or f16",
};

op::Outputs softmax_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  nn::wrap_dim(site.at("C1"), "dim", a.int_value("dim"), x.dim());
  nn::require_dtype(site.at("C2"), "x", x, kInTypes);
  DType out = x.dtype;
  if (auto d = a.opt_dtype("dtype")) {
    out = *d;
    if (std::find(kOutTypes.begin(), kOutTypes.end(), out) == kOutTypes.end())
      nn::fail(site.at("C2"), "dtype", "dtype", "f64, f32, bf16 or f16",
               std::string(tensor::name(out)), "softmax computes in floating point");
  }
  return {nn::contiguous_like(x.sizes, out, x)};
}

// --- reference ------------------------------------------------------------------------------
namespace {

op::Outputs reference(const op::Args& a, op::KernelContext& cx, bool log) {
  const op::Outputs f = nn::fake_of_real(softmax_fake, a, log ? "log_softmax" : "softmax");
  const Tensor& x = a.tensor("x");
  const std::int64_t rank = std::max<std::int64_t>(x.dim(), 1);
  const std::int64_t d = a.int_value("dim") < 0 ? a.int_value("dim") + rank : a.int_value("dim");
  const std::vector<double> X = nn::read_f64(x);
  // [outer, n, inner] around the softmax dim.
  std::int64_t outer = 1, inner = 1;
  const std::int64_t n = x.dim() == 0 ? 1 : x.size(d);
  for (std::int64_t i = 0; i < d; ++i) outer *= x.size(i);
  for (std::int64_t i = d + 1; i < x.dim(); ++i) inner *= x.size(i);
  std::vector<double> y(X.size());
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t in = 0; in < inner; ++in) {
      const auto at = [&](std::int64_t j) { return static_cast<std::size_t>((o * n + j) * inner + in); };
      double mx = -std::numeric_limits<double>::infinity();
      bool nan = false;
      for (std::int64_t j = 0; j < n; ++j) {
        nan = nan || std::isnan(X[at(j)]);
        mx = std::max(mx, X[at(j)]);
      }
      double sum = 0;
      for (std::int64_t j = 0; j < n; ++j) sum += std::exp(X[at(j)] - mx);
      for (std::int64_t j = 0; j < n; ++j) {
        const double v = log ? (X[at(j)] - mx) - std::log(sum) : std::exp(X[at(j)] - mx) / sum;
        y[at(j)] = nan ? std::numeric_limits<double>::quiet_NaN() : v;
      }
    }
  const DType out = a.opt_dtype("dtype").value_or(x.dtype());
  Tensor t = cx.alloc.output(0, nn::out_sizes(f), out);
  nn::write_f64(t, y);
  return {t};
}

// --- variants -------------------------------------------------------------------------------
constexpr std::array kKernelTypes = {DType::kF32, DType::kBF16, DType::kF16};

// The row kernels reduce over contiguous rows: dim must be the last dim (or only followed by
// size-1 dims) and x must be viewable as [rows, n].
op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env) {
  const TensorMeta& x = a.meta("x");
  if (x.dim() == 0) return op::Applicability::no("x is 0-d");
  if (auto r = nn::dtype_is(x, "x", kKernelTypes); r.truth != sym::Truth::kTrue) return r;
  const DType out = a.opt_dtype("dtype").value_or(x.dtype);
  if (std::find(kKernelTypes.begin(), kKernelTypes.end(), out) == kKernelTypes.end())
    return op::Applicability::no(fmt::format("output dtype {}", tensor::name(out)));
  const std::int64_t rank = x.dim();
  std::int64_t d = a.int_value("dim");
  if (d < 0) d += rank;
  for (std::int64_t i = d + 1; i < rank; ++i)
    if (env.decide(sym::eq(x.sizes[static_cast<std::size_t>(i)], 1)) != sym::Truth::kTrue)
      return op::Applicability::no(fmt::format("dim {} is not the last non-unit dim", d));
  // View x as [rows, n] with n = size(dim): the trailing unit dims do not matter.
  TensorMeta rows = x;
  rows.sizes.resize(static_cast<std::size_t>(d + 1));
  rows.strides.resize(static_cast<std::size_t>(d + 1));
  return nn::rows_viewable(env, rows, "x");
}

op::KernelFn runner(Isa isa, bool log) {
  return [isa, log](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor& x = a.tensor("x");
    const DType out = a.opt_dtype("dtype").value_or(x.dtype());
    Tensor y = cx.alloc.output(0, x.sizes(), out);
    std::int64_t d = a.int_value("dim");
    if (d < 0) d += x.dim();
    const Tensor rows = x.as_strided(tensor::Shape(x.sizes().begin(), x.sizes().begin() + d + 1),
                                     tensor::Shape(x.strides().begin(), x.strides().begin() + d + 1),
                                     x.storage_offset());
    const std::int64_t n = x.size(d);
    if (y.numel() == 0) return {y};
    kernels::softmax_rows(y.numel() / n, n, x.data_ptr(), x.dtype(), nn::row_stride(rows),
                          y.data_ptr(), out, n, log, isa);
    return {y};
  };
}

std::vector<op::Variant> variants(const std::string& name, bool log) {
  const char* rule = "f32/bf16/f16 in and out; dim is the last non-unit dim; x viewable as rows";
  return {{.name = name + ".avx512", .isa = Isa::kAvx512, .rule = rule,
           .applicable = applicable, .run = runner(Isa::kAvx512, log), .prepare = std::nullopt},
          {.name = name + ".avx2", .isa = Isa::kAvx2, .rule = rule,
           .applicable = applicable, .run = runner(Isa::kAvx2, log), .prepare = std::nullopt}};
}

// f32 error: (n + 16) ulps at the value for exp/sum/divide, plus |x − max| ulps because x − max
// is rounded to f32 before the exp (|x − max| <= |log p|); log_softmax: ulps at |value| + 1
// (the log of the sum). Plus 2^-126 for results below the normal range.
op::Tolerance tolerance(bool log) {
  return {.compare = [log](const op::Args& in, std::size_t, const Tensor& got, const Tensor& ref) {
    const Tensor& x = in.tensor("x");
    const std::int64_t rank = std::max<std::int64_t>(x.dim(), 1);
    std::int64_t d = in.int_value("dim");
    if (d < 0) d += rank;
    const double n = static_cast<double>(x.dim() == 0 ? 1 : x.size(d));
    const std::vector<double> r = ref.to_f64();
    std::vector<double> bound(r.size());
    for (std::size_t i = 0; i < r.size(); ++i)
      bound[i] = log ? (n + 16) * 0x1p-24 * (std::fabs(r[i]) + 1.0) + 0x1p-126
                     : (n + 16 + (r[i] > 0 ? -std::log(r[i]) : 0.0)) * 0x1p-24 * r[i] + 0x1p-126;
    return nn::compare_bounded(got, ref, bound);
  }};
}

// --- opcheck samples ------------------------------------------------------------------------
std::vector<op::Sample> samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 11;
  struct Case {
    tensor::Shape sizes;
    std::int64_t dim;
  };
  const Case cases[] = {{{7}, 0},          {{3, 17}, -1},   {{2, 3, 33}, -1}, {{2, 3, 33}, 1},
                        {{2, 3, 33}, 0},   {{1, 1, 130}, 2}, {{5, 1}, 0},     {{2, 1, 3, 257}, -1},
                        {{4, 16, 1}, 1},   {{}, 0},         {{3, 0, 2}, -1},  {{64, 8}, -1}};
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (const Case& c : cases)
      out.push_back({fmt::format("x{}_dim{}_{}", tensor::shape_str(SymShape(c.sizes.begin(), c.sizes.end())),
                                 c.dim, tensor::name(dt)),
                     {nn::sample_tensor(c.sizes, dt, ++s, nn::Layout::kContiguous, -6, 6),
                      SymInt(c.dim)}});
  // Router-style f32 output from bf16 logits; non-contiguous inputs.
  out.push_back({"x[9,13]_dim-1_bf16_to_f32", {nn::sample_tensor({9, 13}, DType::kBF16, ++s),
                                                SymInt(-1), DType::kF32}});
  out.push_back({"x[4,6,19]_dim-1_f32_strided_rows",
                 {nn::sample_tensor({4, 6, 19}, DType::kF32, ++s, nn::Layout::kStridedRows), SymInt(-1)}});
  out.push_back({"x[5,7]_dim-1_f32_transposed",
                 {nn::sample_tensor({5, 7}, DType::kF32, ++s, nn::Layout::kTransposedLast2), SymInt(-1)}});
  out.push_back({"x[2,3]_dim-1_i32", {nn::sample_tensor({2, 3}, DType::kI32, ++s, nn::Layout::kContiguous, -3, 3),
                                       SymInt(-1)}});
  out.push_back({"C1_dim3_rank2", {nn::sample_tensor({2, 3}, DType::kF32, ++s), SymInt(3)}, true});
  out.push_back({"C2_dtype_i32", {nn::sample_tensor({2, 3}, DType::kF32, ++s), SymInt(-1), DType::kI32}, true});
  return out;
}

op::OpDef make(std::string name, bool log) {
  op::OpDef def;
  def.name = name;
  def.schema = op::Schema::parse(name + "(Tensor x, int dim, ScalarType? dtype=None) -> Tensor");
  def.doc = log ? "(x − max) − log Σ exp(x − max) along dim, f32 arithmetic"
                : "exp(x − max) / Σ exp(x − max) along dim, f32 arithmetic";
  def.constraints = kSoftmaxConstraints;
  def.fake = softmax_fake;
  def.reference = [log](const op::Args& a, op::KernelContext& cx) { return reference(a, cx, log); };
  def.variants = variants(name, log);
  def.tolerance = tolerance(log);
  def.samples = samples;
  return def;
}

}  // namespace

void register_softmax(op::Registry& r) {
  r.add(make("softmax", false));
  r.add(make("log_softmax", true));
}

}  // namespace symtrace::ops
