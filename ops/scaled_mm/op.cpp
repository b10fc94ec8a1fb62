// scaled_mm — torch._scaled_mm: (a [M, K] fp8) · (b [K, N] fp8) with f32 scales -> [M, N]
//
// The shape, layout and scale rules are PyTorch 2.11's meta kernel for _scaled_mm
// (torch/_meta_registrations.py _check_scaled_mm_sizes, read from the installed 2.11), so a
// graph that fits here fits the CUDA op: a row-major, b column-major (b = w.t() of an [N, K]
// weight), K and N multiples of 16, and one of the scale layouts
//   tensorwise   scale_a, scale_b with one element each
//   rowwise      scale_a [M, 1], scale_b [1, N], contiguous
//   blockwise    (1x128, 128x128): scale_a [M, cdiv(K,128)], scale_b [cdiv(K,128), cdiv(N,128)]
//                (1x128, 1x128):   scale_a [M, cdiv(K,128)], scale_b [cdiv(K,128), N]
//                (128x128, 1x128): scale_a [cdiv(M,128), cdiv(K,128)], scale_b [cdiv(K,128), N]
// Beyond the meta kernel (which leaves them to the CUDA kernel) this checks K and bias, so the
// reference can run every call the fake accepts; MX / NVFP4 swizzled block scales (e8m0, e4m3)
// and packed fp4 inputs are not modelled and are refused.
// Output: contiguous [M, N] of out_dtype (default: a's dtype).
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"
#include "ops/scaled_mm/scaled_mm.hpp"

namespace symtrace::ops {

using scaled_mm_detail::Scaling;

const std::vector<std::string> kScaledMmConstraints = {
    "C1: a and b are 2-D",
    "C2: a and b are fp8 (f8_e4m3fn, f8_e5m2, f8_e4m3fnuz, f8_e5m2fnuz)",
    "C3: a is row-major (stride(0) > stride(1) == 1), b column-major (stride(0) == 1 < stride(1)), "
    "unless a dim is 0",
    "C4: a.size(1) % 16 == 0, b.size(0) % 16 == 0 and b.size(1) % 16 == 0",
    "C5: scale_a and scale_b are f32 (MX/NVFP4 block scales are not modelled)",
    "C6: the scales are tensorwise, rowwise (contiguous) or one of the three 128-block layouts",
    "C7: a.size(1) == b.size(0) == K (checked by PyTorch's CUDA kernel, not its meta kernel)",
    "C8: bias, when given, is [N] (likewise)",
};

namespace {

constexpr std::array kFp8 = {DType::kF8E4M3FN, DType::kF8E5M2, DType::kF8E4M3FNUZ, DType::kF8E5M2FNUZ};

bool proven(sym::ShapeEnv& env, const sym::Cond& c) { return env.decide(c) == sym::Truth::kTrue; }

// A PyTorch-style check: a fact proven false is the error; an unknown one a guard.
void check(const nn::Site& site, const sym::Cond& c, std::string_view arg, std::string expected,
           std::string got, std::string message) {
  const std::string reason = fmt::format("{} {}: {}", site.op, site.constraint, c.str());
  if (site.env.require(c, reason) == sym::Truth::kFalse)
    nn::fail(site, "shape-mismatch", arg, std::move(expected), std::move(got), std::move(message));
}

}  // namespace

op::Outputs scaled_mm_fake(const op::Args& args, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& a = args.meta("a");
  const TensorMeta& b = args.meta("b");
  const TensorMeta& sa = args.meta("scale_a");
  const TensorMeta& sb = args.meta("scale_b");
  if (a.dim() != 2 || b.dim() != 2)
    nn::fail(site.at("C1"), "shape-mismatch", a.dim() != 2 ? "a" : "b", "2-D",
             fmt::format("{}-D and {}-D", a.dim(), b.dim()),
             fmt::format("inputs must be 2-D, got a.dim() = {} and b.dim() = {}", a.dim(), b.dim()));
  nn::require_dtype(site.at("C2"), "a", a, kFp8);
  nn::require_dtype(site.at("C2"), "b", b, kFp8);

  sym::ShapeEnv& env = cx.env;
  const nn::Site c3 = site.at("C3");
  const auto zero_dim = [&](const TensorMeta& t) {
    return sym::eq(t.sizes[0], 0) || sym::eq(t.sizes[1], 0);
  };
  check(c3, (sym::gt(a.strides[0], a.strides[1]) && sym::eq(a.strides[1], 1)) || zero_dim(a), "a",
        "row-major strides (s, 1), s > 1", tensor::shape_str(a.strides),
        fmt::format("a must be row-major, got strides {}", tensor::shape_str(a.strides)));
  check(c3, (sym::eq(b.strides[0], 1) && sym::gt(b.strides[1], 1)) || zero_dim(b), "b",
        "column-major strides (1, s), s > 1 (b = w.t() of an [N, K] weight)", tensor::shape_str(b.strides),
        fmt::format("b must be column-major, got strides {}", tensor::shape_str(b.strides)));
  const SymInt M = a.sizes[0], K = a.sizes[1], N = b.sizes[1];
  const nn::Site c4 = site.at("C4");
  check(c4, sym::divisible(K, 16), "a", "a.size(1) % 16 == 0", a.shape_str(),
        fmt::format("a.size(1) = {} must be a multiple of 16", K.str()));
  check(c4, sym::divisible(b.sizes[0], 16) && sym::divisible(N, 16), "b",
        "both dims multiples of 16", b.shape_str(),
        fmt::format("b {} must have both dims multiples of 16", b.shape_str()));
  nn::require_size(site.at("C7"), "b", b, 0, K, "K = a.size(1)");

  // C5, C6: the scaling layout.
  const bool one_each = proven(env, sym::eq(sa.numel(), 1)) && proven(env, sym::eq(sb.numel(), 1));
  if (sa.dtype != DType::kF32 || sb.dtype != DType::kF32)
    nn::fail(site.at("C5"), "scale-dtype", sa.dtype != DType::kF32 ? "scale_a" : "scale_b", "f32",
             fmt::format("{} and {}", tensor::name(sa.dtype), tensor::name(sb.dtype)),
             one_each ? "for tensorwise scaling both scales must be f32"
                      : "scales must be f32 (MX/NVFP4 block scales are not modelled)");
  const Scaling s = scaled_mm_detail::classify(env, M, K, N, sa, sb);
  if (s == Scaling::kInvalid) {
    const nn::Site c6 = site.at("C6");
    if (!one_each && (sa.dim() != 2 || sb.dim() != 2))
      nn::fail(c6, "scale-layout", sa.dim() != 2 ? "scale_a" : "scale_b", "2-D scales",
               fmt::format("scale_a {} and scale_b {}", sa.shape_str(), sb.shape_str()),
               fmt::format("for non-tensorwise scaling the scales must be 2-D, got scale_a.dim() = {} "
                           "and scale_b.dim() = {}", sa.dim(), sb.dim()));
    const SymInt kb = ceildiv(K, SymInt(128));
    nn::fail(c6, "scale-layout", "scale_a",
             fmt::format("[1] and [1]; [{0}, 1] and [1, {1}]; [{0}, {2}] and [{2}, {3}] (or [{2}, {1}]); "
                         "[{4}, {2}] and [{2}, {1}]",
                         M.str(), N.str(), kb.str(), ceildiv(N, SymInt(128)).str(),
                         ceildiv(M, SymInt(128)).str()),
             fmt::format("{} and {}", sa.shape_str(), sb.shape_str()),
             "invalid scaling configuration (tensorwise, rowwise or 128-block scales)");
  }
  if (s == Scaling::kRowwise) {
    const sym::Truth t = sym::truth_and(sa.is_contiguous(env), sb.is_contiguous(env));
    if (t != sym::Truth::kTrue)
      nn::fail(site.at("C6"), "scale-layout", "scale_a", "contiguous scales",
               fmt::format("strides {} and {}", tensor::shape_str(sa.strides), tensor::shape_str(sb.strides)),
               "both scale_a and scale_b must be contiguous for rowwise scaling");
  }
  if (const TensorMeta* bias = args.opt_meta("bias")) {
    nn::require_rank(site.at("C8"), "bias", *bias, 1, 1, "[N]");
    nn::require_size(site.at("C8"), "bias", *bias, 0, N, "N = b.size(1)");
  }
  const DType out = args.opt_dtype("out_dtype").value_or(a.dtype);
  return {nn::contiguous_like({M, N}, out, a)};
}

namespace {

std::vector<op::Sample> samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 41;
  // a [M, K] row-major; b = w.t() of w [N, K] (column-major); fp8 codes from values in [-4, 4).
  const auto ab = [&](std::int64_t M, std::int64_t K, std::int64_t N, DType da, DType db) {
    Tensor a = nn::sample_tensor({M, K}, da, ++s, nn::Layout::kContiguous, -4, 4);
    Tensor b = nn::sample_tensor({K, N}, db, ++s, nn::Layout::kTransposedLast2, -4, 4);
    return std::pair{a, b};
  };
  const auto scale = [&](tensor::Shape sz) { return nn::sample_tensor(std::move(sz), DType::kF32, ++s, nn::Layout::kContiguous, 0.25f, 2.f); };
  for (auto [M, K, N] : std::vector<std::array<std::int64_t, 3>>{{16, 32, 48}, {5, 64, 16}, {1, 256, 32}, {0, 16, 16}}) {
    for (DType o : {DType::kBF16, DType::kF32}) {
      auto [a, b] = ab(M, K, N, DType::kF8E4M3FN, DType::kF8E4M3FN);
      out.push_back({fmt::format("M{}_K{}_N{}_tensorwise_{}", M, K, N, tensor::name(o)),
                     {a, b, scale({}), scale({1}), op::None{}, op::None{}, o}});
      out.push_back({fmt::format("M{}_K{}_N{}_rowwise_{}", M, K, N, tensor::name(o)),
                     {a, b, scale({M, 1}), scale({1, N}), op::None{}, op::None{}, o}});
    }
  }
  {
    auto [a, b] = ab(7, 384, 256, DType::kF8E4M3FN, DType::kF8E4M3FN);
    const Tensor sa = nn::sample_tensor({3, 7}, DType::kF32, ++s, nn::Layout::kContiguous, 0.25f, 2.f).transpose(0, 1);
    out.push_back({"block_1x128_128x128", {a, b, sa, scale({3, 2}), op::None{}, op::None{}, DType::kBF16}});
    out.push_back({"block_1x128_1x128", {a, b, sa, scale({3, 256}), op::None{}, op::None{}, DType::kF32}});
    out.push_back({"block_128x128_1x128", {a, b, scale({1, 3}), scale({3, 256}), op::None{}, op::None{}, DType::kF32}});
  }
  {
    auto [a, b] = ab(9, 32, 16, DType::kF8E5M2, DType::kF8E4M3FN);
    out.push_back({"e5m2_x_e4m3_bias", {a, b, scale({}), scale({}), nn::sample_tensor({16}, DType::kBF16, ++s),
                                        op::None{}, DType::kBF16}});
    out.push_back({"out_e4m3_scale_result", {a, b, scale({}), scale({}), op::None{}, scale({}), DType::kF8E4M3FN}});
  }
  auto [a, b] = ab(16, 32, 48, DType::kF8E4M3FN, DType::kF8E4M3FN);
  const Tensor b_row = nn::sample_tensor({32, 48}, DType::kF8E4M3FN, ++s);
  out.push_back({"C1_3d_a", {nn::sample_tensor({2, 8, 32}, DType::kF8E4M3FN, ++s), b, scale({}), scale({})}, true});
  out.push_back({"C2_bf16_a", {nn::sample_tensor({16, 32}, DType::kBF16, ++s), b, scale({}), scale({})}, true});
  out.push_back({"C3_b_rowmajor", {a, b_row, scale({}), scale({})}, true});
  out.push_back({"C4_K40", {nn::sample_tensor({16, 40}, DType::kF8E4M3FN, ++s),
                            nn::sample_tensor({40, 48}, DType::kF8E4M3FN, ++s, nn::Layout::kTransposedLast2),
                            scale({}), scale({})}, true});
  out.push_back({"C5_bf16_scale", {a, b, nn::sample_tensor({}, DType::kBF16, ++s), scale({})}, true});
  out.push_back({"C6_rowwise_1d", {a, b, scale({16}), scale({48})}, true});
  out.push_back({"C6_mixed", {a, b, scale({16, 1}), scale({})}, true});
  out.push_back({"C7_K_mismatch", {a, nn::sample_tensor({64, 48}, DType::kF8E4M3FN, ++s, nn::Layout::kTransposedLast2),
                                   scale({}), scale({})}, true});
  out.push_back({"C8_bias47", {a, b, scale({}), scale({}), nn::sample_tensor({47}, DType::kBF16, ++s)}, true});
  return out;
}

}  // namespace

op::Outputs scaled_mm_reference(const op::Args& a, op::KernelContext& cx);  // ref.cpp

void register_scaled_mm(op::Registry& r) {
  op::OpDef def;
  def.name = "scaled_mm";
  def.schema = op::Schema::parse(
      "scaled_mm(Tensor a, Tensor b, Tensor scale_a, Tensor scale_b, Tensor? bias=None, "
      "Tensor? scale_result=None, ScalarType? out_dtype=None, bool use_fast_accum=False) -> Tensor");
  def.doc = "torch._scaled_mm: fp8 a (row-major) · fp8 b (column-major) with f32 scales";
  def.constraints = kScaledMmConstraints;
  def.fake = scaled_mm_fake;
  def.reference = scaled_mm_reference;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
