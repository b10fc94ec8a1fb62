// symtrace run DIR --input-ids 1,5,9 [--batch-file F] [--generate N] [--threads N] [--verify]
//                  [--dump-logits out.safetensors] [--profile] [--dtype f32|bf16] [--dequantize]
//
// Builds the checkpoint's graph once — the graph `check` verifies — in KV-cache mode, with
// batch B, new tokens S, cached tokens `past` and cache capacity T symbolic; loads the weights
// from the mmap'ed safetensors (bf16 converted to f32 for --dtype f32) and runs it on the CPU
// kernels. Without --generate: one prefill, the top-5 next tokens per sequence and timings.
// With --generate N: greedy decoding of N tokens; every decode step is the same plan rebound
// with S = 1 and a new `past`, never a retrace. --dump-logits writes the prefill's f32
// logits [batch, seq, vocab] as tensor "logits". Exit: 0 ran, 1 the graph has errors or
// --verify found a divergence, 2 bad input.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/model/architecture.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/load_params.hpp>
#include <symtrace/model/safetensors.hpp>

#include "cli/command.hpp"

namespace symtrace::cli {
namespace {

using tensor::DType;
using tensor::Tensor;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct RunArgs {
  std::string dir{};
  std::vector<std::vector<std::int64_t>> ids{};  // [batch][seq]
  std::int64_t generate = 0;
  int threads = 0;
  bool verify = false, profile = false, dequantize = false;
  std::string dump_logits{};
  DType dtype = DType::kF32;
};

constexpr std::string_view kUsage =
    "usage: symtrace run DIR --input-ids 1,5,9 [--batch-file F] [--generate N] [--threads N] [--verify]\n"
    "                    [--dump-logits out.safetensors] [--profile] [--dtype f32|bf16] [--dequantize]";

std::int64_t parse_int(std::string_view what, std::string_view s, std::int64_t lo) {
  std::int64_t v = 0;
  std::size_t used = 0;
  try {
    v = std::stoll(std::string(s), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size() || v < lo)
    diag::fail("usage", fmt::format("{} takes an integer >= {}, got '{}'", what, lo, s));
  return v;
}

std::vector<std::int64_t> parse_ids(std::string_view what, std::string_view s) {
  std::vector<std::int64_t> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = std::min(s.find(',', start), s.size());
    std::string_view tok = s.substr(start, comma - start);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\r')) tok.remove_suffix(1);
    out.push_back(parse_int(what, tok, 0));
    start = comma + 1;
  }
  return out;
}

RunArgs parse(std::span<const std::string> args) {
  RunArgs o;
  std::string batch_file;
  bool have_ids = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) diag::fail("usage", fmt::format("{} needs a value\n{}", a, kUsage));
      return args[++i];
    };
    if (a == "--input-ids") o.ids.push_back(parse_ids("--input-ids", value())), have_ids = true;
    else if (a == "--batch-file") batch_file = value();
    else if (a == "--generate") o.generate = parse_int(a, value(), 0);
    else if (a == "--threads") o.threads = static_cast<int>(parse_int(a, value(), 1));
    else if (a == "--verify") o.verify = true;
    else if (a == "--profile") o.profile = true;
    else if (a == "--dequantize") o.dequantize = true;
    else if (a == "--dump-logits") o.dump_logits = value();
    else if (a == "--dtype") {
      const std::string& d = value();
      if (d == "f32") o.dtype = DType::kF32;
      else if (d == "bf16") o.dtype = DType::kBF16;
      else diag::fail("usage", fmt::format("--dtype takes f32 or bf16, got '{}'", d));
    } else if (a.starts_with("--")) diag::fail("usage", fmt::format("unknown option {}\n{}", a, kUsage));
    else if (o.dir.empty()) o.dir = a;
    else diag::fail("usage", fmt::format("unexpected argument '{}'\n{}", a, kUsage));
  }
  if (o.dir.empty()) diag::fail("usage", std::string(kUsage));
  if (!batch_file.empty()) {
    if (have_ids) diag::fail("usage", "give --input-ids or --batch-file, not both");
    std::ifstream in(batch_file);
    if (!in) diag::fail("usage", fmt::format("cannot read --batch-file {}", batch_file));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      o.ids.push_back(parse_ids(fmt::format("{} line {}", batch_file, n), line));
    }
  }
  if (o.ids.empty()) diag::fail("usage", fmt::format("no input ids: give --input-ids or --batch-file\n{}", kUsage));
  for (std::size_t b = 1; b < o.ids.size(); ++b)
    if (o.ids[b].size() != o.ids[0].size())
      diag::fail("usage", fmt::format("sequences must have equal lengths: sequence 0 has {} ids, sequence {} has {}",
                                      o.ids[0].size(), b, o.ids[b].size()));
  return o;
}

// Per-op-kind wall time accumulated over runs (from Plan::timings()).
struct Profile {
  std::map<std::string, std::int64_t> ns;
  std::map<std::string, std::set<std::string>> kernels;
  void add(const exec::Plan& plan) {
    for (const exec::NodeTiming& t : plan.timings()) {
      const std::string kind = plan.graph().op_name(t.node);
      ns[kind] += t.ns;
      kernels[kind].insert(t.kernel);
    }
  }
  std::string str() const {
    std::vector<std::pair<std::int64_t, std::string>> rows;
    std::int64_t total = 0;
    for (const auto& [k, v] : ns) rows.emplace_back(v, k), total += v;
    std::sort(rows.rbegin(), rows.rend());
    std::string out;
    for (const auto& [v, k] : rows) {
      std::string ks;
      for (const std::string& n : kernels.at(k)) fmt::format_to(std::back_inserter(ks), "{}{}", ks.empty() ? "" : ", ", n);
      out += fmt::format("  {:<24} {:>9.3f} ms  {:>5.1f}%  {}\n", k, static_cast<double>(v) * 1e-6,
                         total ? 100.0 * static_cast<double>(v) / static_cast<double>(total) : 0.0, ks);
    }
    return out;
  }
};

// The spec's float dtypes come from config.json. A writer that stored unquantized weights
// wider than declared (f32 under "dtype": "bfloat16") keeps them: the builder then traces
// those weights in f32 instead of rounding them to 16 bits for linear_w16 at load.
model::CheckpointSpec spec_of_files(const model::ModelConfig& cfg, const model::SafetensorsCheckpoint& ckpt) {
  model::CheckpointSpec spec = model::build_checkpoint_spec(cfg);
  for (model::ExpectedTensor& t : spec.tensors) {
    const model::TensorInfo* f = t.quantized ? nullptr : ckpt.find(t.name);
    if (f && f->dtype == DType::kF32 && (t.dtype == DType::kBF16 || t.dtype == DType::kF16)) t.dtype = DType::kF32;
  }
  return spec;
}

// One checkpoint, one KV-cache graph, one plan: prefill and decode steps are bindings of it.
class Session {
 public:
  // fused_experts: int8 W8A8 routed experts run as one int8_moe_experts call (BuildOptions).
  Session(const std::filesystem::path& dir, DType dtype, bool dequantize, bool fused_experts = true)
      : cfg_(model::load_hf_config(dir)), ckpt_(model::SafetensorsCheckpoint::open(dir)),
        spec_(spec_of_files(cfg_, ckpt_)),
        built_(model::build_model_graph(cfg_, spec_,
                                        {.compute_dtype = dtype, .kv_cache = true, .quantize_activations = !dequantize,
                                         .fused_experts = fused_experts})) {
    graph::run_pipeline(built_.graph);
  }

  // Errors of the builder and the pipeline, rendered; empty when the graph can run.
  std::string errors() const {
    std::string out;
    for (const diag::Diagnostic& d : built_.findings)
      if (d.severity == diag::Severity::kError) out += diag::render(d) + "\n";
    for (const graph::Finding& f : built_.graph.findings())
      if (f.diag.severity == diag::Severity::kError) out += graph::render(built_.graph, f) + "\n";
    return out;
  }

  // Plans the arena and loads the weights (after errors() is empty).
  void load() {
    plan_.emplace(built_.graph);
    report_ = model::load_params(*plan_, ckpt_);
  }

  // Binds B, S, past and the cache capacity; the first bind also runs the prepare steps.
  void bind(std::int64_t B, std::int64_t S, std::int64_t past, std::int64_t capacity) {
    plan_->bind({{"B", B}, {"S", S}, {"past", past}, {"T", capacity}});
  }

  // One forward step over ids [B, S] at positions past .. past + S - 1; logits [B, S, V] f32
  // (a view into the arena, valid until the next step).
  const Tensor& step(const std::vector<std::vector<std::int64_t>>& ids, std::int64_t past, std::int64_t capacity,
                     const exec::RunOptions& opt) {
    const auto B = static_cast<std::int64_t>(ids.size()), S = static_cast<std::int64_t>(ids[0].size());
    const std::int64_t V = cfg_.vocab_size.value;
    for (std::size_t b = 0; b < ids.size(); ++b)
      for (std::size_t s = 0; s < ids[b].size(); ++s)
        if (ids[b][s] >= V)
          diag::fail("input-ids", fmt::format("token id {} (sequence {}, position {}) is outside the vocabulary "
                                              "[0, {}) of {}", ids[b][s], b, s, V, cfg_.file));
    bind(B, S, past, capacity);
    Tensor& in = plan_->input("input_ids");
    Tensor& pos = plan_->input("positions");
    auto* ip = in.data<std::int64_t>();
    auto* pp = pos.data<std::int64_t>();
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t s = 0; s < S; ++s) {
        ip[b * S + s] = ids[static_cast<std::size_t>(b)][static_cast<std::size_t>(s)];
        pp[b * S + s] = past + s;
      }
    plan_->run(opt);
    return plan_->output("logits");
  }

  const model::ModelConfig& cfg() const { return cfg_; }
  const graph::Graph& graph() const { return built_.graph; }
  const std::vector<diag::Diagnostic>& findings() const { return built_.findings; }
  const exec::Plan& plan() const { return *plan_; }
  const model::LoadReport& load_report() const { return report_; }

 private:
  model::ModelConfig cfg_;
  model::SafetensorsCheckpoint ckpt_;
  model::CheckpointSpec spec_;
  model::BuiltModel built_;
  std::optional<exec::Plan> plan_;
  model::LoadReport report_;
};

// Arg-max of the last position of each sequence (ties: the lower id, as torch.argmax).
std::vector<std::int64_t> greedy(const Tensor& any) {
  const Tensor logits = any.contiguous();
  const std::int64_t B = logits.size(0), S = logits.size(1), V = logits.size(2);
  const float* p = logits.data<float>();
  std::vector<std::int64_t> out;
  for (std::int64_t b = 0; b < B; ++b) {
    const float* row = p + (b * S + S - 1) * V;
    out.push_back(std::max_element(row, row + V) - row);
  }
  return out;
}

// The k largest logits of the last position of sequence b, descending (ties: lower id first).
std::vector<std::pair<std::int64_t, float>> top_k(const Tensor& logits, std::int64_t b, std::int64_t k) {
  const std::int64_t S = logits.size(1), V = logits.size(2);
  const float* row = logits.data<float>() + (b * S + S - 1) * V;
  std::vector<std::int64_t> idx(static_cast<std::size_t>(V));
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, V);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](std::int64_t x, std::int64_t y) { return row[x] > row[y] || (row[x] == row[y] && x < y); });
  std::vector<std::pair<std::int64_t, float>> out;
  for (std::int64_t i = 0; i < k; ++i) out.emplace_back(idx[static_cast<std::size_t>(i)], row[idx[static_cast<std::size_t>(i)]]);
  return out;
}

// What a run produced, for the printer and the tests.
struct RunResult {
  Tensor prefill_logits;                        // [B, S, V] f32, a copy
  std::vector<std::vector<std::int64_t>> generated;  // [B][N]
  double load_s = 0, prefill_s = 0, decode_s = 0;
  std::int64_t decode_steps = 0;
  Profile prefill_profile, decode_profile;
};

RunResult execute(Session& s, const RunArgs& a) {
  RunResult r;
  const auto B = static_cast<std::int64_t>(a.ids.size()), S = static_cast<std::int64_t>(a.ids[0].size());
  const std::int64_t capacity = S + std::max<std::int64_t>(a.generate, 1);
  const exec::RunOptions opt{.verify = a.verify, .timings = a.profile, .threads = a.threads};
  Clock::time_point t0 = Clock::now();
  s.load();
  s.bind(B, S, 0, capacity);  // prepare steps (weight layouts) run here: part of loading
  r.load_s = seconds_since(t0);

  t0 = Clock::now();
  r.prefill_logits = s.step(a.ids, 0, capacity, opt).clone();
  r.prefill_s = seconds_since(t0);
  if (a.profile) r.prefill_profile.add(s.plan());
  if (a.generate == 0) return r;

  std::vector<std::int64_t> next = greedy(r.prefill_logits);
  r.generated.assign(static_cast<std::size_t>(B), {});
  t0 = Clock::now();
  for (std::int64_t n = 0;; ++n) {
    for (std::int64_t b = 0; b < B; ++b) r.generated[static_cast<std::size_t>(b)].push_back(next[static_cast<std::size_t>(b)]);
    if (n + 1 == a.generate) break;
    std::vector<std::vector<std::int64_t>> step_ids;
    for (std::int64_t id : next) step_ids.push_back({id});
    next = greedy(s.step(step_ids, S + n, capacity, opt));
    ++r.decode_steps;
    if (a.profile) r.decode_profile.add(s.plan());
  }
  r.decode_s = seconds_since(t0);
  return r;
}

std::string join(const std::vector<std::int64_t>& v) {
  std::string out;
  for (std::int64_t x : v) fmt::format_to(std::back_inserter(out), "{}{}", out.empty() ? "" : " ", x);
  return out;
}

int run(std::span<const std::string> args) {
  const RunArgs a = parse(args);
  if (a.threads > 0) omp_set_num_threads(a.threads);
  const Clock::time_point t0 = Clock::now();
  Session s(a.dir, a.dtype, a.dequantize);
  const double build_s = seconds_since(t0);
  for (const diag::Diagnostic& d : s.findings())
    if (d.severity != diag::Severity::kError) fmt::print("{}\n", diag::render(d));
  if (const std::string errors = s.errors(); !errors.empty()) {
    fmt::print("{}the graph of {} has errors; nothing was run (see `symtrace check {}`)\n", errors, a.dir, a.dir);
    return kExitFindings;
  }
  const model::ModelConfig& cfg = s.cfg();
  const auto B = static_cast<std::int64_t>(a.ids.size()), S = static_cast<std::int64_t>(a.ids[0].size());
  RunResult r;
  try {
    r = execute(s, a);
  } catch (const diag::Error& e) {
    if (e.diagnostic().code != "fake-mismatch") throw;
    fmt::print("{}\n{}a kernel's output diverges from the fake prediction (the plan)\n", diag::render(e.diagnostic()),
               a.verify ? "--verify: " : "");
    return kExitFindings;
  }
  const model::LoadReport& lr = s.load_report();
  fmt::print("{} ({}, {} layers, {} compute{}, {} threads)\n", a.dir, model::architecture_name(cfg.arch),
             cfg.num_hidden_layers.value, tensor::name(a.dtype), a.dequantize ? ", dequantized weights" : "",
             a.threads > 0 ? a.threads : omp_get_max_threads());
  fmt::print("graph: {} live nodes traced once (B, S, past, T symbolic); arena {:.1f} KiB at T = {}\n",
             s.graph().live_size(), static_cast<double>(s.plan().arena_bytes()) / 1024.0, S + std::max<std::int64_t>(a.generate, 1));
  fmt::print("load: {} tensors ({} converted to {}), {:.1f} MiB mapped; build {:.1f} ms, load {:.1f} ms\n", lr.params,
             lr.converted, tensor::name(a.dtype), static_cast<double>(lr.bytes_mapped) / (1 << 20), build_s * 1e3,
             r.load_s * 1e3);
  fmt::print("prefill: {} x {} tokens in {:.2f} ms ({:.1f} tokens/s){}\n", B, S, r.prefill_s * 1e3,
             static_cast<double>(B * S) / r.prefill_s, a.verify ? ", verified against the fake" : "");
  for (std::int64_t b = 0; b < B; ++b) {
    std::string top;
    for (const auto& [id, v] : top_k(r.prefill_logits, b, 5)) top += fmt::format("  {:>6} ({:.4f})", id, v);
    fmt::print("  sequence {} next token top-5:{}\n", b, top);
  }
  if (a.generate > 0) {
    for (std::int64_t b = 0; b < B; ++b)
      fmt::print("  sequence {} generated: {}\n", b, join(r.generated[static_cast<std::size_t>(b)]));
    if (r.decode_steps > 0)
      fmt::print("decode: {} steps x batch {} in {:.2f} ms ({:.1f} tokens/s, {:.3f} ms/step)\n", r.decode_steps, B,
                 r.decode_s * 1e3, static_cast<double>(B * r.decode_steps) / r.decode_s,
                 r.decode_s * 1e3 / static_cast<double>(r.decode_steps));
  }
  if (a.profile) {
    fmt::print("profile, prefill (per op kind, share of kernel time):\n{}", r.prefill_profile.str());
    if (r.decode_steps > 0) fmt::print("profile, {} decode steps:\n{}", r.decode_steps, r.decode_profile.str());
  }
  if (!a.dump_logits.empty()) {
    model::SafetensorsWriter w;
    w.add("logits", r.prefill_logits);
    w.write(a.dump_logits);
    fmt::print("wrote logits f32 [{}, {}, {}] to {}\n", B, S, cfg.vocab_size.value, a.dump_logits);
  }
  return kExitClean;
}

}  // namespace

int run_run(std::span<const std::string> args) { return run(args); }

#ifndef SYMTRACE_RUN_CMD_NO_REGISTER
namespace {
const RegisterCommand reg{{"run", "run a checkpoint's graph on the CPU kernels: prefill, greedy decode", &run}};
}  // namespace
#endif

}  // namespace symtrace::cli
