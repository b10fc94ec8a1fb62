// rotary(q [*, Hq, D], k [*, Hkv, D], positions [*], cos_sin [P, rd], style, rotary_dim)
//   -> (q', k') of q's and k's shapes                                      OPS.md §11.3, §15.6
// rope_cos_sin(max_positions, rotary_dim, theta, scaling, ...) -> cos_sin [P, rd]
//
// The first rd channels of every head rotate (partial rotary passes the rest through): neox
// pairs (i, i + rd/2) — HF Llama, Qwen, Mixtral — and gptj pairs (2i, 2i + 1) — DeepSeek-V3's
// rope_interleave, GPT-J. The style has no default: mixing them up is a silent accuracy bug, so
// the architecture must say which. cos_sin rows are [cos | sin] (vLLM's cache layout), built by
// rope_cos_sin in f32 with the llama3 / YaRN / linear frequency maps as attributes.
// Rotation: f32 (f64 in the reference) from the rounded cos/sin, one rounding (HF rounds three
// times in bf16: the tolerance is one ulp). positions index cos_sin rows; an index >= P is an
// error in the kernel (data-dependent: max(positions) < P is the model's promise).
#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"
#include "ops/rotary/kernels.hpp"

namespace symtrace::ops {

namespace {
constexpr std::array kTypes = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};
constexpr std::array kIdTypes = {DType::kI64, DType::kI32};
}  // namespace

const std::vector<std::string> kRotaryConstraints = {
    "C1: q is [*, Hq, D] and k is [*, Hkv, D] with the same leading dims; positions is [*]",
    "C2: cos_sin is [P, rotary_dim], rotary_dim even and <= D",
    "C3: style is 'neox' or 'gptj'",
    "C4: q and k share a float dtype (f64, f32, bf16, f16); cos_sin is float; positions i32/i64",
    "C5: every position is in [0, P) (checked by the kernel; data-dependent)",
};

op::Outputs rotary_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& q = a.meta("q");
  const TensorMeta& k = a.meta("k");
  const TensorMeta& pos = a.meta("positions");
  const TensorMeta& cs = a.meta("cos_sin");
  nn::require_rank(site.at("C1"), "q", q, 2, nn::kAnyRank, "[*, Hq, D]");
  nn::require_rank(site.at("C1"), "k", k, q.dim(), q.dim(), fmt::format("[*, Hkv, D] with q's {} dims", q.dim()));
  nn::require_rank(site.at("C1"), "positions", pos, q.dim() - 2, q.dim() - 2, "[*] (q's leading dims)");
  for (std::int64_t d = 0; d + 2 < q.dim(); ++d) {
    nn::require_size(site.at("C1"), "k", k, d, q.sizes[static_cast<std::size_t>(d)], "q's leading dims");
    nn::require_size(site.at("C1"), "positions", pos, d, q.sizes[static_cast<std::size_t>(d)], "q's leading dims");
  }
  const SymInt& D = q.sizes.back();
  nn::require_size(site.at("C1"), "k", k, -1, D, "D = q.size(-1)");
  nn::require_rank(site.at("C2"), "cos_sin", cs, 2, 2, "[P, rotary_dim]");
  const SymInt& rd = a.sym_int("rotary_dim");
  nn::require_size(site.at("C2"), "cos_sin", cs, 1, rd, "rotary_dim");
  const std::string reason = "rotary C2: rotary_dim even and <= D";
  if (sym::truth_and(cx.env.require(sym::divisible(rd, 2), reason), cx.env.require(sym::le(rd, D), reason)) ==
      sym::Truth::kFalse) {
    const SymInt syms[] = {rd, D};
    nn::fail(site.at("C2"), "shape-mismatch", "rotary_dim", fmt::format("an even number <= D = {}", D.str()), rd.str(),
             "rotary_dim must be even and at most the head dim", syms);
  }
  const std::string& style = a.str("style");
  if (style != "neox" && style != "gptj")
    nn::fail(site.at("C3"), "shape-mismatch", "style", "'neox' or 'gptj'", fmt::format("'{}'", style),
             "unknown rotary style", {}, "HF Llama/Qwen/Mixtral rotate halves (neox); GPT-J and DeepSeek-V3's "
             "rope_interleave rotate adjacent pairs (gptj)");
  nn::require_dtype(site.at("C4"), "q", q, kTypes);
  nn::require_same_dtype(site.at("C4"), "k", k, "q", q.dtype);
  nn::require_dtype(site.at("C4"), "cos_sin", cs, kTypes);
  nn::require_dtype(site.at("C4"), "positions", pos, kIdTypes);
  return {nn::contiguous_like(q.sizes, q.dtype, q), nn::contiguous_like(k.sizes, k.dtype, k)};
}

const std::vector<std::string> kRopeCosSinConstraints = {
    "C1: max_positions >= 1; rotary_dim even and >= 2; theta > 1",
    "C2: scaling is 'none', 'linear', 'llama3' or 'yarn'; factor > 0",
    "C3: dtype is a float dtype (f32, bf16, f16, f64)",
};

op::Outputs rope_cos_sin_fake(const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const SymInt& P = a.sym_int("max_positions");
  const std::int64_t rd = a.int_value("rotary_dim");
  if (cx.env.require(sym::ge(P, 1), "rope_cos_sin C1: max_positions >= 1") == sym::Truth::kFalse)
    nn::fail(site.at("C1"), "shape-mismatch", "max_positions", ">= 1", P.str(), "the cache needs at least one row");
  if (rd < 2 || rd % 2 != 0)
    nn::fail(site.at("C1"), "shape-mismatch", "rotary_dim", "an even number >= 2", fmt::format("{}", rd),
             "rotary_dim must be even");
  if (!(a.f64("theta") > 1))
    nn::fail(site.at("C1"), "shape-mismatch", "theta", "> 1", fmt::format("{}", a.f64("theta")), "rope_theta must exceed 1");
  if (!kernels::rope_scaling_type(a.str("scaling")))
    nn::fail(site.at("C2"), "shape-mismatch", "scaling", "'none', 'linear', 'llama3' or 'yarn'",
             fmt::format("'{}'", a.str("scaling")), "unknown rope scaling");
  if (!(a.f64("factor") > 0))
    nn::fail(site.at("C2"), "shape-mismatch", "factor", "> 0", fmt::format("{}", a.f64("factor")), "scaling factor must be positive");
  const DType dt = a.dtype("dtype");
  if (std::find(kTypes.begin(), kTypes.end(), dt) == kTypes.end())
    nn::fail(site.at("C3"), "dtype", "dtype", "f32, bf16, f16 or f64", std::string(tensor::name(dt)), "the cache is float");
  return {TensorMeta::contiguous({P, SymInt(rd)}, dt, tensor::Device::kMeta)};
}

op::Outputs rotary_reference(const op::Args& a, op::KernelContext& cx);       // ref.cpp
op::Outputs rope_cos_sin_reference(const op::Args& a, op::KernelContext& cx);  // ref.cpp
std::vector<op::Variant> rotary_variants();                                     // ref.cpp
std::string rotary_compare(const op::Args& a, std::size_t out, const Tensor& got, const Tensor& ref);
std::vector<op::Sample> rotary_samples(std::uint64_t seed);                     // ref.cpp
std::vector<op::Sample> rope_cos_sin_samples(std::uint64_t seed);               // ref.cpp

void register_rotary(op::Registry& r) {
  op::OpDef rot;
  rot.name = "rotary";
  rot.schema = op::Schema::parse(
      "rotary(Tensor q, Tensor k, Tensor positions, Tensor cos_sin, str style, SymInt rotary_dim) "
      "-> (Tensor q_out, Tensor k_out)");
  rot.doc = "rotates the first rotary_dim channels of each head of q and k by cos_sin[positions]";
  rot.constraints = kRotaryConstraints;
  rot.fake = rotary_fake;
  rot.reference = rotary_reference;
  rot.variants = rotary_variants();
  rot.tolerance = {.compare = rotary_compare};
  rot.samples = rotary_samples;
  r.add(std::move(rot));

  op::OpDef cs;
  cs.name = "rope_cos_sin";
  cs.schema = op::Schema::parse(
      "rope_cos_sin(SymInt max_positions, int rotary_dim, float theta, str scaling='none', float factor=1.0, "
      "float low_freq_factor=1.0, float high_freq_factor=4.0, int original_max_positions=8192, "
      "float beta_fast=32.0, float beta_slow=1.0, float? mscale=None, float? mscale_all_dim=None, "
      "ScalarType dtype=f32) -> Tensor");
  cs.doc = "the [P, rd] rotary cache [cos | sin] with none/linear/llama3/yarn frequency scaling, built in f32";
  cs.constraints = kRopeCosSinConstraints;
  cs.fake = rope_cos_sin_fake;
  cs.reference = rope_cos_sin_reference;
  cs.tolerance = {.atol = 0, .rtol = 0, .compare = nullptr};
  cs.samples = rope_cos_sin_samples;
  r.add(std::move(cs));
}

}  // namespace symtrace::ops
