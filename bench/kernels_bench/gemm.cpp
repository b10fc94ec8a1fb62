// Quantized GEMM rows: int8_gemm, fp8_gemm, block_fp8_gemm, fp8_gemm_w8a16 over
// M in {1, 16, 128, 4096} x (N, K) in {(4096, 4096), (14336, 4096), (4096, 14336)}, plus decode
// rows (M = 1, 8; hidden-2048 shapes) for the two fp8-weight streaming ops, each beside oneDNN
// on the same problem (u8s8 for int8, bf16 for the fp8 ops, weights prepacked).
#include <map>
#include <tuple>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "bench/kernels_bench/rows.hpp"

namespace symtrace::bench {
namespace {

using tensor::DType;
using tensor::Tensor;

Tensor rnd(tensor::Shape s, DType d, std::uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(std::move(s), d);
  t.fill_random(seed, lo, hi);
  return t;
}

struct Spec {
  std::string op, variant, baseline;
  std::int64_t M, N, K;
};

// Arguments of one call (schema order) with per-channel / per-token scales, bf16 output.
std::vector<op::Value> make_args(const Spec& s) {
  const std::int64_t M = s.M, N = s.N, K = s.K;
  if (s.op == "int8_gemm")
    return {rnd({M, K}, DType::kI8, 1, -128, 128),
            rnd({N, K}, DType::kI8, 2, -128, 128),
            rnd({N, 1}, DType::kF32, 3, 1e-3f, 1e-2f),
            rnd({M, 1}, DType::kF32, 4, 1e-2f, 1e-1f),
            DType::kBF16,
            op::None{},
            op::None{}};
  if (s.op == "fp8_gemm")
    return {rnd({M, K}, DType::kF8E4M3FN, 1, -8, 8),
            rnd({N, K}, DType::kF8E4M3FN, 2, -8, 8),
            rnd({N, 1}, DType::kF32, 3, 1e-2f, 1e-1f),
            rnd({M, 1}, DType::kF32, 4, 1e-2f, 1e-1f),
            DType::kBF16,
            op::None{}};
  if (s.op == "block_fp8_gemm")
    return {rnd({M, K}, DType::kBF16, 1, -2, 2),
            rnd({N, K}, DType::kF8E4M3FN, 2, -448, 448),
            rnd({(N + 127) / 128, (K + 127) / 128}, DType::kF32, 3, 1e-4f, 1e-3f),
            std::vector<sym::SymInt>{128, 128},
            std::string("group"),
            op::None{},
            op::None{}};
  return {rnd({M, K}, DType::kBF16, 1, -2, 2), rnd({N, K}, DType::kF8E4M3FN, 2, -8, 8),
          rnd({N, 1}, DType::kF32, 3, 1e-2f, 1e-1f), op::None{}};
}

// oneDNN results are shared by the three fp8 ops on the same shape.
std::optional<double> baseline_seconds(const std::string& kind, const Spec& s, int iters) {
  static std::map<std::tuple<std::string, std::int64_t, std::int64_t, std::int64_t>,
                  std::optional<double>>
      cache;
  const auto key = std::make_tuple(kind, s.M, s.N, s.K);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  return cache[key] = onednn_matmul_seconds(kind, s.M, s.N, s.K, iters);
}

void run_row(benchmark::State& state, const Spec& s) {
  const op::OpDef& def = ops::registry().get(s.op);
  const op::Variant* v = nullptr;
  for (const op::Variant& x : def.variants)
    if (x.name == s.variant) v = &x;
  if (!v || !op::cpu_supports(v->isa)) {
    state.SkipWithError("variant not available on this CPU");
    return;
  }
  std::vector<op::Value> args = op::bind_args(def.schema, make_args(s));
  if (v->prepare) {  // load-time step, outside the timing
    const op::Outputs p = v->prepare->run(op::Args(def.schema, args));
    for (std::size_t k = 0; k < v->prepare->rewrites.size(); ++k)
      args[*def.schema.index_of(v->prepare->rewrites[k])] = p[k];
  }
  ArenaAllocator arena;
  op::KernelContext cx{arena, machine().threads};
  const op::Args a(def.schema, args);
  const int iters = iterations_for(s.M);
  double seconds = 0;
  for (auto _ : state) {
    seconds = median_seconds(
        [&] {
          reset(arena);
          benchmark::DoNotOptimize(v->run(a, cx));
        },
        iters, s.M <= 16 ? std::function<void()>(evict_caches) : std::function<void()>());
    state.SetIterationTime(seconds);
  }
  const double flops = 2.0 * static_cast<double>(s.M) * s.N * s.K;
  SummaryRow r;
  r.op = s.op;
  r.kernel = s.variant;
  r.M = s.M;
  r.N = s.N;
  r.K = s.K;
  r.seconds = seconds;
  r.gops = flops / seconds / 1e9;
  const double peak = s.op == "int8_gemm" ? machine().vnni_gops : machine().bf16_gflops;
  if (s.M >= 128) r.pct_peak = 100.0 * r.gops / peak;
  if (s.M <= 16) r.pct_bandwidth = pct_bandwidth(static_cast<double>(s.N) * s.K, seconds);
  r.baseline = "onednn_" + s.baseline;
  if (auto b = baseline_seconds(s.baseline, s, iters)) r.ratio_vs_baseline = *b / seconds;
  state.counters["GOPS"] = r.gops;
  if (r.pct_peak) state.counters["pct_peak"] = *r.pct_peak;
  if (r.pct_bandwidth) state.counters["pct_bw"] = *r.pct_bandwidth;
  if (r.ratio_vs_baseline) state.counters["x_onednn"] = *r.ratio_vs_baseline;
  add_summary_row(std::move(r));
}

const bool registered = [] {
  const std::vector<std::tuple<std::string, std::string, std::string>> ops = {
      {"int8_gemm", "int8_gemm.avx512_vnni", "u8s8"},
      {"fp8_gemm", "fp8_gemm.avx512_bf16", "bf16"},
      {"block_fp8_gemm", "block_fp8_gemm.deepgemm_like", "bf16"},
      {"fp8_gemm_w8a16", "fp8_gemm_w8a16.avx512_bf16", "bf16"},
  };
  const auto add = [](const Spec& s) {
    benchmark::RegisterBenchmark(fmt::format("{}/M{}/N{}/K{}", s.variant, s.M, s.N, s.K).c_str(),
                                 [s](benchmark::State& st) { run_row(st, s); })
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  };
  using Shape = std::pair<std::int64_t, std::int64_t>;
  const std::vector<Shape> big = {{4096, 4096}, {14336, 4096}, {4096, 14336}};
  for (const auto& [op, variant, base] : ops)
    for (std::int64_t M : {1, 16, 128, 4096})
      for (auto [N, K] : big) add({op, variant, base, M, N, K});
  // Decode rows of the weight-streaming ops: M = 8 on the shapes above, and M = 1, 8 on a
  // hidden-2048 Llama layer (q/o 2048 x 2048, gate/up 5632 x 2048, down 2048 x 5632).
  const std::vector<Shape> small = {{2048, 2048}, {5632, 2048}, {2048, 5632}};
  for (const auto& [op, variant, base] : ops) {
    if (op == "fp8_gemm") continue;
    for (auto [N, K] : big) add({op, variant, base, 8, N, K});
    for (std::int64_t M : {1, 8})
      for (auto [N, K] : small) add({op, variant, base, M, N, K});
  }
  return true;
}();

}  // namespace
}  // namespace symtrace::bench
