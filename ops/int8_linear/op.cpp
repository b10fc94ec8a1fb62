// int8_linear — quantize_int8 (static per-tensor or dynamic per-token, symmetric or with a
// zero point) followed by int8_gemm; output and bias in x's dtype (OPS.md §8).
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers.hpp"
#include "ops/common/quantizers_op.hpp"
#include "ops/int8_gemm/int8_gemm.hpp"

namespace symtrace::ops {
namespace int8_linear {

using tensor::Tensor;

// OPS.md writes symmetric and bias keyword-only (`*`); opcheck samples bind positionally.
constexpr std::string_view kSchema =
    "int8_linear(Tensor x, Tensor w, Tensor w_scale, Tensor? input_scale=None, "
    "Tensor? input_zp=None, bool symmetric=True, Tensor? bias=None) -> Tensor";

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& x = a.meta("x");
  // C1: x is bf16, f16 or f32 [*, K].
  require_dtype(site, "x", x, {DType::kBF16, DType::kF16, DType::kF32});
  if (x.dim() < 1) fail(site, violation("shape", "x", "[*, K]", x.shape_str(), "x needs a K dim"));
  // C2: w is i8 [N, K], layout NK.
  const TensorMeta& w = a.meta("w");
  require_dtype(site.with("C2"), "w", w, {DType::kI8});
  require_layout(site.with("C2"), "w", w, {WeightLayout::kNK});
  // C3: w_scale is f32 [1] or [N, 1].
  const QuantizedWeight b = bind_weight(site.with("C3"), "w", w, "w_scale", a.meta("w_scale"),
                                        {Granularity::kTensor, Granularity::kChannel});
  // C4: x.size(-1) == K.
  require_k_match(site.with("C4"), "x", x, b);
  // C5: a static input_scale is f32 [1].
  const TensorMeta* s = a.opt_meta("input_scale");
  if (s) {
    require_scale_dtype(site.with("C5"), "input_scale", *s);
    require_shape(site.with("C5"), "scale-layout", "input_scale", *s, {1},
                  "static activation scales are per-tensor; the loader takes the max of [P]");
  }
  // C6: input_zp (i32 [1]) goes with a static scale and symmetric=False, and the reverse.
  const TensorMeta* z = a.opt_meta("input_zp");
  const bool symmetric = a.flag("symmetric");
  const CheckSite c6 = site.with("C6");
  if (z) {
    if (!s)
      qop::bad_argument(c6, "input_zp", "None", z->shape_str(),
                        "a zero point needs a static input_scale");
    if (symmetric)
      qop::bad_argument(c6, "symmetric", "False", "True",
                        "a zero point makes the quantization asymmetric");
    require_dtype(c6, "input_zp", *z, {DType::kI32});
    require_shape(c6, "shape", "input_zp", *z, {1});
  } else if (s && !symmetric) {
    qop::bad_argument(c6, "input_zp", "an i32 [1] zero point", "None",
                      "static asymmetric quantization needs its zero point");
  }
  // C7: bias is [N] in x's dtype or f32.
  check_bias(site.with("C7"), "bias", a.opt_meta("bias"), b.N, {x.dtype, DType::kF32});
  return {gemm_out_meta(x, b.N, x.dtype)};
}

namespace {

// x quantized as quantize_int8 does (bit-identical on every ISA path): codes [M, K], one
// scale and zero point per row (per-tensor values repeated).
struct Quantized {
  std::int8_t* q;
  float* scale;
  std::int32_t* zp;  // null when symmetric
};
void quantize(const op::Args& a, const quant::Rows& rows, const Quantized& out, int threads,
              const quant::RowKernels* k) {
  const std::int64_t M = rows.rows, K = rows.cols;
  if (const Tensor* s = a.opt_tensor("input_scale")) {
    const float sv = s->to_f32()[0];
    const Tensor* z = a.opt_tensor("input_zp");
    const std::int32_t zv = z ? z->data<std::int32_t>()[0] : 0;
    quant::int8_static(rows, sv, zv, out.q, K, threads, k);
    std::fill(out.scale, out.scale + M, sv);
    if (out.zp) std::fill(out.zp, out.zp + M, zv);
  } else if (a.flag("symmetric")) {
    quant::int8_dynamic_token(rows, 0.f, out.q, K, out.scale, threads, k);
  } else {
    quant::int8_dynamic_token_asym(rows, out.q, K, out.scale, out.zp, threads, k);
  }
}

bool asymmetric(const op::Args& a) { return !a.flag("symmetric"); }

op::Outputs run(const op::Args& a, op::KernelContext& cx, tensor::Isa isa) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  Tensor out = qop::alloc_like(cx.alloc, 0, boost::variant2::get<TensorMeta>(metas[0]));
  const quant::Rows rows = qop::rows_of(a.tensor("x"), "x");
  const std::int64_t M = rows.rows, K = rows.cols;
  gemm_op::Workspace ws(cx.alloc, {static_cast<std::size_t>(M * K), static_cast<std::size_t>(M) * 4,
                                   asymmetric(a) ? static_cast<std::size_t>(M) * 4 : 0});
  Quantized qz{reinterpret_cast<std::int8_t*>(ws[0].data()), reinterpret_cast<float*>(ws[1].data()),
               asymmetric(a) ? reinterpret_cast<std::int32_t*>(ws[2].data()) : nullptr};
  if (M > 0) quantize(a, rows, qz, cx.threads, &quant::row_kernels());
  const Tensor w = a.tensor("w");
  int8_gemm::Call c;
  c.a = qz.q;
  c.lda = K;
  c.M = M;
  c.K = K;
  c.b = &w;
  c.epi.sa = RowScale{qz.scale, 1};
  c.epi.sb = channel_scale(a.tensor("w_scale"));
  c.epi.z = qz.zp;
  c.epi.z_stride = 1;
  c.epi.out = out.data_ptr();
  c.epi.out_dtype = out.dtype();
  c.epi.ldo = w.size(0);
  c.bias = a.opt_tensor("bias");
  int8_gemm::compute(c, isa, cx);
  return {out};
}

gemm_op::RefResult ref_result(const op::Args& a) {
  const Tensor x = a.tensor("x").contiguous();
  const Tensor& w = a.tensor("w");
  const std::int64_t K = w.size(1), N = w.size(0), M = leading_numel(x);
  std::vector<std::int8_t> q(M * K);
  std::vector<float> s(M);
  std::vector<std::int32_t> z(M, 0);
  if (M > 0)
    quantize(a, quant::Rows{x.data_ptr(), x.dtype(), M, K, K}, {q.data(), s.data(), z.data()}, 1,
             &quant::row_kernels_scalar());
  const std::vector<double> wv = gemm_op::values(w), sw = gemm_op::expand(&a.tensor("w_scale"), N);
  const Tensor* bias = a.opt_tensor("bias");
  const std::vector<double> bs = bias ? gemm_op::values(*bias) : std::vector<double>(N, 0.0);
  gemm_op::RefResult r{M, N, std::vector<double>(M * N), std::vector<double>(M * N)};
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      std::int64_t acc = 0, colsum = 0;
      double abs_sum = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        const auto bk = static_cast<std::int64_t>(wv[n * K + k]);
        acc += q[m * K + k] * bk;
        colsum += bk;
        abs_sum += std::fabs(static_cast<double>(q[m * K + k] * bk));
      }
      const double zc = static_cast<double>(z[m]) * static_cast<double>(colsum);
      const double sc = static_cast<double>(s[m]) * sw[n];
      r.y[m * N + n] = sc * (static_cast<double>(acc) - zc) + bs[n];
      r.bound[m * N + n] = (K + 2) * std::ldexp(1.0, -24) *
                           (std::fabs(sc) * (abs_sum + std::fabs(zc)) + std::fabs(bs[n]));
    }
  return r;
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  return {
      gemm_op::write_result(cx.alloc, boost::variant2::get<TensorMeta>(metas[0]), ref_result(a))};
}

op::Variant variant(std::string name, tensor::Isa isa, std::int64_t max_k, std::string rule) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = std::move(rule);
  v.applicable = [max_k](const op::Args& a, sym::ShapeEnv& env) -> op::Applicability {
    if (auto r = qop::rows_applicable(a.meta("x"), env, "x"); r.truth != sym::Truth::kTrue)
      return r;
    if (auto r = qop::rows_applicable(a.meta("w"), env, "w"); r.truth != sym::Truth::kTrue)
      return r;
    const sym::Truth t = env.decide(sym::le(a.meta("w").size(-1), max_k));
    if (t != sym::Truth::kTrue)
      return {t, fmt::format("K <= {} is {}: K = {}", max_k, sym::truth_name(t),
                             a.meta("w").size(-1).str())};
    return op::Applicability::yes();
  };
  v.run = [isa](const op::Args& a, op::KernelContext& cx) { return run(a, cx, isa); };
  return v;
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  using gemm_op::random;
  using gemm_op::random_scale;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t K, N;
    int mode;  // 0 dynamic sym, 1 dynamic asym, 2 static sym, 3 static asym
    DType x;
  };
  const std::vector<Case> cases = {
      {"K64_N48_lead0", {}, 64, 48, 0, DType::kBF16},
      {"M3_K17_N5_asym", {3}, 17, 5, 1, DType::kF32},
      {"M1_K130_N33_static", {1}, 130, 33, 2, DType::kF16},
      {"M6_K257_N70_lead2_static_asym", {2, 3}, 257, 70, 3, DType::kBF16},
      {"M8_K96_N130_lead3", {2, 1, 4}, 96, 130, 0, DType::kF32},
      {"M0_K32_N16", {0}, 32, 16, 1, DType::kBF16},
      {"M40_K200_N67", {40}, 200, 67, 0, DType::kBF16},
  };
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 191;
  for (const Case& c : cases) {
    tensor::Shape xs = c.lead;
    xs.push_back(c.K);
    Tensor x = random(xs, c.x, ++s, -1.f, 3.f);
    Tensor w = random({c.N, c.K}, DType::kI8, ++s, -128.f, 128.f);
    Tensor ws = random_scale({c.N, 1}, ++s, 0.001f, 0.01f);
    op::Value is = op::None{}, zp = op::None{};
    if (c.mode >= 2) is = gemm_op::scalar_f32(0.025f);
    if (c.mode == 3) zp = Tensor::from_f32({1}, std::vector<float>{-40.f}, DType::kI32);
    Tensor bias = random({c.N}, c.x, ++s, -2.f, 2.f);
    out.push_back({c.label, {x, w, ws, is, zp, c.mode % 2 == 0, bias}, false});
  }
  Tensor x = random({3, 16}, DType::kBF16, 1), w = random({8, 16}, DType::kI8, 2, -9.f, 9.f);
  out.push_back({"C3_scale_1d",
                 {x, w, random_scale({8}, 3, 0.1f, 1.f), op::None{}, op::None{}, true, op::None{}},
                 true});
  return out;
}

}  // namespace
}  // namespace int8_linear

void register_int8_linear(op::Registry& r) {
  using namespace int8_linear;
  op::OpDef def;
  def.name = "int8_linear";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "quantize_int8 (per-token dynamic or static, optional zero point) + int8_gemm";
  def.constraints = {
      "C1: x is bf16, f16 or f32 [*, K]",
      "C2: w is i8 [N, K], layout NK",
      "C3: w_scale is f32 [1] or [N, 1]",
      "C4: x.size(-1) == K",
      "C5: input_scale is f32 [1]",
      "C6: input_zp is i32 [1], given exactly when a static scale is asymmetric",
      "C7: bias is [N] in x's dtype or f32",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(variant("int8_linear.avx512_vnni", tensor::Isa::kAvx512Vnni,
                                 int8_gemm::kMaxKVnni, "AVX512_VNNI; K <= 65535"));
  def.variants.push_back(
      variant("int8_linear.avx2", tensor::Isa::kAvx2, int8_gemm::kMaxKS16, "AVX2; K <= 131072"));
  def.variants.push_back(
      variant("int8_linear.scalar", tensor::Isa::kNone, int8_gemm::kMaxKS16, "K <= 131072"));
  def.tolerance.compare = [](const op::Args& in, std::size_t, const Tensor& got, const Tensor&) {
    return gemm_op::compare_to_bound(got, ref_result(in));
  };
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
