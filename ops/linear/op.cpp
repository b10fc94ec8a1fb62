// linear(x [*, K], w [N, K], bias [N]) = x · wᵀ + bias          OPS.md §11.6, §15.4
//
// The weight is in the checkpoint's [N, K] layout (OPS.md §0 weight layout rule); the output
// keeps x's leading dims symbol for symbol: [*, N], never a flattened [M, N]. As in PyTorch a
// 1-D weight [K] drops the N dim ([*]); the refdata replay has that case.
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/kernels.hpp"
#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

op::Outputs linear_reference(const op::Args& a, op::KernelContext& cx);  // ref.cpp

namespace {
constexpr std::array kFloatTypes = {DType::kF32, DType::kBF16, DType::kF16, DType::kF64};
}  // namespace

// --- schema, constraints, fake ------------------------------------------------------------
constexpr const char* kLinearSchema = "linear(Tensor x, Tensor w, Tensor? bias=None) -> Tensor";
const std::vector<std::string> kLinearConstraints = {
    "C1: x has rank >= 1 ([*, K]); w is [N, K] (or [K], which drops N from the output)",
    "C2: x.size(-1) == w.size(-1) == K",
    "C3: bias is [N] (0-d or [1] with a 1-D w)",
    "C4: x is f32, bf16, f16 or f64; w and bias have x's dtype",
};

op::Outputs linear_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  const TensorMeta& w = a.meta("w");
  const TensorMeta* bias = a.opt_meta("bias");
  nn::require_rank(site.at("C1"), "x", x, 1, nn::kAnyRank, "[*, K]");
  nn::require_rank(site.at("C1"), "w", w, 1, 2, "[N, K]");
  const SymInt& K = w.sizes.back();
  nn::require_size(site.at("C2"), "x", x, -1, K, "K = w.size(-1)");
  nn::require_dtype(site.at("C4"), "x", x, kFloatTypes);
  nn::require_same_dtype(site.at("C4"), "w", w, "x", x.dtype);

  SymShape out(x.sizes.begin(), x.sizes.end() - 1);
  if (w.dim() == 2) out.push_back(w.sizes[0]);
  if (bias != nullptr) {
    if (w.dim() == 2) {
      nn::require_rank(site.at("C3"), "bias", *bias, 1, 1, "[N]");
      nn::require_size(site.at("C3"), "bias", *bias, 0, w.sizes[0], "N = w.size(0)");
    } else {
      nn::require_rank(site.at("C3"), "bias", *bias, 0, 1, "[] or [1]");
      if (bias->dim() == 1) nn::require_size(site.at("C3"), "bias", *bias, 0, 1);
    }
    nn::require_same_dtype(site.at("C4"), "bias", *bias, "x", x.dtype);
  }
  return {nn::contiguous_like(std::move(out), x.dtype, x)};
}

namespace {

// --- variants -----------------------------------------------------------------------------
op::Applicability gemm_applicable(const op::Args& a, sym::ShapeEnv& env,
                                  std::span<const DType> dtypes) {
  const TensorMeta& x = a.meta("x");
  const TensorMeta& w = a.meta("w");
  if (auto r = nn::dtype_is(x, "x", dtypes); r.truth != sym::Truth::kTrue) return r;
  if (w.dim() != 2) return op::Applicability::no("w is 1-D (a dot product: the reference runs it)");
  if (auto r = nn::rows_viewable(env, x, "x"); r.truth != sym::Truth::kTrue) return r;
  if (auto r = nn::rows_viewable(env, w, "w"); r.truth != sym::Truth::kTrue) return r;
  if (const TensorMeta* b = a.opt_meta("bias")) {
    const sym::Truth t = env.decide(sym::eq(b->strides[0], 1) || sym::eq(b->sizes[0], 1));
    if (t != sym::Truth::kTrue) return {t, fmt::format("bias stride {} is not 1", b->strides[0].str())};
  }
  return op::Applicability::yes();
}

op::Outputs gemm_run(const op::Args& a, op::KernelContext& cx, Isa isa) {
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const Tensor* bias = a.opt_tensor("bias");
  tensor::Shape out(x.sizes().begin(), x.sizes().end() - 1);
  out.push_back(w.size(0));
  Tensor y = cx.alloc.output(0, out, x.dtype());
  const std::int64_t M = nn::rows(x), N = w.size(0), K = w.size(1);
  kernels::gemm_nt(M, N, K, {x.data_ptr(), x.dtype(), nn::row_stride(x)},
                   {w.data_ptr(), w.dtype(), nn::row_stride(w)},
                   bias != nullptr ? bias->data_ptr() : nullptr, x.dtype(), y.data_ptr(),
                   y.dtype(), N, isa);
  return {y};
}

std::vector<op::Variant> linear_variants() {
  static constexpr std::array kBf16 = {DType::kBF16};
  static constexpr std::array kF32F16 = {DType::kF32, DType::kF16};
  static constexpr std::array kAll = {DType::kF32, DType::kBF16, DType::kF16};
  return {
      {.name = "linear.avx512_bf16",
       .isa = Isa::kAvx512Bf16,
       .rule = "bf16 x and w; x viewable as rows [M, K] with unit inner stride; w rows contiguous",
       .applicable = [](const op::Args& a, sym::ShapeEnv& env) { return gemm_applicable(a, env, kBf16); },
       .run = [](const op::Args& a, op::KernelContext& cx) { return gemm_run(a, cx, Isa::kAvx512Bf16); },
       .prepare = std::nullopt},
      {.name = "linear.avx512",
       .isa = Isa::kAvx512,
       .rule = "f32 or f16 x and w; x viewable as rows [M, K] with unit inner stride; w rows contiguous",
       .applicable = [](const op::Args& a, sym::ShapeEnv& env) { return gemm_applicable(a, env, kF32F16); },
       .run = [](const op::Args& a, op::KernelContext& cx) { return gemm_run(a, cx, Isa::kAvx512); },
       .prepare = std::nullopt},
      {.name = "linear.avx2",
       .isa = Isa::kAvx2,
       .rule = "f32, bf16 or f16 x and w; x viewable as rows [M, K] with unit inner stride; w rows contiguous",
       .applicable = [](const op::Args& a, sym::ShapeEnv& env) { return gemm_applicable(a, env, kAll); },
       .run = [](const op::Args& a, op::KernelContext& cx) { return gemm_run(a, cx, Isa::kAvx2); },
       .prepare = std::nullopt},
  };
}

// --- tolerance ----------------------------------------------------------------------------
// OPS.md 15.7: (K + 2)·2^-24·(Σ|x·w| + |bias|) plus one ulp of the output dtype.
std::string linear_compare(const op::Args& in, std::size_t, const Tensor& got, const Tensor& ref) {
  const Tensor& x = in.tensor("x");
  const Tensor& w = in.tensor("w");
  const Tensor* b = in.opt_tensor("bias");
  const std::vector<double> X = nn::read_f64(x), W = nn::read_f64(w);
  const std::vector<double> B = b != nullptr ? nn::read_f64(*b) : std::vector<double>{};
  const std::int64_t K = w.size(-1), N = w.dim() == 2 ? w.size(0) : 1, M = nn::rows(x);
  std::vector<double> bound(static_cast<std::size_t>(M * N));
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double s = B.empty() ? 0.0 : std::fabs(B[static_cast<std::size_t>(B.size() == 1 ? 0 : n)]);
      for (std::int64_t k = 0; k < K; ++k)
        s += std::fabs(X[static_cast<std::size_t>(m * K + k)] * W[static_cast<std::size_t>(n * K + k)]);
      bound[static_cast<std::size_t>(m * N + n)] = nn::f32_sum_bound(K, s);
    }
  return nn::compare_bounded(got, ref, bound);
}

// --- opcheck samples ----------------------------------------------------------------------
std::vector<op::Sample> linear_samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  struct Case {
    tensor::Shape lead;
    std::int64_t N, K;
  };
  const Case cases[] = {{{}, 7, 17},          {{1}, 1, 1},          {{3}, 5, 16},
                        {{17}, 13, 33},       {{2, 3}, 31, 64},     {{1, 7}, 6, 65},
                        {{2, 1, 5}, 11, 19},  {{257}, 3, 7},        {{128}, 24, 32},
                        {{2, 3, 1, 2}, 2, 3}, {{0}, 5, 8},          {{3}, 4, 0}};
  std::uint64_t s = seed * 1000;
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (const Case& c : cases) {
      for (bool with_bias : {false, true}) {
        tensor::Shape xs = c.lead;
        xs.push_back(c.K);
        op::Sample smp;
        std::int64_t M = 1;
        for (auto d : c.lead) M *= d;
        smp.label = fmt::format("M{}_N{}_K{}_lead{}_{}{}", M, c.N, c.K, c.lead.size(),
                                tensor::name(dt), with_bias ? "_bias" : "");
        smp.args.push_back(nn::sample_tensor(xs, dt, ++s));
        smp.args.push_back(nn::sample_tensor({c.N, c.K}, dt, ++s));
        if (with_bias) smp.args.push_back(nn::sample_tensor({c.N}, dt, ++s));
        out.push_back(std::move(smp));
      }
    }
  }
  // Non-contiguous x: rows two apart (fast paths take ldx = 2K) and a transposed view
  // (not viewable as rows: only the reference applies).
  out.push_back({"M6_N9_K13_lead2_f32_strided_rows",
                 {nn::sample_tensor({2, 3, 13}, DType::kF32, ++s, nn::Layout::kStridedRows),
                  nn::sample_tensor({9, 13}, DType::kF32, ++s)}});
  out.push_back({"M5_N4_K11_lead1_bf16_strided_rows_bias",
                 {nn::sample_tensor({5, 11}, DType::kBF16, ++s, nn::Layout::kStridedRows),
                  nn::sample_tensor({4, 11}, DType::kBF16, ++s),
                  nn::sample_tensor({4}, DType::kBF16, ++s)}});
  out.push_back({"M4_N3_K5_lead1_f32_transposed_x",
                 {nn::sample_tensor({4, 5}, DType::kF32, ++s, nn::Layout::kTransposedLast2),
                  nn::sample_tensor({3, 5}, DType::kF32, ++s)}});
  out.push_back({"M3_N5_K7_lead1_f32_transposed_w",
                 {nn::sample_tensor({3, 7}, DType::kF32, ++s),
                  nn::sample_tensor({5, 7}, DType::kF32, ++s, nn::Layout::kTransposedLast2)}});
  out.push_back({"M10_K16_lead2_f32_w1d",
                 {nn::sample_tensor({2, 5, 16}, DType::kF32, ++s),
                  nn::sample_tensor({16}, DType::kF32, ++s)}});
  // Rejected calls: fake and reference must both refuse them.
  op::Sample bad_k{"C2_K15_vs_16", {nn::sample_tensor({2, 5, 15}, DType::kF32, ++s),
                                   nn::sample_tensor({8, 16}, DType::kF32, ++s)}, true};
  op::Sample bad_bias{"C3_bias9_vs_N8", {nn::sample_tensor({2, 16}, DType::kF32, ++s),
                                         nn::sample_tensor({8, 16}, DType::kF32, ++s),
                                         nn::sample_tensor({9}, DType::kF32, ++s)}, true};
  op::Sample bad_dtype{"C4_w_bf16_x_f32", {nn::sample_tensor({2, 16}, DType::kF32, ++s),
                                           nn::sample_tensor({8, 16}, DType::kBF16, ++s)}, true};
  out.push_back(std::move(bad_k));
  out.push_back(std::move(bad_bias));
  out.push_back(std::move(bad_dtype));
  return out;
}

}  // namespace

void register_linear(op::Registry& r) {
  r.add({.name = "linear",
         .schema = op::Schema::parse(kLinearSchema),
         .doc = "x · wᵀ + bias over the last dim of x; w in the checkpoint's [N, K] layout",
         .constraints = kLinearConstraints,
         .fake = linear_fake,
         .reference = linear_reference,
         .variants = linear_variants(),
         .tolerance = {.compare = linear_compare},
         .samples = linear_samples});
}

}  // namespace symtrace::ops
