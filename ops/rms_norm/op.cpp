// rms_norm(x [*, H], w [H], eps) -> [*, H]                                 OPS.md §11.2, §15.6
// fused_add_rms_norm(x, residual, w, eps) -> (y [*, H], new_residual [*, H])
//
//   y = w · round_x(x / sqrt(mean(x²) + eps))       (HF Llama / Qwen / Mixtral rounding order)
// The mean of squares is taken in f32 (f64 in the reference); the normalized value is rounded
// to x's dtype before the product with w, which is rounded again. Per-head norms (Qwen3 q_norm)
// are rms_norm over the last dim of [*, Hq, D] with w [D].
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"
#include "ops/rms_norm/kernels.hpp"

namespace symtrace::ops {

namespace {
constexpr std::array kTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};
constexpr std::array kKernelTypes = {DType::kF32, DType::kBF16, DType::kF16};
}  // namespace

const std::vector<std::string> kRmsNormConstraints = {
    "C1: x has rank >= 1 ([*, H])",
    "C2: w is [H], H = x.size(-1)",
    "C3: x is f64, f32, bf16 or f16; w (and residual) have x's dtype",
    "C4: residual has x's sizes (fused_add_rms_norm)",
};

// Checks shared by both ops; returns nothing, throws the diagnostic.
void check_rms_norm(const nn::Site& site, const TensorMeta& x, const TensorMeta& w) {
  nn::require_rank(site.at("C1"), "x", x, 1, nn::kAnyRank, "[*, H]");
  nn::require_dtype(site.at("C3"), "x", x, kTypes);
  nn::require_rank(site.at("C2"), "w", w, 1, 1, "[H]");
  nn::require_size(site.at("C2"), "w", w, 0, x.sizes.back(), "H = x.size(-1)");
  nn::require_same_dtype(site.at("C3"), "w", w, "x", x.dtype);
}

op::Outputs rms_norm_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  check_rms_norm(site, x, a.meta("w"));
  return {nn::contiguous_like(x.sizes, x.dtype, x)};
}

op::Outputs fused_add_rms_norm_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  const TensorMeta& res = a.meta("residual");
  check_rms_norm(site, x, a.meta("w"));
  if (res.dim() != x.dim())
    nn::fail(site.at("C4"), "shape-mismatch", "residual", x.shape_str(), res.shape_str(),
             fmt::format("residual must have x's {} dims, got {}", x.dim(), res.dim()));
  for (std::int64_t d = 0; d < x.dim(); ++d)
    nn::require_size(site.at("C4"), "residual", res, d, x.sizes[static_cast<std::size_t>(d)]);
  nn::require_same_dtype(site.at("C3"), "residual", res, "x", x.dtype);
  return {nn::contiguous_like(x.sizes, x.dtype, x), nn::contiguous_like(x.sizes, x.dtype, x)};
}

namespace {

// --- reference ------------------------------------------------------------------------------
op::Outputs reference(const op::Args& a, op::KernelContext& cx, bool fused) {
  const op::Outputs f = nn::fake_of_real(fused ? fused_add_rms_norm_fake : rms_norm_fake, a,
                                         fused ? "fused_add_rms_norm" : "rms_norm");
  const Tensor& x = a.tensor("x");
  const DType dt = x.dtype();
  const std::int64_t H = x.size(-1), M = nn::rows(x);
  std::vector<double> X = nn::read_f64(x);
  const std::vector<double> W = nn::read_f64(a.tensor("w"));
  if (fused) {
    const std::vector<double> R = nn::read_f64(a.tensor("residual"));
    for (std::size_t i = 0; i < X.size(); ++i) X[i] = nn::round_to(dt, X[i] + R[i]);
  }
  const double eps = a.f64("eps");
  std::vector<double> y(X.size());
  for (std::int64_t m = 0; m < M; ++m) {
    double ss = 0;
    for (std::int64_t h = 0; h < H; ++h) ss += X[static_cast<std::size_t>(m * H + h)] * X[static_cast<std::size_t>(m * H + h)];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(H) + eps);
    for (std::int64_t h = 0; h < H; ++h) {
      const auto i = static_cast<std::size_t>(m * H + h);
      y[i] = W[static_cast<std::size_t>(h)] * nn::round_to(dt, X[i] * inv);
    }
  }
  Tensor out = cx.alloc.output(0, nn::out_sizes(f), dt);
  nn::write_f64(out, y);
  if (!fused) return {out};
  Tensor res = cx.alloc.output(1, nn::out_sizes(f, 1), dt);
  nn::write_f64(res, X);
  return {out, res};
}

// --- variants -------------------------------------------------------------------------------
op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env, bool fused) {
  const TensorMeta& x = a.meta("x");
  if (auto r = nn::dtype_is(x, "x", kKernelTypes); r.truth != sym::Truth::kTrue) return r;
  if (auto r = nn::rows_viewable(env, x, "x"); r.truth != sym::Truth::kTrue) return r;
  if (auto r = nn::rows_viewable(env, a.meta("w"), "w"); r.truth != sym::Truth::kTrue) return r;
  if (fused)
    if (auto r = nn::rows_viewable(env, a.meta("residual"), "residual"); r.truth != sym::Truth::kTrue) return r;
  return op::Applicability::yes();
}

op::KernelFn runner(Isa isa, bool fused) {
  return [isa, fused](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor& x = a.tensor("x");
    const Tensor& w = a.tensor("w");
    const std::int64_t H = x.size(-1), M = nn::rows(x);
    const auto eps = static_cast<float>(a.f64("eps"));
    Tensor y = cx.alloc.output(0, x.sizes(), x.dtype());
    if (!fused) {
      kernels::rms_norm_rows(M, H, x.data_ptr(), nn::row_stride(x), w.data_ptr(), y.data_ptr(), H,
                             eps, x.dtype(), isa);
      return {y};
    }
    const Tensor& res = a.tensor("residual");
    Tensor ro = cx.alloc.output(1, x.sizes(), x.dtype());
    kernels::fused_add_rms_norm_rows(M, H, x.data_ptr(), nn::row_stride(x), res.data_ptr(),
                                     nn::row_stride(res), w.data_ptr(), y.data_ptr(), H,
                                     ro.data_ptr(), H, eps, x.dtype(), isa);
    return {y, ro};
  };
}

std::vector<op::Variant> variants(const std::string& name, bool fused) {
  const char* rule = "f32/bf16/f16; x (and residual) viewable as rows [M, H]; w contiguous";
  const auto app = [fused](const op::Args& a, sym::ShapeEnv& env) { return applicable(a, env, fused); };
  return {{.name = name + ".avx512", .isa = Isa::kAvx512, .rule = rule, .applicable = app,
           .run = runner(Isa::kAvx512, fused), .prepare = std::nullopt},
          {.name = name + ".avx2", .isa = Isa::kAvx2, .rule = rule, .applicable = app,
           .run = runner(Isa::kAvx2, fused), .prepare = std::nullopt}};
}

// f32 mean of squares: (H + 8) ulps of f32 relative; plus one more ulp of the dtype for the
// intermediate rounding of the normalized value, which can land on the other side of a tie.
op::Tolerance tolerance() {
  return {.compare = [](const op::Args& in, std::size_t out, const Tensor& got, const Tensor& ref) {
    const double H = static_cast<double>(in.tensor("x").size(-1));
    const std::vector<double> r = ref.to_f64();
    std::vector<double> bound(r.size());
    for (std::size_t i = 0; i < r.size(); ++i)
      bound[i] = out == 1 ? 0.0 : (H + 8) * 0x1p-24 * std::fabs(r[i]) + nn::ulp(got.dtype(), r[i]);
    return nn::compare_bounded(got, ref, bound);
  }};
}

// --- opcheck samples ------------------------------------------------------------------------
std::vector<op::Sample> samples(std::uint64_t seed, bool fused) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + (fused ? 29 : 23);
  const tensor::Shape leads[] = {{}, {1}, {7}, {2, 3}, {2, 1, 5}, {257}};
  for (DType dt : kKernelTypes)
    for (const tensor::Shape& lead : leads)
      for (std::int64_t H : {1, 17, 64, 257}) {
        tensor::Shape xs = lead;
        xs.push_back(H);
        op::Sample smp{fmt::format("lead{}_H{}_{}", lead.size(), H, tensor::name(dt)), {}};
        smp.args.emplace_back(nn::sample_tensor(xs, dt, ++s, nn::Layout::kContiguous, -3, 3));
        if (fused) smp.args.emplace_back(nn::sample_tensor(xs, dt, ++s, nn::Layout::kContiguous, -3, 3));
        smp.args.emplace_back(nn::sample_tensor({H}, dt, ++s, nn::Layout::kContiguous, 0.5f, 1.5f));
        smp.args.emplace_back(1e-6);
        out.push_back(std::move(smp));
      }
  const auto with = [&](tensor::Shape xs, tensor::Shape ws, DType xd, DType wd, nn::Layout lx) {
    std::vector<op::Value> v;
    v.reserve(4);
    v.emplace_back(nn::sample_tensor(xs, xd, ++s, lx));
    if (fused) v.emplace_back(nn::sample_tensor(xs, xd, ++s, lx));
    v.emplace_back(nn::sample_tensor(ws, wd, ++s));
    v.emplace_back(1e-5);
    return v;
  };
  out.push_back({"strided_rows_f32", with({4, 3, 33}, {33}, DType::kF32, DType::kF32, nn::Layout::kStridedRows)});
  out.push_back({"transposed_bf16", with({6, 5}, {5}, DType::kBF16, DType::kBF16, nn::Layout::kTransposedLast2)});
  out.push_back({"C2_w8_vs_H7", with({2, 3, 7}, {8}, DType::kF32, DType::kF32, nn::Layout::kContiguous), true});
  out.push_back({"C3_w_f32_x_bf16", with({2, 8}, {8}, DType::kBF16, DType::kF32, nn::Layout::kContiguous), true});
  out.push_back({"C1_scalar_x", with({}, {1}, DType::kF32, DType::kF32, nn::Layout::kContiguous), true});
  if (fused) {
    out.push_back({"C4_residual_shape",
                   {nn::sample_tensor({2, 8}, DType::kF32, ++s), nn::sample_tensor({3, 8}, DType::kF32, ++s),
                    nn::sample_tensor({8}, DType::kF32, ++s), 1e-6},
                   true});
  }
  return out;
}

op::OpDef make(bool fused) {
  op::OpDef def;
  def.name = fused ? "fused_add_rms_norm" : "rms_norm";
  def.schema = op::Schema::parse(
      fused ? "fused_add_rms_norm(Tensor x, Tensor residual, Tensor w, float eps) -> (Tensor y, Tensor new_residual)"
            : "rms_norm(Tensor x, Tensor w, float eps) -> Tensor");
  def.doc = fused ? "r = x + residual (rounded to x's dtype); returns (rms_norm(r, w, eps), r)"
                  : "w · round_x(x / sqrt(mean(x²) + eps)) over the last dim";
  def.constraints = kRmsNormConstraints;
  if (!fused) def.constraints.pop_back();
  def.fake = fused ? op::FakeFn(fused_add_rms_norm_fake) : op::FakeFn(rms_norm_fake);
  def.reference = [fused](const op::Args& a, op::KernelContext& cx) { return reference(a, cx, fused); };
  def.variants = variants(def.name, fused);
  def.tolerance = tolerance();
  def.samples = [fused](std::uint64_t seed) { return samples(seed, fused); };
  return def;
}

}  // namespace

void register_rms_norm(op::Registry& r) {
  r.add(make(false));
  r.add(make(true));
}

}  // namespace symtrace::ops
