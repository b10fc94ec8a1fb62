// MoE rows: a layer shaped like Qwen3-30B-A3B (E = 128 experts, top-8, H = 2048, I = 768) at
// 1, 16 and 512 tokens, for the int8 W8A8 experts (int8_moe_experts, routes given) and the
// NVFP4 W4A16 experts. GFLOP/s counts 2 * tokens * k * 3 * I * H; % bandwidth is against the
// floor of streaming the weights (and scales) of the experts actually routed once.
#include <set>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "bench/kernels_bench/rows.hpp"
#include "ops/int8_moe_experts/testdata.hpp"
#include "ops/nvfp4_w4a16_gemm/testdata.hpp"

namespace symtrace::bench {
namespace {

using tensor::DType;
using tensor::Tensor;

constexpr std::int64_t kE = 128, kTopK = 8, kH = 2048, kI = 768;

struct Layer {
  ops::moe::Int8Weights int8;
  ops::nvfp4::Fp4Weight fp4_w13, fp4_w2;
  Tensor g13, g2;
};
const Layer& layer() {  // built once (about 0.9 GB), shared by every row
  static const Layer l = [] {
    Layer x;
    x.int8 = ops::moe::make_int8_weights(kE, kH, kI, 1);
    x.fp4_w13 = ops::nvfp4::make_weight({kE}, 2 * kI, kH, 2);
    x.fp4_w2 = ops::nvfp4::make_weight({kE}, kH, kI, 3);
    x.g13 = Tensor::empty({kE}, DType::kF32);
    x.g13.fill_random(4, 0.01f, 0.02f);
    x.g2 = Tensor::empty({kE}, DType::kF32);
    x.g2.fill_random(5, 0.01f, 0.02f);
    return x;
  }();
  return l;
}

void run_row(benchmark::State& state, const std::string& op_name, const std::string& variant,
             std::int64_t M) {
  const op::OpDef& def = ops::registry().get(op_name);
  const op::Variant* v = nullptr;
  for (const op::Variant& x : def.variants)
    if (x.name == variant) v = &x;
  if (!v || !op::cpu_supports(v->isa)) {
    state.SkipWithError("variant not available on this CPU");
    return;
  }
  const Layer& l = layer();
  const ops::moe::Routes r = ops::moe::make_routes({M}, kE, kTopK, 100 + static_cast<std::uint64_t>(M));
  Tensor x = Tensor::empty({M, kH}, DType::kBF16);
  x.fill_random(7, -2.f, 2.f);
  const bool fp4 = op_name == "nvfp4_w4a16_moe";
  std::vector<op::Value> args =
      fp4 ? std::vector<op::Value>{x, l.fp4_w13.packed, l.fp4_w13.scale, l.g13, l.fp4_w2.packed,
                                   l.fp4_w2.scale, l.g2, r.topk_w, r.topk_ids}
          : std::vector<op::Value>{x, l.int8.w13, l.int8.w13_scale, l.int8.w2, l.int8.w2_scale,
                                   r.topk_w, r.topk_ids};
  args = op::bind_args(def.schema, std::move(args));
  ArenaAllocator arena;
  op::KernelContext cx{arena, machine().threads};
  const op::Args a(def.schema, args);
  double seconds = 0;
  for (auto _ : state) {
    seconds = median_seconds(
        [&] {
          reset(arena);
          benchmark::DoNotOptimize(v->run(a, cx));
        },
        M >= 512 ? 2 : 5, M <= 16 ? std::function<void()>(evict_caches) : std::function<void()>());
    state.SetIterationTime(seconds);
  }
  std::set<double> routed;
  for (double id : r.topk_ids.to_f64()) routed.insert(id);
  // Per expert: 3*I*H weight elements (1 byte int8, 1/2 byte fp4) plus their scales.
  const double per_expert = fp4 ? 3.0 * kI * kH / 2 + 3.0 * kI * kH / 16 + 8
                                : 3.0 * kI * kH + 4.0 * (2 * kI + kH);
  const double bytes = per_expert * static_cast<double>(routed.size());
  SummaryRow row;
  row.op = op_name;
  row.kernel = variant;
  row.M = M;
  row.N = kH;
  row.K = kI;
  row.seconds = seconds;
  row.gops = 2.0 * M * kTopK * 3.0 * kI * kH / seconds / 1e9;
  row.pct_bandwidth = pct_bandwidth(bytes, seconds);
  state.counters["GOPS"] = row.gops;
  state.counters["pct_bw"] = *row.pct_bandwidth;
  state.counters["experts"] = static_cast<double>(routed.size());
  add_summary_row(std::move(row));
}

const bool registered = [] {
  for (const auto& [op, variant] : std::vector<std::pair<std::string, std::string>>{
           {"int8_moe_experts", "int8_moe_experts.avx512_vnni"},
           {"nvfp4_w4a16_moe", "nvfp4_w4a16_moe.avx512"}})
    for (std::int64_t M : {1, 16, 512})
      benchmark::RegisterBenchmark(fmt::format("{}/qwen3_30b_a3b/M{}", variant, M).c_str(),
                                   [op = op, variant = variant, M](benchmark::State& st) {
                                     run_row(st, op, variant, M);
                                   })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace symtrace::bench
