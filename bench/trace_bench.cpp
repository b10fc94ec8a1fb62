// trace_bench — trace + propagate + select + prepare + verify + dead code + memory plan of a
// Llama-3-8B-shaped decoder (hidden 4096, 32/8 heads of 128, intermediate 14336, vocab
// 128256) with symbolic batch and sequence and the config dims as symbols, at 1, 8, 32 and
// 128 layers, on the built-in ops. Issue 5 goals: 32 layers <= 2 ms on one core, cost linear
// in layers, <= 1 KiB per node. Times are thread CPU time (the machine is shared), medians
// of the iterations; bytes are the heap the graph and its memory plan hold, counted by a
// replacement operator new, after a warm-up build (the process-wide Expr table is shared).
// For scale: torch.export of the same model with dynamic batch/seq takes seconds.
//
//   trace_bench [--summary-json FILE] [Google Benchmark flags]
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <new>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <symtrace/graph/memory_plan.hpp>
#include <symtrace/graph/ops.hpp>
#include <symtrace/graph/passes.hpp>

// --- heap accounting: live bytes (usable size) of every operator new ----------------------

// Counting is switched on only around the probe build, so timed builds pay nothing for it.
namespace {
std::atomic<std::int64_t> g_live{0};
std::atomic<bool> g_counting{false};
void* counted(void* p) {
  if (!p) throw std::bad_alloc();
  if (g_counting.load(std::memory_order_relaxed))
    g_live.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void uncounted(void* p) noexcept {
  if (!p) return;
  if (g_counting.load(std::memory_order_relaxed))
    g_live.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted(std::malloc(n ? n : 1)); }
void* operator new[](std::size_t n) { return counted(std::malloc(n ? n : 1)); }
void* operator new(std::size_t n, std::align_val_t a) {
  const auto al = static_cast<std::size_t>(a);
  return counted(std::aligned_alloc(al, (std::max<std::size_t>(n, 1) + al - 1) / al * al));
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { uncounted(p); }
void operator delete[](void* p) noexcept { uncounted(p); }
void operator delete(void* p, std::size_t) noexcept { uncounted(p); }
void operator delete[](void* p, std::size_t) noexcept { uncounted(p); }
void operator delete(void* p, std::align_val_t) noexcept { uncounted(p); }
void operator delete[](void* p, std::align_val_t) noexcept { uncounted(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { uncounted(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { uncounted(p); }

namespace {

using namespace symtrace;
using graph::Traced;
using sym::SymInt;
using tensor::DType;

constexpr std::int64_t kHidden = 4096, kHeads = 32, kKvHeads = 8, kHeadDim = 128;
constexpr std::int64_t kIntermediate = 14336, kVocab = 128256, kMaxPositions = 8192;

struct Built {
  graph::Graph g;
  graph::MemoryPlan mp;
};

struct Phases {
  double trace = 0, select_prepare = 0, verify_dce = 0, plan = 0;
};

double cpu_us() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e6 + double(t.tv_nsec) / 1e3;
}

void trace_llama(graph::Graph& g, int layers) {
  graph::Tracer tr(g);
  SymInt B = tr.symbol("B", "input ids dim 0"), S = tr.symbol("S", "input ids dim 1");
  SymInt H = tr.config("H", kHidden, "config.hidden_size");
  SymInt I = tr.config("I", kIntermediate, "config.intermediate_size");
  SymInt V = tr.config("V", kVocab, "config.vocab_size");
  auto meta = [](tensor::SymShape s) { return tensor::TensorMeta::contiguous(std::move(s), DType::kBF16); };
  Traced ids = tr.input("input_ids", {B, S}, DType::kI64);
  Traced positions = tr.input("positions", {B, S}, DType::kI64);
  Traced cos_sin = tr.parameter("rope.cos_sin", meta({kMaxPositions, kHeadDim}));
  Traced x = graph::embedding(ids, tr.parameter("model.embed_tokens.weight", meta({V, H})));
  const double scale = 1.0 / std::sqrt(double(kHeadDim));
  for (int l = 0; l < layers; ++l) {
    const std::string p = fmt::format("model.layers.{}.", l);
    auto scope = tr.scope(fmt::format("model.layers.{}", l));
    auto w = [&](const char* name, tensor::SymShape s) { return tr.weight(p + name, std::move(s), DType::kBF16); };
    Traced h = x;
    {
      auto attn = tr.scope("self_attn");
      Traced n = graph::rms_norm(x, tr.parameter(p + "input_layernorm.weight", meta({H})), 1e-5);
      Traced q = graph::view(graph::linear(n, w("self_attn.q_proj.weight", {kHeads * kHeadDim, H})),
                             {B, S, kHeads, kHeadDim});
      Traced k = graph::view(graph::linear(n, w("self_attn.k_proj.weight", {kKvHeads * kHeadDim, H})),
                             {B, S, kKvHeads, kHeadDim});
      Traced v = graph::view(graph::linear(n, w("self_attn.v_proj.weight", {kKvHeads * kHeadDim, H})),
                             {B, S, kKvHeads, kHeadDim});
      auto [qr, kr] = graph::rotary(q, k, positions, cos_sin, "neox", kHeadDim);
      Traced a = graph::view(graph::attention(qr, kr, v, scale, 0), {B, S, kHeads * kHeadDim});
      h = graph::add(x, graph::linear(a, w("self_attn.o_proj.weight", {H, kHeads * kHeadDim})));
    }
    auto mlp = tr.scope("mlp");
    Traced n = graph::rms_norm(h, tr.parameter(p + "post_attention_layernorm.weight", meta({H})), 1e-5);
    Traced gu = graph::linear(n, w("mlp.gate_up_proj.weight", {2 * I, H}));
    x = graph::add(h, graph::linear(graph::silu_and_mul(gu), w("mlp.down_proj.weight", {H, I})));
  }
  Traced n = graph::rms_norm(x, tr.parameter("model.norm.weight", meta({H})), 1e-5);
  tr.output("logits", graph::linear(n, tr.weight("lm_head.weight", {V, H}, DType::kBF16)));
}

std::unique_ptr<Built> build(int layers, Phases* ph = nullptr) {
  auto b = std::make_unique<Built>();
  const double t0 = cpu_us();
  trace_llama(b->g, layers);
  const double t1 = cpu_us();
  graph::select_kernels(b->g);
  graph::prepare(b->g);
  const double t2 = cpu_us();
  graph::verify(b->g);
  graph::eliminate_dead_code(b->g);
  const double t3 = cpu_us();
  graph::PlanOptions o;
  o.fixed = b->g.config_values();
  b->mp = graph::plan_memory(b->g, o);
  const double t4 = cpu_us();
  if (ph) *ph = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
  return b;
}

struct Row {
  int layers = 0;
  std::size_t nodes = 0, edges = 0;
  double total_us = 0, ns_per_node = 0, bytes_per_node = 0;
  Phases phases;
  std::string arena;
};
std::vector<Row>& rows() {
  static std::vector<Row> r;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void BM_TraceLlama(benchmark::State& state) {
  const int layers = static_cast<int>(state.range(0));
  build(layers);  // warm-up: the process-wide Expr table and allocator caches
  g_counting = true;
  const std::int64_t before = g_live.load();
  auto probe = build(layers);
  const std::int64_t held = g_live.load() - before;
  g_counting = false;
  if (std::size_t errors = probe->g.count(diag::Severity::kError)) {
    state.SkipWithError(fmt::format("{} error findings:\n{}", errors, graph::render_findings(probe->g)).c_str());
    return;
  }
  Row row;
  row.layers = layers;
  row.nodes = probe->g.size();
  row.edges = probe->g.edge_count();
  row.arena = probe->mp.arena_bytes.str();
  row.bytes_per_node = double(held) / double(row.nodes);
  probe.reset();

  std::vector<double> total;
  std::vector<Phases> phases;
  for (auto _ : state) {
    Phases ph;
    auto b = build(layers, &ph);
    total.push_back(ph.trace + ph.select_prepare + ph.verify_dce + ph.plan);
    phases.push_back(ph);
    state.PauseTiming();
    b.reset();
    state.ResumeTiming();
  }
  row.total_us = median(total);
  row.ns_per_node = row.total_us * 1e3 / double(row.nodes);
  auto pick = [&](double Phases::*f) {
    std::vector<double> v;
    for (const Phases& p : phases) v.push_back(p.*f);
    return median(v);
  };
  row.phases = {pick(&Phases::trace), pick(&Phases::select_prepare), pick(&Phases::verify_dce),
                pick(&Phases::plan)};
  state.counters["nodes"] = double(row.nodes);
  state.counters["median_us"] = row.total_us;
  state.counters["ns_per_node"] = row.ns_per_node;
  state.counters["bytes_per_node"] = row.bytes_per_node;
  // Google Benchmark calls this several times while sizing the run: keep the last.
  std::erase_if(rows(), [&](const Row& r) { return r.layers == layers; });
  rows().push_back(row);
}
BENCHMARK(BM_TraceLlama)->Arg(1)->Arg(8)->Arg(32)->Arg(128)->Unit(benchmark::kMicrosecond)->MinTime(0.5);

void print_table() {
  std::cout << fmt::format("\n{:>6} {:>6} {:>6} {:>10} {:>8} {:>10} | {:>8} {:>8} {:>8} {:>8}  {}\n",
                           "layers", "nodes", "edges", "total_us", "ns/node", "bytes/node", "trace",
                           "sel+prep", "verify", "plan", "arena");
  for (const Row& r : rows())
    std::cout << fmt::format("{:>6} {:>6} {:>6} {:>10.0f} {:>8.0f} {:>10.0f} | {:>8.0f} {:>8.0f} {:>8.0f} {:>8.0f}  {}\n",
                             r.layers, r.nodes, r.edges, r.total_us, r.ns_per_node, r.bytes_per_node,
                             r.phases.trace, r.phases.select_prepare, r.phases.verify_dce,
                             r.phases.plan, r.arena);
}

void write_json(const std::string& path) {
  boost::json::array out;
  for (const Row& r : rows())
    out.push_back(boost::json::object{{"layers", r.layers},
                                      {"nodes", r.nodes},
                                      {"total_us", r.total_us},
                                      {"ns_per_node", r.ns_per_node},
                                      {"bytes_per_node", r.bytes_per_node}});
  std::ofstream(path) << boost::json::serialize(boost::json::object{{"rows", out}}) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string summary;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--summary-json") == 0 && i + 1 < argc) {
      summary = argv[++i];
    } else if (std::strncmp(argv[i], "--summary-json=", 15) == 0) {
      summary = argv[i] + 15;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_table();
  if (!summary.empty()) write_json(summary);
  return 0;
}
