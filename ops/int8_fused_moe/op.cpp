// int8_fused_moe: softmax routing and W8A8 int8 experts in one node (issue #4): router
// logits [*, E_global] -> moe_route_softmax(k, renormalize) -> int8_moe_experts. The
// routing weights are evaluated with the f64 expressions of moe_route_softmax's reference,
// so every variant equals "route, then experts" (the reference) bit for bit.
#include <fmt/format.h>
#include <omp.h>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/int8_moe.hpp"
#include "ops/int8_moe_experts/moe.hpp"
#include "ops/int8_moe_experts/testdata.hpp"
#include "ops/moe_route_softmax/route.hpp"

namespace symtrace::ops {
namespace int8_fused_moe {
namespace {

namespace v2 = boost::variant2;

constexpr std::string_view kSchema =
    "int8_fused_moe(Tensor x, Tensor router_logits, Tensor w13, Tensor w13_scale, Tensor w2, "
    "Tensor w2_scale, int k, bool renormalize=True, *, str act='silu', Tensor? w13_bias=None, "
    "Tensor? w2_bias=None, Tensor? expert_map=None) -> Tensor";

op::Outputs fake(const op::Args& a, op::FakeContext& cx) {
  const int8_moe::Dims d = int8_moe::check(a, cx, nullptr, nullptr);  // C1, C2, C4-C7
  const CheckSite site{cx.env, cx.op, "C3"};
  const TensorMeta& x = a.meta("x");
  const TensorMeta& logits = a.meta("router_logits");
  const TensorMeta* map = a.opt_meta("expert_map");
  // C3: router_logits float x.sizes[:-1] + [E_global] (E_global = E without EP).
  const SymInt e_global = map ? map->sizes[0] : d.E;
  require_dtype(site, "router_logits", logits, {DType::kBF16, DType::kF16, DType::kF32});
  SymShape want = qop::leading_dims(x);
  want.push_back(e_global);
  require_shape(site, "shape", "router_logits", logits, want,
                map ? "with expert_map the router scores every global expert" : "");
  // C8: 1 <= k <= E_global.
  const std::int64_t k = a.int_value("k");
  if (k < 1 || cx.env.require(sym::le(k, e_global), "int8_fused_moe C8: k <= E_global") ==
                   sym::Truth::kFalse)
    fail(site.with("C8"),
         violation("shape", "k", fmt::format("1 <= k <= {}", e_global.str()), std::to_string(k),
                   "top-k needs 1 <= k <= E_global", {}, {e_global}));
  return {moe::out_meta(x)};
}

// Softmax routing of one token in f64, exactly moe_route_softmax's reference expressions
// (max, exp(l - max) summed in expert order, top-k on the logits, renormalized in slot
// order). l and p hold E doubles of scratch.
void route_token(const tensor::Tensor& logits, std::int64_t row_off, std::int64_t E, std::int64_t k,
                 bool renormalize, double* l, double* p, float* w, std::int32_t* ids) {
  const std::int64_t es = logits.stride(-1);
  double mx = -std::numeric_limits<double>::infinity();
  bool nan = false;
  for (std::int64_t e = 0; e < E; ++e) {
    l[e] = quant::load_f32(logits.data_ptr(), logits.dtype(), row_off + e * es);
    nan |= std::isnan(l[e]);
    mx = std::max(mx, l[e]);
  }
  if (nan) mx = std::numeric_limits<double>::quiet_NaN();  // as std::max_element would see it
  double sum = 0;
  for (std::int64_t e = 0; e < E; ++e) sum += p[e] = std::exp(l[e] - mx);
  for (std::int64_t e = 0; e < E; ++e) p[e] /= sum;
  route::select_topk(l, E, k, ids, [](std::int64_t) { return false; });
  double sel = 0;
  for (std::int64_t j = 0; j < k; ++j) sel += p[ids[j]];
  for (std::int64_t j = 0; j < k; ++j)
    w[j] = static_cast<float>(renormalize ? p[ids[j]] / sel : p[ids[j]]);
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  // Route with moe_route_softmax's reference, then run the experts' reference.
  const op::OpDef& router = registry().get("moe_route_softmax");
  const std::vector<op::Value> rargs = op::bind_args(
      router.schema, {a.tensor("router_logits"), a.sym_int("k"), a.flag("renormalize")});
  op::HeapAllocator heap;
  op::KernelContext rcx{heap};
  const op::Outputs routes = router.reference(op::Args(router.schema, rargs), rcx);
  const tensor::Tensor& w = v2::get<tensor::Tensor>(routes[0]);
  const tensor::Tensor& ids = v2::get<tensor::Tensor>(routes[1]);
  const std::int64_t k = a.int_value("k");
  int8_moe::reference_experts(
      a, int8_moe::Routes{w.data<float>(), ids.data<std::int32_t>(), w.numel() / k, k}, out);
  return {out};
}

op::Variant variant(std::string name, tensor::Isa isa, int8_moe::Int8Tile tile) {
  op::Variant v;
  v.name = std::move(name);
  v.isa = isa;
  v.rule = "x rows viewable as [M, H]; weights contiguous";
  v.applicable = [](const op::Args& a, sym::ShapeEnv& env) {
    for (const char* w : {"w13", "w2"})
      if (a.meta(w).is_contiguous(env) != sym::Truth::kTrue)
        return op::Applicability::no(fmt::format("{} is not contiguous", w));
    return qop::rows_applicable(a.meta("x"), env, "x");
  };
  v.run = [tile](const op::Args& a, op::KernelContext& cx) {
    const op::Outputs metas = qop::fake_for_real(a, fake);
    tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
    const tensor::Tensor& logits = a.tensor("router_logits");
    const std::int64_t k = a.int_value("k"), E = logits.size(-1);
    const bool renormalize = a.flag("renormalize");
    const std::vector<std::int64_t> rows = qop::row_offsets(logits);
    const auto M = static_cast<std::int64_t>(rows.size());
    const int T = cx.threads > 0 ? cx.threads : omp_get_max_threads();
    using moe::Carve;
    const std::size_t route_bytes = Carve::bytes<float>(static_cast<std::size_t>(M * k)) +
                                    Carve::bytes<std::int32_t>(static_cast<std::size_t>(M * k)) +
                                    Carve::bytes<double>(static_cast<std::size_t>(2 * T * E));
    const std::span<std::byte> ws =
        cx.alloc.workspace(route_bytes + int8_moe::experts_workspace(a, M, k, cx.threads));
    Carve carve(ws.first(route_bytes));
    auto* w = carve.take<float>(static_cast<std::size_t>(M * k));
    auto* ids = carve.take<std::int32_t>(static_cast<std::size_t>(M * k));
    auto* scratch = carve.take<double>(static_cast<std::size_t>(2 * T * E));
#pragma omp parallel for num_threads(M* E < 4096 ? 1 : T) schedule(static)
    for (std::int64_t t = 0; t < M; ++t) {
      double* l = scratch + 2 * E * omp_get_thread_num();
      route_token(logits, rows[static_cast<std::size_t>(t)], E, k, renormalize, l, l + E, w + t * k,
                  ids + t * k);
    }
    int8_moe::run_experts(a, int8_moe::Routes{w, ids, M, k}, out, ws.subspan(route_bytes),
                          cx.threads, tile);
    return op::Outputs{out};
  };
  return v;
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  using tensor::Tensor;
  std::vector<op::Sample> out;
  struct Case {
    std::string label;
    tensor::Shape lead;
    std::int64_t E, H, I, k;
    DType dtype;
  };
  const std::vector<Case> cases = {
      {"lead0_E4_H24_I8_k2", {}, 4, 24, 8, 2, DType::kBF16},
      {"M7_E8_H37_I19_k3", {7}, 8, 37, 19, 3, DType::kF32},
      {"B2_S5_E6_H32_I16_k6", {2, 5}, 6, 32, 16, 6, DType::kF16},
      {"B1_T3_S2_E5_H20_I12_k1", {1, 3, 2}, 5, 20, 12, 1, DType::kBF16},
      {"M0_E4_H16_I8_k2", {0}, 4, 16, 8, 2, DType::kBF16},
  };
  std::uint64_t s = seed * 1000 + 500;
  for (const Case& c : cases) {
    const moe::Int8Weights w = moe::make_int8_weights(c.E, c.H, c.I, ++s);
    tensor::Shape xs = c.lead, ls = c.lead;
    xs.push_back(c.H);
    ls.push_back(c.E);
    Tensor x = Tensor::empty(xs, c.dtype), logits = Tensor::empty(ls, c.dtype);
    x.fill_random(++s, -2.f, 2.f);
    logits.fill_random(++s, -3.f, 3.f);
    out.push_back({c.label,
                   {x, logits, w.w13, w.w13_scale, w.w2, w.w2_scale, sym::SymInt(c.k), c.k != 1},
                   false});
  }
  const moe::Int8Weights w = moe::make_int8_weights(4, 16, 8, 3);
  Tensor x = Tensor::zeros({3, 16}, DType::kBF16);
  out.push_back({"C3_logits_E_plus_1",
                 {x, Tensor::zeros({3, 5}, DType::kF32), w.w13, w.w13_scale, w.w2, w.w2_scale,
                  sym::SymInt(2), true},
                 true});
  out.push_back({"C8_k_gt_E",
                 {x, Tensor::zeros({3, 4}, DType::kF32), w.w13, w.w13_scale, w.w2, w.w2_scale,
                  sym::SymInt(5), true},
                 true});
  return out;
}

}  // namespace
}  // namespace int8_fused_moe

void register_int8_fused_moe(op::Registry& r) {
  using namespace int8_fused_moe;
  op::OpDef def;
  def.name = "int8_fused_moe";
  def.schema = op::Schema::parse(kSchema);
  def.doc = "softmax top-k routing + W8A8 int8 experts in one node";
  def.constraints = {
      "C1: x is bf16, f16 or f32 [*, H]",
      "C2: w13 is i8 [E, 2I, H] and w2 i8 [E, H, I] (NK), H == x.size(-1)",
      "C3: router_logits is float x.sizes[:-1] + [E_global] (E_global = E, or expert_map.size(0))",
      "C4: w13_scale is f32 [E, 2I, 1] or [E]; w2_scale f32 [E, H, 1] or [E]",
      "C5: w13_bias is [E, 2I], w2_bias [E, H]",
      "C6: expert_map is i32 [E_global]",
      "C7: act is 'silu'",
      "C8: 1 <= k <= E_global",
  };
  def.fake = fake;
  def.reference = reference;
  def.variants.push_back(
      variant("int8_fused_moe.avx512_vnni", tensor::Isa::kAvx512Vnni, int8_moe::tile_avx512_vnni));
  def.variants.push_back(variant("int8_fused_moe.avx2", tensor::Isa::kAvx2, int8_moe::tile_avx2));
  def.variants.push_back(
      variant("int8_fused_moe.scalar", tensor::Isa::kNone, int8_moe::tile_scalar));
  def.tolerance.atol = 0;  // bit-identical to route-then-experts (see the file comment)
  def.tolerance.rtol = 0;
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
