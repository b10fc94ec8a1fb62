// linear_w16(x [*, K] f32, w [N, K] bf16|f16, bias [N] f32) = x · float(w)ᵀ + bias, f32 output.
//
// f32 compute over a 16-bit checkpoint without converting the weight: the model builder uses
// it for unquantized linears when the compute dtype is f32 and the checkpoint's weight is bf16
// or f16, so load_params maps the weight instead of holding an f32 copy (half the bytes a
// decode step streams). linear keeps PyTorch's contract (w's dtype == x's dtype, linear C4).
// The output keeps x's leading dims symbol for symbol ([*, N]), as linear's does.
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"
#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops {
namespace linear_w16 {

constexpr std::string_view kSchema = "linear_w16(Tensor x, Tensor w, Tensor? bias=None) -> Tensor";

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  static constexpr std::array kF32 = {DType::kF32};
  static constexpr std::array kW16 = {DType::kBF16, DType::kF16};
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  const TensorMeta& w = a.meta("w");
  // C1: x is f32 [*, K].
  nn::require_rank(site.at("C1"), "x", x, 1, nn::kAnyRank, "[*, K]");
  nn::require_dtype(site.at("C1"), "x", x, kF32);
  // C2: w is bf16 or f16 [N, K].
  nn::require_rank(site.at("C2"), "w", w, 2, 2, "[N, K]");
  nn::require_dtype(site.at("C2"), "w", w, kW16);
  // C3: x.size(-1) == K.
  nn::require_size(site.at("C3"), "x", x, -1, w.sizes[1], "K = w.size(1)");
  // C4: bias is f32 [N].
  if (const TensorMeta* bias = a.opt_meta("bias")) {
    nn::require_rank(site.at("C4"), "bias", *bias, 1, 1, "[N]");
    nn::require_size(site.at("C4"), "bias", *bias, 0, w.sizes[0], "N = w.size(0)");
    nn::require_dtype(site.at("C4"), "bias", *bias, kF32);
  }
  SymShape out(x.sizes.begin(), x.sizes.end() - 1);
  out.push_back(w.sizes[0]);
  return {nn::contiguous_like(std::move(out), DType::kF32, x)};
}

namespace {

op::Applicability applicable(const op::Args& a, sym::ShapeEnv& env) {
  if (auto r = nn::rows_viewable(env, a.meta("x"), "x"); r.truth != sym::Truth::kTrue) return r;
  return nn::rows_viewable(env, a.meta("w"), "w");
}

op::Variant variant(std::string name, Isa isa, std::string rule) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = std::move(rule);
  v.applicable = applicable;
  v.run = [isa](const op::Args& a, op::KernelContext& cx) { return run(a, cx, isa); };
  return v;
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  struct Case {
    tensor::Shape lead;
    std::int64_t N, K;
    DType w;
    bool bias;
  };
  // M 1..16 take the GEMV, larger M the slab GEMM; K and N off every vector width.
  const Case cases[] = {
      {{}, 7, 17, DType::kBF16, true},       {{1}, 1, 1, DType::kF16, false},
      {{1}, 33, 130, DType::kBF16, true},    {{3}, 5, 16, DType::kF16, true},
      {{2, 3}, 31, 64, DType::kBF16, false}, {{2, 1, 4}, 11, 257, DType::kF16, true},
      {{16}, 9, 33, DType::kBF16, true},     {{17}, 13, 31, DType::kBF16, true},
      {{40}, 70, 200, DType::kF16, false},   {{1, 7, 10}, 24, 65, DType::kBF16, true},
      {{0}, 5, 8, DType::kBF16, true},       {{3}, 4, 0, DType::kF16, true},
  };
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 16;
  for (const Case& c : cases) {
    tensor::Shape xs = c.lead;
    xs.push_back(c.K);
    std::int64_t M = 1;
    for (auto d : c.lead) M *= d;
    op::Sample smp;
    smp.label = fmt::format("M{}_N{}_K{}_lead{}_{}{}", M, c.N, c.K, c.lead.size(),
                            tensor::name(c.w), c.bias ? "_bias" : "");
    smp.args = {nn::sample_tensor(xs, DType::kF32, ++s, nn::Layout::kContiguous, -2.f, 2.f),
                nn::sample_tensor({c.N, c.K}, c.w, ++s)};
    if (c.bias) smp.args.push_back(nn::sample_tensor({c.N}, DType::kF32, ++s));
    out.push_back(std::move(smp));
  }
  // Rows two apart (the fast paths take ldx = 2K) and a transposed weight (not viewable as
  // rows: only the reference applies).
  out.push_back({"M6_N9_K13_lead2_bf16_strided_rows",
                 {nn::sample_tensor({2, 3, 13}, DType::kF32, ++s, nn::Layout::kStridedRows),
                  nn::sample_tensor({9, 13}, DType::kBF16, ++s)}});
  out.push_back({"M3_N5_K7_lead1_f16_transposed_w",
                 {nn::sample_tensor({3, 7}, DType::kF32, ++s),
                  nn::sample_tensor({5, 7}, DType::kF16, ++s, nn::Layout::kTransposedLast2)}});
  // Rejected calls: fake and reference must both refuse them.
  out.push_back({"C1_bf16_x",
                 {nn::sample_tensor({2, 16}, DType::kBF16, ++s),
                  nn::sample_tensor({8, 16}, DType::kBF16, ++s)},
                 true});
  out.push_back(
      {"C2_f32_w",
       {nn::sample_tensor({2, 16}, DType::kF32, ++s), nn::sample_tensor({8, 16}, DType::kF32, ++s)},
       true});
  out.push_back({"C3_K15_vs_16",
                 {nn::sample_tensor({2, 15}, DType::kF32, ++s),
                  nn::sample_tensor({8, 16}, DType::kBF16, ++s)},
                 true});
  out.push_back(
      {"C4_bias_bf16",
       {nn::sample_tensor({2, 16}, DType::kF32, ++s), nn::sample_tensor({8, 16}, DType::kBF16, ++s),
        nn::sample_tensor({8}, DType::kBF16, ++s)},
       true});
  return out;
}

}  // namespace
}  // namespace linear_w16

void register_linear_w16(op::Registry& r) {
  using namespace linear_w16;
  op::OpDef def;
  def.name = "linear_w16";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "f32 x · wᵀ + bias with a bf16/f16 [N, K] weight read as is; f32 output";
  def.constraints = {
      "C1: x is f32 [*, K]",
      "C2: w is bf16 or f16 [N, K]",
      "C3: x.size(-1) == K",
      "C4: bias is f32 [N]",
  };
  def.fake = fake;
  def.reference = reference;
  const std::string rule = fmt::format(
      "x viewable as rows [M, K] with unit inner stride; w rows contiguous; run time "
      "M <= {}: weight-streaming GEMV, else linear's f32 GEMM on widened weight slabs",
      kGemvMaxM);
  def.variants.push_back(variant("linear_w16.avx512", Isa::kAvx512, "AVX-512; " + rule));
  def.variants.push_back(variant("linear_w16.avx2", Isa::kAvx2, "AVX2+FMA+F16C; " + rule));
  def.variants.push_back(variant("linear_w16.scalar", Isa::kNone, rule));
  def.tolerance.compare = compare;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
