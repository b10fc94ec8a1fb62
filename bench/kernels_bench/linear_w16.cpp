// linear_w16 decode rows: f32 activations over a bf16 weight read as is, at M = 1 and 8 on a
// TinyLlama lm_head (32000 x 2048) and a hidden-2048 projection (2048 x 2048), each beside
// linear on the same weight converted to f32 (what `run --dtype f32` did before: twice the
// bytes). % bandwidth counts the bf16 weight bytes (2·N·K) over the median, caches evicted
// before each call; "ratio" is linear f32's time over ours.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "bench/kernels_bench/rows.hpp"

namespace symtrace::bench {
namespace {

using tensor::DType;
using tensor::Tensor;

// Median seconds of one variant of `op` on (x, w); nullopt when this CPU lacks it.
std::optional<double> seconds_of(const std::string& op, const std::string& variant, const Tensor& x,
                                 const Tensor& w, std::int64_t M) {
  const op::OpDef& def = ops::registry().get(op);
  for (const op::Variant& v : def.variants) {
    if (v.name != variant) continue;
    if (!op::cpu_supports(v.isa)) return std::nullopt;
    const std::vector<op::Value> args = op::bind_args(def.schema, {x, w});
    const op::Args a(def.schema, args);
    ArenaAllocator arena;
    op::KernelContext cx{arena, machine().threads};
    return median_seconds(
        [&] {
          reset(arena);
          benchmark::DoNotOptimize(v.run(a, cx));
        },
        iterations_for(M), evict_caches);
  }
  return std::nullopt;
}

void run_row(benchmark::State& state, std::int64_t M, std::int64_t N, std::int64_t K) {
  Tensor x = Tensor::empty({M, K}, DType::kF32);
  x.fill_random(1, -2.f, 2.f);
  Tensor w = Tensor::empty({N, K}, DType::kBF16);
  w.fill_random(2, -1.f, 1.f);
  double seconds = 0;
  for (auto _ : state) {
    const auto s = seconds_of("linear_w16", "linear_w16.avx512", x, w, M);
    if (!s) {
      state.SkipWithError("variant not available on this CPU");
      return;
    }
    seconds = *s;
    state.SetIterationTime(seconds);
  }
  SummaryRow r;
  r.op = "linear_w16";
  r.kernel = "linear_w16.avx512";
  r.M = M;
  r.N = N;
  r.K = K;
  r.seconds = seconds;
  r.gops = 2.0 * static_cast<double>(M * N * K) / seconds / 1e9;
  r.pct_bandwidth = pct_bandwidth(2.0 * static_cast<double>(N * K), seconds);
  r.baseline = "linear_f32";
  if (auto b = seconds_of("linear", "linear.avx512", x, w.to(DType::kF32), M))
    r.ratio_vs_baseline = *b / seconds;
  state.counters["pct_bw"] = *r.pct_bandwidth;
  if (r.ratio_vs_baseline) state.counters["x_linear_f32"] = *r.ratio_vs_baseline;
  add_summary_row(std::move(r));
}

const bool registered = [] {
  for (auto [N, K] : {std::pair<std::int64_t, std::int64_t>{32000, 2048}, {2048, 2048}})
    for (std::int64_t M : {1, 8})
      benchmark::RegisterBenchmark(fmt::format("linear_w16.avx512/M{}/N{}/K{}", M, N, K).c_str(),
                                   [M, N, K](benchmark::State& st) { run_row(st, M, N, K); })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace symtrace::bench
