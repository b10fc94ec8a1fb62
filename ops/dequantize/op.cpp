// dequantize: codes and their scales -> f32 / bf16 / f16 values (OPS.md §1, §3, §15.1).
// q: fp8 (any of the four formats), i8 (optionally with an i32 zero point: x = s (q - z)),
// or u8 packed e2m1 pairs [..., K/2] -> [..., K] (NVFP4, with an optional global
// multiplier). Granularities: 'tensor' [1]; 'channel' / 'token' q.sizes[:-1] + [1];
// 'group' q.sizes[:-1] + [cdiv(K, block[1])]; 'block' q.sizes[:-2] + [cdiv(N, bn), cdiv(K, bk)].
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/dequantize/dequant.hpp"
#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops {
namespace dequant {

namespace v2 = boost::variant2;

Layout layout(const op::Args& a, DType q_dtype) {
  Layout l;
  const std::string& g = a.str("granularity");
  l.gran = g == "tensor"  ? Gran::kTensor
           : g == "group" ? Gran::kGroup
           : g == "block" ? Gran::kBlock
                          : Gran::kRow;
  const std::vector<SymInt>& b = a.sym_ints("block");
  l.bn = b[0].maybe_value().value_or(1);
  l.bk = b[1].maybe_value().value_or(1);
  l.fp4 = q_dtype == DType::kU8;
  return l;
}

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const CheckSite site{cx.env, cx.op, "C1"};
  const TensorMeta& q = a.meta("q");
  // C1: codes: fp8, i8, or u8 packed e2m1 pairs; rank >= 1.
  require_dtype(site, "q", q,
                {DType::kF8E4M3FN, DType::kF8E5M2, DType::kF8E4M3FNUZ, DType::kF8E5M2FNUZ,
                 DType::kI8, DType::kU8});
  if (q.dim() < 1)
    fail(site, violation("shape", "q", "[*, K]", q.shape_str(), "q must have at least one dim"));
  const Layout l = layout(a, q.dtype);
  // C2: granularity and block.
  const std::string& g = a.str("granularity");
  const CheckSite c2 = site.with("C2");
  if (g != "tensor" && g != "channel" && g != "token" && g != "group" && g != "block")
    qop::bad_argument(c2, "granularity", "'tensor', 'channel', 'token', 'group' or 'block'",
                      fmt::format("'{}'", g), "unknown granularity");
  if (l.bn < 1 || l.bk < 1)
    qop::bad_argument(c2, "block", "positive [bn, bk]", fmt::format("[{}, {}]", l.bn, l.bk),
                      "block sizes must be >= 1");
  if (l.gran == Gran::kBlock && q.dim() < 2)
    fail(c2,
         violation("shape", "q", "[*, N, K]", q.shape_str(), "block scales need a [N, K] weight"));
  SymShape out = q.sizes;
  if (l.fp4) out.back() = out.back() * 2;
  const SymInt K = out.back();
  // C3: the scale's shape for the granularity (layout errors name both shapes).
  const TensorMeta& s = a.meta("scale");
  SymShape want;
  switch (l.gran) {
    case Gran::kTensor:
      want = {1};
      break;
    case Gran::kRow:
      want = qop::leading_dims(q), want.push_back(1);
      break;
    case Gran::kGroup:
      want = qop::leading_dims(q), want.push_back(sym::ceildiv(K, l.bk));
      break;
    case Gran::kBlock:
      want = SymShape(q.sizes.begin(), q.sizes.end() - 2);
      want.push_back(sym::ceildiv(out[out.size() - 2], l.bn));
      want.push_back(sym::ceildiv(K, l.bk));
      break;
  }
  require_shape(site.with("C3"), "scale-layout", "scale", s, want,
                l.gran == Gran::kBlock
                    ? "block grids are [cdiv(N, bn), cdiv(K, bk)]; a transposed grid is an error"
                    : "");
  // C4: scale dtype: f32 (e4m3 also for packed fp4 block scales).
  if (l.fp4)
    require_scale_dtype(site.with("C4"), "scale", s, {DType::kF32, DType::kF8E4M3FN});
  else
    require_scale_dtype(site.with("C4"), "scale", s);
  // C5: a zero point only for i8: i32 with the scale's shape.
  if (const TensorMeta* z = a.opt_meta("azp")) {
    if (q.dtype != DType::kI8)
      qop::bad_argument(site.with("C5"), "azp", "None", z->shape_str(),
                        "zero points exist for i8 codes only");
    require_dtype(site.with("C5"), "azp", *z, {DType::kI32});
    require_shape(site.with("C5"), "shape", "azp", *z, s.sizes);
  }
  // C6: a global multiplier f32 [1] (NVFP4).
  if (const TensorMeta* gs = a.opt_meta("global_scale")) {
    require_scale_dtype(site.with("C6"), "global_scale", *gs);
    require_shape(site.with("C6"), "scale-layout", "global_scale", *gs, {1});
  }
  // C7: output dtype.
  const DType od = a.dtype("out_dtype");
  if (od != DType::kF32 && od != DType::kBF16 && od != DType::kF16)
    qop::bad_argument(site.with("C7"), "out_dtype", "f32, bf16 or f16",
                      std::string(tensor::name(od)), "dequantize produces float values");
  return {TensorMeta::contiguous(out, od, q.device)};
}

namespace {

constexpr std::string_view kSchema =
    "dequantize(Tensor q, Tensor scale, str granularity='tensor', int[2] block=[128, 128], "
    "Tensor? azp=None, Tensor? global_scale=None, ScalarType out_dtype=f32) -> Tensor";

// Products are rounded once to f32 and then to the output dtype: one ulp of the output.
std::string compare(const op::Args& in, std::size_t, const tensor::Tensor& got,
                    const tensor::Tensor& ref) {
  const std::vector<double> g = got.to_f64(), r = ref.to_f64();
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (std::isnan(r[i]) || std::isnan(g[i])) {
      if (std::isnan(r[i]) != std::isnan(g[i]))
        return fmt::format("element {}: got {}, reference {}", i, g[i], r[i]);
      continue;
    }
    if (std::fabs(g[i] - r[i]) > nvfp4::ulp(in.dtype("out_dtype"), r[i]) && g[i] != r[i])
      return fmt::format("element {}: got {}, reference {} (1 ulp allowed)", i, g[i], r[i]);
  }
  return {};
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  using tensor::Tensor;
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 100;
  const auto rnd = [&](tensor::Shape shape, DType d, float lo, float hi) {
    Tensor t = Tensor::empty(std::move(shape), DType::kF32);
    t.fill_random(++s, lo, hi);
    return d == DType::kF32 ? t : t.to(d);
  };
  const std::vector<SymInt> b128{128, 128}, b16{1, 16}, b2x3{2, 3};
  const Tensor one = Tensor::from_f32({1}, std::vector<float>{0.37f});
  // (label, q, scale, granularity, block, azp, global, out)
  out.push_back({"fp8_tensor_K7",
                 {rnd({7}, DType::kF8E4M3FN, -400, 400), one, std::string("tensor"), b128,
                  op::None{}, op::None{}, DType::kF32},
                 false});
  out.push_back({"e5m2_token_B2_S3_K9",
                 {rnd({2, 3, 9}, DType::kF8E5M2, -100, 100), rnd({2, 3, 1}, DType::kF32, 0.01f, 2),
                  std::string("token"), b128, op::None{}, op::None{}, DType::kBF16},
                 false});
  out.push_back({"fp8_group_M5_K300",
                 {rnd({5, 300}, DType::kF8E4M3FN, -448, 448), rnd({5, 3}, DType::kF32, 0.001f, 1),
                  std::string("group"), b128, op::None{}, op::None{}, DType::kF16},
                 false});
  out.push_back({"fp8_block_N257_K130",
                 {rnd({257, 130}, DType::kF8E4M3FN, -448, 448), rnd({3, 2}, DType::kF32, 0.001f, 1),
                  std::string("block"), b128, op::None{}, op::None{}, DType::kBF16},
                 false});
  out.push_back(
      {"fnuz_block_E2_N5_K7",
       {rnd({2, 5, 7}, DType::kF8E4M3FNUZ, -200, 200), rnd({2, 3, 3}, DType::kF32, 0.1f, 1),
        std::string("block"), b2x3, op::None{}, op::None{}, DType::kF32},
       false});
  out.push_back({"i8_channel_N9_K33",
                 {rnd({9, 33}, DType::kI8, -128, 127), rnd({9, 1}, DType::kF32, 0.001f, 0.1f),
                  std::string("channel"), b128, op::None{}, op::None{}, DType::kBF16},
                 false});
  out.push_back(
      {"i8_asym_token_M4_K17",
       {rnd({4, 17}, DType::kI8, -128, 127), rnd({4, 1}, DType::kF32, 0.01f, 0.1f),
        std::string("token"), b128, rnd({4, 1}, DType::kI32, -20, 20), op::None{}, DType::kF32},
       false});
  out.push_back({"fp4_group16_N6_K64",
                 {rnd({6, 32}, DType::kU8, 0, 255), rnd({6, 4}, DType::kF8E4M3FN, 0.1f, 30),
                  std::string("group"), b16, op::None{},
                  Tensor::from_f32({1}, std::vector<float>{0.013f}), DType::kBF16},
                 false});
  out.push_back({"fp4_group16_B2_N3_K48",
                 {rnd({2, 3, 24}, DType::kU8, 0, 255), rnd({2, 3, 3}, DType::kF8E4M3FN, 0.1f, 30),
                  std::string("group"), b16, op::None{}, op::None{}, DType::kF32},
                 false});
  out.push_back({"M0_K8",
                 {rnd({0, 8}, DType::kI8, -5, 5), rnd({0, 1}, DType::kF32, 1, 2),
                  std::string("token"), b128, op::None{}, op::None{}, DType::kF32},
                 false});
  // Rejected: a transposed block grid (C3), a [N] per-channel scale (C3).
  out.push_back({"C3_transposed_grid",
                 {rnd({257, 130}, DType::kF8E4M3FN, -1, 1), rnd({2, 3}, DType::kF32, 0.1f, 1),
                  std::string("block"), b128, op::None{}, op::None{}, DType::kF32},
                 true});
  out.push_back({"C3_scale_N",
                 {rnd({9, 33}, DType::kI8, -1, 1), rnd({9}, DType::kF32, 0.1f, 1),
                  std::string("channel"), b128, op::None{}, op::None{}, DType::kF32},
                 true});
  return out;
}

}  // namespace
}  // namespace dequant

void register_dequantize(op::Registry& r) {
  using namespace dequant;
  op::OpDef def;
  def.name = "dequantize";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "fp8 / int8 / packed fp4 codes and scales -> f32, bf16 or f16 values";
  def.constraints = {
      "C1: q is fp8 (e4m3fn, e5m2, fnuz), i8, or u8 packed e2m1 pairs, rank >= 1",
      "C2: granularity is 'tensor', 'channel', 'token', 'group' or 'block'; block >= 1",
      "C3: scale has the granularity's shape ([1], [*, 1], [*, cdiv(K, bk)], [*, cdiv(N, bn), "
      "cdiv(K, bk)])",
      "C4: scale is f32 (packed fp4 also f8_e4m3fn)",
      "C5: azp only for i8, i32 with the scale's shape",
      "C6: global_scale is f32 [1]",
      "C7: out_dtype is f32, bf16 or f16",
  };
  def.fake = fake;
  def.reference = reference;
  const auto variant = [](std::string name, tensor::Isa isa, DequantRow row) {
    op::Variant v;
    v.name = std::move(name);
    v.isa = isa;
    v.rule = "q, scale and azp contiguous";
    v.applicable = [](const op::Args& a, sym::ShapeEnv& env) {
      for (const char* t : {"q", "scale", "azp"})
        if (const TensorMeta* m = a.opt_meta(t); m && m->is_contiguous(env) != sym::Truth::kTrue)
          return op::Applicability::no(fmt::format("{} is not contiguous", t));
      return op::Applicability::yes();
    };
    v.run = [row](const op::Args& a, op::KernelContext& cx) { return run(a, cx, row); };
    return v;
  };
  def.variants.push_back(variant("dequantize.avx512", tensor::Isa::kAvx512, row_avx512));
  def.variants.push_back(variant("dequantize.avx2", tensor::Isa::kAvx2, row_avx2));
  def.variants.push_back(variant("dequantize.scalar", tensor::Isa::kNone, row_scalar));
  def.tolerance.compare = compare;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
