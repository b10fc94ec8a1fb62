// run_bench: `symtrace run`'s path — build_model_graph in KV-cache mode, exec::Plan, load_params —
// on a synthetic Llama-shaped model (hidden 2048, 16 layers, 32 heads, 4 kv heads, intermediate
// 5632, vocab 32000: TinyLlama's shape at 16 layers) in two formats: HF block fp8 (128x128
// weight blocks, dynamic 1x128 activation groups) and compressed-tensors int8 W8A8 (per-channel
// weights, dynamic per-token activations). Rows: prefill batch 1 x 512 tokens, decode batch 1
// and 8 (one step at past = 512), each beside its floor measured on this machine:
//   decode floor  = batch x read bandwidth / bytes of weights read per step (every weight but
//                   the embedding table, of which only the batch's rows are read);
//   prefill floor = tokens / (linear FLOPs / the peak of the instruction the GEMM uses:
//                   bf16 dot for block fp8, VNNI for int8; the f32 lm_head at the FMA peak).
// The weights are random codes and scales made in memory (their values do not change the
// speed) and handed to load_params as a checkpoint's extra tensors. Rows moe-dense / moe-fused:
// a Qwen3-MoE-shaped bf16 model (32 experts, top 4) with its experts dense (every expert on
// every token, the graph `check` validates) or fused (one moe_experts call per layer, what
// `symtrace run` builds); printed as a speedup, with no floor (the experts read depend on the
// routes).
//
//   build/release/bench/run_bench [--benchmark_filter=decode]
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/model/architecture.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/load_params.hpp>
#include <symtrace/model/safetensors.hpp>
#include <symtrace/tensor/cpu_features.hpp>

namespace {

using namespace symtrace;
using tensor::DType;
using tensor::Tensor;

constexpr std::int64_t kPrefill = 512, kPast = 512, kCapacity = 1024;

constexpr const char* kLlama = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "bfloat16",
  "vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 16,
  "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 64,
  "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "attention_bias": false, "mlp_bias": false, "hidden_act": "silu", "tie_word_embeddings": false,
  "quantization_config": %s})";

constexpr const char* kFp8Block = R"({"quant_method": "fp8", "activation_scheme": "dynamic",
  "weight_block_size": [128, 128], "modules_to_not_convert": null, "scale_fmt": "float"})";

constexpr const char* kInt8W8A8 = R"({"quant_method": "compressed-tensors",
  "format": "int-quantized", "quantization_status": "compressed",
  "config_groups": {"group_0": {"targets": ["Linear"],
    "weights": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "channel",
                "dynamic": false, "group_size": null, "observer": "minmax"},
    "input_activations": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "token",
                          "dynamic": true, "observer": null}}},
  "ignore": ["lm_head"], "kv_cache_scheme": null})";

// A Qwen3-MoE-shaped model in bf16 for the routed-experts rows: 32 experts, top 4, expert
// intermediate 512 at hidden 1024, 8 layers (experts 400 MB of the 530 MB of weights).
constexpr const char* kQwen3Moe = R"({
  "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "dtype": "bfloat16",
  "vocab_size": 32000, "hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 8,
  "num_attention_heads": 16, "num_key_value_heads": 4, "head_dim": 64,
  "max_position_embeddings": 2048, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "attention_bias": false, "hidden_act": "silu", "tie_word_embeddings": false,
  "num_experts": 32, "num_experts_per_tok": 4, "moe_intermediate_size": 512,
  "norm_topk_prob": true, "decoder_sparse_step": 1, "mlp_only_layers": [],
  "use_sliding_window": false, "sliding_window": null})";

// --- machine baselines ---------------------------------------------------------------------

// Streaming read bandwidth (GB/s) over 512 MiB, best of three: other processes on a shared
// machine only ever slow it down.
double read_gbs() {
  static const double v = [] {
    const std::size_t words = (std::size_t{512} << 20) / 8;
    std::vector<std::uint64_t> buf(words);
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < words; ++i) buf[i] = i;
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      std::uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(^ : sum)
      for (std::size_t i = 0; i < words; ++i) sum ^= buf[i];
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      benchmark::DoNotOptimize(sum);
      best = std::max(best, static_cast<double>(words * 8) / s / 1e9);
    }
    return best;
  }();
  return v;
}

#if defined(__x86_64__)
// Peak loops: 24 independent accumulators per thread, every thread busy (as kernels_bench).
constexpr int kAcc = 24;
constexpr std::int64_t kPeakIters = 2'000'000;

template <class Body>
double per_second(double ops_per_iter, Body body) {
  const int threads = omp_get_max_threads();
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
  body();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return threads * static_cast<double>(kPeakIters) * ops_per_iter / s;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void vnni_loop() {
  __m512i acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
  for (std::int64_t it = 0; it < kPeakIters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __asm__ volatile("" : "+v"(a));
  }
  for (int i = 1; i < kAcc; ++i) acc[0] = _mm512_add_epi32(acc[0], acc[i]);
  benchmark::DoNotOptimize(acc[0]);
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) void bf16_loop() {
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  __m512i ai = _mm512_set1_epi16(0x3F80), bi = _mm512_set1_epi16(0x3F80);
  __m512bh& a = reinterpret_cast<__m512bh&>(ai);
  const __m512bh& b = reinterpret_cast<const __m512bh&>(bi);
  for (std::int64_t it = 0; it < kPeakIters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    __asm__ volatile("" : "+v"(ai));
  }
  for (int i = 1; i < kAcc; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  benchmark::DoNotOptimize(acc[0]);
}

__attribute__((target("avx512f,fma"))) void fma_loop() {
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  __m512 a = _mm512_set1_ps(1.0001f), b = _mm512_set1_ps(0.9999f);
  for (std::int64_t it = 0; it < kPeakIters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_fmadd_ps(a, b, acc[i]);
    __asm__ volatile("" : "+v"(a));
  }
  for (int i = 1; i < kAcc; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  benchmark::DoNotOptimize(acc[0]);
}
#endif

struct Peaks {
  double vnni_gops = 0, bf16_gflops = 0, fma_gflops = 0;  // 0: not on this CPU
};
const Peaks& peaks() {
  static const Peaks p = [] {
    Peaks out;
#if defined(__x86_64__)
    for (int rep = 0; rep < 3; ++rep) {
      if (tensor::cpu_supports(tensor::Isa::kAvx512Vnni))
        out.vnni_gops = std::max(out.vnni_gops, per_second(kAcc * 64.0 * 2, vnni_loop) / 1e9);
      if (tensor::cpu_supports(tensor::Isa::kAvx512Bf16))
        out.bf16_gflops = std::max(out.bf16_gflops, per_second(kAcc * 32.0 * 2, bf16_loop) / 1e9);
      if (tensor::cpu_supports(tensor::Isa::kAvx512))
        out.fma_gflops = std::max(out.fma_gflops, per_second(kAcc * 16.0 * 2, fma_loop) / 1e9);
    }
#endif
    return out;
  }();
  return p;
}

// --- the model ---------------------------------------------------------------------------

// Random values of the right kind for one parameter (values do not change the speed).
Tensor synthetic(const tensor::TensorMeta& m, const tensor::Shape& sizes, const graph::ParamInfo* info,
                 std::uint64_t seed) {
  Tensor t = Tensor::empty(sizes, m.dtype);
  const bool scale = info && (info->role == graph::ParamRole::kWeightScale || info->role == graph::ParamRole::kInputScale);
  if (scale) {
    t.fill(0.05 / 448);
  } else if (m.dtype == DType::kF8E4M3FN || m.dtype == DType::kI8) {
    auto* p = static_cast<std::uint8_t*>(t.data_ptr());
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (std::size_t i = 0; i < t.nbytes(); ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      p[i] = static_cast<std::uint8_t>(x) & 0x77;  // |code| small, never NaN
    }
  } else if (m.dtype == DType::kF32) {  // direct: fill_random converts in small blocks
    float* p = t.data<float>();
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      p[i] = static_cast<float>(static_cast<std::int64_t>(x >> 40) - (1 << 23)) * (0.02f / (1 << 23));
    }
  } else {
    t.fill_random(seed, -0.02f, 0.02f);
  }
  return t;
}

struct Model {
  std::string name;
  model::ModelConfig cfg;
  model::CheckpointSpec spec;
  model::BuiltModel built;
  std::unique_ptr<exec::Plan> plan;
  double weight_bytes = 0, embed_bytes = 0;  // as loaded
  double linear_flops = 0, lm_head_flops = 0;  // per token
  bool int8 = false;
  bool moe = false;  // the routed-experts rows: dense or fused experts, no floor

  explicit Model(std::string variant) : name(std::move(variant)) {
    int8 = name == "int8-w8a8";
    moe = name.starts_with("moe-");
    char json[4096];
    std::snprintf(json, sizeof json, kLlama, int8 ? kInt8W8A8 : kFp8Block);
    cfg = model::parse_hf_config(moe ? kQwen3Moe : json, name);
    spec = model::build_checkpoint_spec(cfg);
    built = model::build_model_graph(
        cfg, spec, {.compute_dtype = DType::kF32, .kv_cache = true, .fused_experts = name == "moe-fused"});
    if (graph::run_pipeline(built.graph) != 0) throw std::runtime_error(graph::render_findings(built.graph));
    plan = std::make_unique<exec::Plan>(built.graph);
    // An empty checkpoint: every parameter comes from `extra`, through load_params' checks.
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("symtrace-run-bench-{}", ::getpid());
    std::filesystem::create_directories(dir);
    model::SafetensorsWriter().write(dir / "model.safetensors");
    const model::SafetensorsCheckpoint empty = model::SafetensorsCheckpoint::open(dir);
    std::filesystem::remove_all(dir);
    const graph::Graph& g = built.graph;
    sym::Bindings b;
    for (const sym::SymbolInfo* s : g.env().symbols())
      if (auto it = g.config_values().find(s->name); it != g.config_values().end()) b.set(s->id, it->second);
    std::uint64_t seed = 1;
    model::LoadOptions opt{.extra = [&](std::string_view pname, const tensor::TensorMeta& m) -> std::optional<Tensor> {
      tensor::Shape sizes;
      for (const sym::SymInt& d : m.sizes) sizes.push_back(g.env().evaluate(d, b));
      const graph::NodeId id = *g.find(graph::NodeKind::kParameter, pname);
      Tensor t = synthetic(m, sizes, g.param(id), ++seed);
      const double bytes = static_cast<double>(t.nbytes());
      (pname == "model.embed_tokens.weight" ? embed_bytes : weight_bytes) += bytes;
      if (sizes.size() == 2 && pname.ends_with(".weight") && pname != "model.embed_tokens.weight")
        (pname == "lm_head.weight" ? lm_head_flops : linear_flops) += 2.0 * static_cast<double>(sizes[0] * sizes[1]);
      return t;
    }};
    model::load_params(*plan, empty, opt);
  }

  void step(std::int64_t B, std::int64_t S, std::int64_t past, bool timings = false) {
    plan->bind({{"B", B}, {"S", S}, {"past", past}, {"T", kCapacity}});
    auto* ids = plan->input("input_ids").data<std::int64_t>();
    auto* pos = plan->input("positions").data<std::int64_t>();
    for (std::int64_t i = 0; i < B * S; ++i) ids[i] = (i * 7919) % 32000, pos[i] = past + i % S;
    plan->run({.timings = timings});
  }

  // Per-op-kind time of the last step (SYMTRACE_RUN_BENCH_PROFILE=1), largest first; with
  // SYMTRACE_RUN_BENCH_PROFILE=layer0, per node of layer 0 and of the model outside the layers.
  std::string profile() const {
    std::map<std::string, std::int64_t> ns;
    const char* mode = std::getenv("SYMTRACE_RUN_BENCH_PROFILE");
    const bool layer0 = mode && std::string_view(mode) == "layer0";
    for (const exec::NodeTiming& t : plan->timings()) {
      if (!layer0) ns[t.kernel] += t.ns;
      else if (t.label.starts_with("model.layers.0.") || !t.label.starts_with("model.layers.")) ns[t.label + " " + t.kernel] += t.ns;
    }
    std::vector<std::pair<std::int64_t, std::string>> v;
    for (const auto& [k, n] : ns) v.emplace_back(n, k);
    std::sort(v.rbegin(), v.rend());
    std::string out;
    for (const auto& [n, k] : v) out += fmt::format("    {:<60} {:9.3f} ms\n", k, static_cast<double>(n) * 1e-6);
    return out;
  }
};

Model& model(const std::string& variant) {
  static std::unique_ptr<Model> m;  // one at a time: each holds about 1 GB of weights
  if (!m || m->name != variant) {
    m.reset();
    m = std::make_unique<Model>(variant);
  }
  return *m;
}

struct Row {
  std::string variant, phase;
  std::int64_t batch = 0, tokens = 0;
  double seconds = 0, tokens_per_s = 0, floor = 0;
};
std::vector<Row>& rows() {
  static std::vector<Row> r;
  return r;
}

void run_row(benchmark::State& st, const std::string& variant, bool prefill, std::int64_t B) {
  Model& m = model(variant);
  const std::int64_t S = prefill ? kPrefill : 1, past = prefill ? 0 : kPast;
  if (!prefill) {
    // The cache rows [0, past) hold zeros (states start zeroed): the step reads them all the
    // same, and a prefill to fill them would cost more than the whole row.
    m.step(B, S, past);  // warm-up
  } else {
    // A bind only: a prefill takes seconds here, and its arena is touched by the timed run.
    m.plan->bind({{"B", B}, {"S", S}, {"past", past}, {"T", kCapacity}});
  }
  std::vector<double> t;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    m.step(B, S, past);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.SetIterationTime(s);
    t.push_back(s);
  }
  if (const char* p = std::getenv("SYMTRACE_RUN_BENCH_PROFILE"); p && *p) {
    m.step(B, S, past, /*timings=*/true);
    std::printf("  %s %s batch %lld, one step by kernel:\n%s", variant.c_str(), prefill ? "prefill" : "decode",
                static_cast<long long>(B), m.profile().c_str());
  }
  std::sort(t.begin(), t.end());
  const double med = t[t.size() / 2], tps = static_cast<double>(B * S) / med;
  double floor = 0;
  if (m.moe) {
    // Which experts a step reads depends on the routes: no floor; the table compares the two.
  } else if (prefill) {
    const Peaks& p = peaks();
    const double q_peak = (m.int8 ? p.vnni_gops : p.bf16_gflops) * 1e9, f_peak = p.fma_gflops * 1e9;
    if (q_peak > 0 && f_peak > 0) floor = 1.0 / (m.linear_flops / q_peak + m.lm_head_flops / f_peak);
  } else {
    floor = static_cast<double>(B) * read_gbs() * 1e9 / m.weight_bytes;
  }
  st.counters["tokens/s"] = tps;
  if (floor > 0) {
    st.counters["floor tokens/s"] = floor;
    st.counters["% of floor"] = 100.0 * tps / floor;
  }
  rows().push_back({variant, prefill ? "prefill" : "decode", B, S, med, tps, floor});
}

void register_all() {
  for (const char* v : {"fp8-block", "int8-w8a8", "moe-dense", "moe-fused"}) {
    benchmark::RegisterBenchmark(fmt::format("run/{}/prefill_b1_s{}", v, kPrefill).c_str(),
                                 [v](benchmark::State& s) { run_row(s, v, true, 1); })
        ->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
    for (std::int64_t B : {1, 8})
      benchmark::RegisterBenchmark(fmt::format("run/{}/decode_b{}", v, B).c_str(),
                                   [v, B](benchmark::State& s) { run_row(s, v, false, B); })
          ->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);
  }
}

void print_table() {
  if (rows().empty()) return;
  const Peaks& p = peaks();
  std::printf("\nrun_bench: Llama shape, hidden 2048, 16 layers, f32 activations; %d threads; read %.1f GB/s, "
              "peaks: bf16 dot %.0f GFLOP/s, VNNI %.0f GOP/s, FMA %.0f GFLOP/s\n",
              omp_get_max_threads(), read_gbs(), p.bf16_gflops, p.vnni_gops, p.fma_gflops);
  std::printf("%-10s %-8s %5s %6s %12s %14s %8s\n", "format", "phase", "batch", "tokens", "tokens/s", "floor tok/s",
              "% floor");
  for (const Row& r : rows()) {
    if (r.floor <= 0) continue;
    std::printf("%-10s %-8s %5lld %6lld %12.2f %14.2f %7.1f%%\n", r.variant.c_str(), r.phase.c_str(),
                static_cast<long long>(r.batch), static_cast<long long>(r.tokens), r.tokens_per_s, r.floor,
                100.0 * r.tokens_per_s / r.floor);
  }
  // Routed experts (Qwen3-MoE shape, bf16 weights, f32 compute): every expert on every token
  // (the dense graph `check` validates) against one fused moe_experts call per layer.
  bool header = false;
  for (const Row& f : rows()) {
    if (f.variant != "moe-fused") continue;
    for (const Row& d : rows())
      if (d.variant == "moe-dense" && d.phase == f.phase && d.batch == f.batch) {
        if (!header)
          std::printf("\nrouted experts (hidden 1024, 8 layers, 32 experts, top 4, bf16 weights):\n%-8s %5s %6s %14s "
                      "%14s %8s\n", "phase", "batch", "tokens", "dense tok/s", "fused tok/s", "speedup"),
              header = true;
        std::printf("%-8s %5lld %6lld %14.2f %14.2f %7.2fx\n", f.phase.c_str(), static_cast<long long>(f.batch),
                    static_cast<long long>(f.tokens), d.tokens_per_s, f.tokens_per_s, f.tokens_per_s / d.tokens_per_s);
      }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  print_table();
  benchmark::Shutdown();
  return 0;
}
