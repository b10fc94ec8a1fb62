// nvfp4_w4a16_gemm: x [*, K] (16-bit or f32) times an NVFP4 weight -> [*, N] in x's dtype
// (OPS.md §10, formula §15.4): weight_packed u8 [N, K/2] (e2m1 pairs, low nibble first),
// weight_scale f8_e4m3fn [N, K/16], weight_global_scale f32 [1] — a multiplier
// (ModelOpt's weight_scale_2; compressed-tensors stores the divisor weight_global_scale,
// which the loader inverts), optional bias [N]. No activation scale exists or is read.
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/nvfp4_w4a16_gemm/gemm.hpp"
#include "ops/nvfp4_w4a16_gemm/testdata.hpp"

namespace symtrace::ops {
namespace nvfp4 {

namespace v2 = boost::variant2;

op::Outputs gemm_fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x float [*, K], K % 16 == 0.
  require_dtype(site, "x", x, {DType::kBF16, DType::kF16, DType::kF32});
  if (x.dim() < 1)
    fail(site, violation("shape", "x", "[*, K]", x.shape_str(), "x must have at least one dim"));
  const SymInt K = x.sizes.back();
  if (cx.env.require(sym::divisible(K, kBlock), "nvfp4_w4a16_gemm C1: K % 16 == 0") ==
      sym::Truth::kFalse)
    fail(site, violation("shape", "x", "K a multiple of 16", K.str(),
                         "NVFP4 weights carry one scale per 16 elements of K", {}, {K}));
  // C2: weight_packed u8 [N, K/2], NK.
  const TensorMeta& wq = a.meta("weight_packed");
  const CheckSite c2 = site.with("C2");
  require_dtype(c2, "weight_packed", wq, {DType::kU8});
  require_layout(c2, "weight_packed", wq, {WeightLayout::kNK});
  if (wq.dim() != 2)
    fail(c2, violation("shape", "weight_packed", "[N, K/2]", wq.shape_str(),
                       "weight_packed must be 2-D"));
  const SymInt N = wq.sizes[0];
  require_shape(c2, "shape", "weight_packed", wq, {N, sym::floordiv(K, 2)},
                "two e2m1 codes per byte along K");
  // C3: weight_scale f8_e4m3fn [N, K/16].
  const TensorMeta& ws = a.meta("weight_scale");
  require_scale_dtype(site.with("C3"), "weight_scale", ws, {DType::kF8E4M3FN});
  require_shape(site.with("C3"), "scale-layout", "weight_scale", ws, {N, sym::floordiv(K, kBlock)},
                "one e4m3 scale per 16 elements of a weight row; swizzled (128x4) scales are a "
                "GPU prepare product, not this op's input");
  // C4: weight_global_scale f32 [1], a multiplier.
  const TensorMeta& g = a.meta("weight_global_scale");
  require_scale_dtype(site.with("C4"), "weight_global_scale", g);
  require_shape(site.with("C4"), "scale-layout", "weight_global_scale", g, {1},
                "one global multiplier (compressed-tensors' weight_global_scale is a divisor: "
                "the loader stores 1 / it)");
  // C5: bias [N] in x's dtype or f32.
  check_bias(site.with("C5"), "bias", a.opt_meta("bias"), N, {x.dtype, DType::kF32});
  return {gemm_out_meta(x, N, x.dtype)};
}

op::Outputs gemm_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, gemm_fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  const tensor::Tensor& x = a.tensor("x");
  const tensor::Tensor wq = a.tensor("weight_packed").contiguous();
  const tensor::Tensor ws = a.tensor("weight_scale").contiguous();
  const double g = a.tensor("weight_global_scale").item(std::vector<std::int64_t>{0});
  const tensor::Tensor* bias = a.opt_tensor("bias");
  const std::vector<std::int64_t> rows = qop::row_offsets(x);
  const std::int64_t K = x.size(-1), N = wq.size(0);
  for (std::size_t m = 0; m < rows.size(); ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (std::int64_t k = 0; k < K; ++k)
        acc += static_cast<double>(
                   quant::load_f32(x.data_ptr(), x.dtype(), rows[m] + k * x.stride(-1))) *
               weight(wq.data<std::uint8_t>() + n * (K / 2),
                      ws.data<std::uint8_t>() + n * (K / kBlock), k);
      const double b = bias ? bias->item(std::vector<std::int64_t>{n}) : 0.0;
      quant::store_f64(out.data_ptr(), x.dtype(), static_cast<std::int64_t>(m) * N + n,
                       g * acc + b);
    }
  return {out};
}

namespace {

constexpr std::string_view kSchema =
    "nvfp4_w4a16_gemm(Tensor x, Tensor weight_packed, Tensor weight_scale, "
    "Tensor weight_global_scale, Tensor? bias=None) -> Tensor";

// OPS.md §15.7: the f32 summation bound plus one ulp of the output dtype.
std::string compare(const op::Args& in, std::size_t, const tensor::Tensor& got,
                    const tensor::Tensor& ref) {
  const tensor::Tensor& x = in.tensor("x");
  const tensor::Tensor wq = in.tensor("weight_packed").contiguous();
  const tensor::Tensor ws = in.tensor("weight_scale").contiguous();
  const double g = in.tensor("weight_global_scale").item(std::vector<std::int64_t>{0});
  const tensor::Tensor* bias = in.opt_tensor("bias");
  const std::vector<std::int64_t> rows = qop::row_offsets(x);
  const std::int64_t K = x.size(-1), N = wq.size(0);
  const std::vector<double> gv = got.to_f64(), rv = ref.to_f64();
  for (std::size_t m = 0; m < rows.size(); ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double abs_sum = 0;
      for (std::int64_t k = 0; k < K; ++k)
        abs_sum += std::fabs(quant::load_f32(x.data_ptr(), x.dtype(), rows[m] + k * x.stride(-1)) *
                             weight(wq.data<std::uint8_t>() + n * (K / 2),
                                    ws.data<std::uint8_t>() + n * (K / kBlock), k));
      const double b = bias ? std::fabs(bias->item(std::vector<std::int64_t>{n})) : 0.0;
      const std::size_t i = m * static_cast<std::size_t>(N) + static_cast<std::size_t>(n);
      const double tol =
          (K + 2) * std::ldexp(1.0, -24) * (std::fabs(g) * abs_sum + b) + ulp(x.dtype(), rv[i]);
      if (!(std::fabs(gv[i] - rv[i]) <= tol) && !(std::isnan(gv[i]) && std::isnan(rv[i])))
        return fmt::format("element [{}, {}]: got {}, reference {}, tolerance {:.3g}", m, n, gv[i],
                           rv[i], tol);
    }
  return {};
}

}  // namespace

}  // namespace nvfp4

void register_nvfp4_w4a16_gemm(op::Registry& r) {
  using namespace nvfp4;
  op::OpDef def;
  def.name = "nvfp4_w4a16_gemm";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "16-bit activations times NVFP4 (e2m1 + e4m3 per 16 + global) weights";
  def.constraints = {
      "C1: x is bf16, f16 or f32 [*, K] with K % 16 == 0",
      "C2: weight_packed is u8 [N, K/2] (NK)",
      "C3: weight_scale is f8_e4m3fn [N, K/16]",
      "C4: weight_global_scale is f32 [1] (a multiplier)",
      "C5: bias is [N] in x's dtype or f32",
  };
  def.fake = gemm_fake;
  def.reference = gemm_reference;
  const auto variant = [](std::string name, tensor::Isa isa, Fp4Block block) {
    op::Variant v;
    v.name = std::move(name);
    v.isa = isa;
    v.rule = "x rows viewable as [M, K]; weight and scales contiguous";
    v.applicable = [](const op::Args& a, sym::ShapeEnv& env) {
      for (const char* w : {"weight_packed", "weight_scale"})
        if (a.meta(w).is_contiguous(env) != sym::Truth::kTrue)
          return op::Applicability::no(fmt::format("{} is not contiguous", w));
      return qop::rows_applicable(a.meta("x"), env, "x");
    };
    v.run = [block](const op::Args& a, op::KernelContext& cx) { return gemm_run(a, cx, block); };
    return v;
  };
  def.variants.push_back(variant("nvfp4_w4a16_gemm.avx512", tensor::Isa::kAvx512, block_avx512));
  def.variants.push_back(variant("nvfp4_w4a16_gemm.avx2", tensor::Isa::kAvx2, block_avx2));
  def.variants.push_back(variant("nvfp4_w4a16_gemm.scalar", tensor::Isa::kNone, block_scalar));
  def.tolerance.compare = compare;
  def.samples = gemm_samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
