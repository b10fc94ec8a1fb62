// symtrace check DIR [--tp N] [--ep N] [--dtype bf16|fp16] [--json] [--strict]
//
// Reads config.json (with its quantization_config) and the safetensors headers (and the
// scale tensors, to scan their values), derives every tensor the format requires, and
// reports what does not fit: missing / unexpected tensors, dtypes, shapes, scale layouts,
// ignore lists that miss fused modules, TP splits that break a block grid, bad scale values.
// Then traces the model graph with symbolic batch B and sequence S, binds the headers to its
// parameters, runs kernel selection, prepare and verify (model/check_graph.hpp), and reports
// the graph's findings and the kernel each layer gets and why.
// Findings and kernels repeated across layers are printed once with the layers they occur in.
// Progress goes to stderr when it is a terminal, nowhere otherwise.
// Exit: 0 clean, 1 findings (errors; warnings too with --strict), 2 unreadable input.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/check_graph.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/safetensors.hpp>

#include "cli/command.hpp"

namespace symtrace::cli {
namespace {

struct CheckOptions {
  std::string dir;
  std::int64_t tp = 1, ep = 1;
  std::optional<tensor::DType> dtype;  // --dtype: the compute dtype; default the checkpoint's
  bool json = false, strict = false;
};

constexpr std::string_view kUsage =
    "usage: symtrace check DIR [--tp N] [--ep N] [--dtype bf16|fp16] [--json] [--strict]";

std::int64_t positive_int(std::string_view flag, const std::string& v) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || n < 1) diag::fail("usage", fmt::format("{} takes a positive integer, got '{}'", flag, v));
  return n;
}

CheckOptions parse(std::span<const std::string> args) {
  CheckOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) diag::fail("usage", fmt::format("{} needs a value", a));
      return args[++i];
    };
    if (a == "--tp") o.tp = positive_int(a, value());
    else if (a == "--ep") o.ep = positive_int(a, value());
    else if (a == "--dtype") {
      const std::string& d = value();
      if (d == "bf16") o.dtype = tensor::DType::kBF16;
      else if (d == "fp16") o.dtype = tensor::DType::kF16;
      else diag::fail("usage", fmt::format("--dtype takes bf16 or fp16, got '{}'", d));
    } else if (a == "--json") o.json = true;
    else if (a == "--strict") o.strict = true;
    else if (a.starts_with("--")) diag::fail("usage", fmt::format("unknown option {}", a));
    else if (o.dir.empty()) o.dir = a;
    else diag::fail("usage", fmt::format("unexpected argument '{}'", a));
  }
  if (o.dir.empty()) diag::fail("usage", std::string(kUsage));
  return o;
}

// "model.layers.17.mlp" -> "model.layers.{L}.mlp", remembering 17.
const std::regex& layer_re() {
  static const std::regex re(R"(\.layers\.([0-9]+)\.)");
  return re;
}

std::string fold(const std::string& s, std::vector<std::int64_t>* layers) {
  std::smatch m;
  if (!std::regex_search(s, m, layer_re())) return s;
  if (layers != nullptr) layers->push_back(std::stoll(m[1].str()));
  return std::regex_replace(s, layer_re(), ".layers.{L}.", std::regex_constants::format_first_only);
}

std::string ranges(std::vector<std::int64_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    parts.push_back(j == i ? fmt::format("{}", v[i]) : fmt::format("{}-{}", v[i], v[j]));
    i = j + 1;
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

// Diagnostics equal up to the layer index, printed once.
struct Group {
  diag::Diagnostic diag;   // with {L} in place of the layer index
  diag::Diagnostic first;  // the first occurrence as reported
  std::vector<std::int64_t> layers;
};

std::vector<Group> group_by_layer(const std::vector<diag::Diagnostic>& all) {
  std::map<std::string, std::size_t> index;
  std::vector<Group> groups;
  for (const diag::Diagnostic& d : all) {
    std::vector<std::int64_t> layers;
    diag::Diagnostic f = d;
    f.node = fold(d.node, &layers);
    f.argument = fold(d.argument, layers.empty() ? &layers : nullptr);
    f.message = fold(d.message, nullptr);
    for (auto& n : f.notes) n = fold(n, nullptr);
    std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}", static_cast<int>(f.severity), f.code,
                                  f.node, f.argument, f.expected, f.got, f.message);
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) groups.push_back({f, d, {}});
    auto& g = groups[it->second];
    g.layers.insert(g.layers.end(), layers.begin(), layers.end());
  }
  return groups;
}

std::string render_group(const Group& g) {
  if (g.layers.size() <= 1) return diag::render(g.first);
  return fmt::format("{}\n  in layers {} ({} layers; {{L}} above stands for each)",
                     diag::render(g.diag), ranges(g.layers), g.layers.size());
}

boost::json::object to_json(const diag::Diagnostic& d) {
  boost::json::object o;
  o["code"] = d.code;
  o["severity"] = std::string(diag::severity_name(d.severity));
  if (!d.argument.empty()) o["tensor"] = d.argument;
  if (!d.node.empty()) o["node"] = d.node;
  o["expected"] = d.expected;
  o["got"] = d.got;
  o["message"] = d.message;
  boost::json::array notes;
  for (const auto& n : d.notes) notes.emplace_back(n);
  o["notes"] = std::move(notes);
  if (!d.hint.empty()) o["hint"] = d.hint;
  return o;
}

// Progress on stderr, only when it is a terminal: one line rewritten in place, erased at
// the end, so piped or captured output never contains it.
class Progress {
 public:
  explicit Progress(std::string_view command) : command_(command), on_(isatty(STDERR_FILENO) == 1) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { clear(); }
  void operator()(std::string_view stage) {
    if (!on_) return;
    fmt::print(stderr, "\r\x1b[Ksymtrace {}: {}...", command_, stage);
    std::fflush(stderr);
  }
  void clear() {
    if (!on_) return;
    fmt::print(stderr, "\r\x1b[K");
    std::fflush(stderr);
  }

 private:
  std::string command_;
  bool on_;
};

// Kernel choices equal up to the layer and expert index, printed once with their layers and
// experts (a 256-expert layer is one line per expert linear, not 256).
struct KernelGroup {
  std::string module;  // "self_attn.q_proj" inside a layer, the full path outside
  std::string kernel, reason;
  std::vector<std::int64_t> layers, experts;
};

// "mlp.experts.3.up_proj" -> "mlp.experts.{E}.up_proj", remembering 3.
std::string fold_expert(const std::string& s, std::vector<std::int64_t>& experts) {
  static const std::regex re(R"(\.experts\.([0-9]+)(\.|$))");
  std::smatch m;
  if (!std::regex_search(s, m, re)) return s;
  experts.push_back(std::stoll(m[1].str()));
  return std::regex_replace(s, re, ".experts.{E}$2", std::regex_constants::format_first_only);
}

// Text shows the nodes where a choice was made or a weight is read; --json shows every node.
std::vector<KernelGroup> group_kernels(const std::vector<model::KernelChoice>& ks) {
  std::map<std::string, std::size_t> index;
  std::vector<KernelGroup> groups;
  for (const model::KernelChoice& k : ks) {
    if (!k.has_choice && !k.reads_weight) continue;
    std::vector<std::int64_t> layers, experts;
    std::string module = fold_expert(fold(k.node, &layers), experts);
    if (module.starts_with("model.layers.{L}.")) module.erase(0, std::string_view("model.layers.{L}.").size());
    const std::string reason = fold(k.reason, nullptr);
    auto [it, fresh] = index.emplace(fmt::format("{}|{}|{}", module, k.kernel, reason), groups.size());
    if (fresh) groups.push_back({module.empty() ? std::string("(top level)") : module, k.kernel, reason, {}, {}});
    auto& g = groups[it->second];
    g.layers.insert(g.layers.end(), layers.begin(), layers.end());
    g.experts.insert(g.experts.end(), experts.begin(), experts.end());
  }
  return groups;
}

std::string render_kernels(const std::vector<KernelGroup>& groups) {
  std::size_t wl = 0, wm = 0, wk = 0;
  std::vector<std::string> where;
  for (const KernelGroup& g : groups) {
    const std::size_t n = std::set<std::int64_t>(g.layers.begin(), g.layers.end()).size();
    where.push_back(g.layers.empty() ? std::string()
                                     : fmt::format("layer{} {}", n == 1 ? "" : "s", ranges(g.layers)));
    if (!g.experts.empty()) where.back() += fmt::format(", experts {}", ranges(g.experts));
    wl = std::max(wl, where.back().size());
    wm = std::max(wm, g.module.size());
    wk = std::max(wk, g.kernel.size());
  }
  std::string out;
  for (std::size_t i = 0; i < groups.size(); ++i)
    out += fmt::format("  {:<{}}  {:<{}}  {:<{}}  ({})\n", where[i], wl, groups[i].module, wm,
                       groups[i].kernel, wk, groups[i].reason);
  return out;
}

boost::json::array kernels_json(const std::vector<model::KernelChoice>& ks) {
  boost::json::array out;
  for (const model::KernelChoice& k : ks) {
    boost::json::object o;
    o["node"] = k.node;
    o["op"] = k.op;
    o["kernel"] = k.kernel;
    o["reason"] = k.reason;
    boost::json::array refused;
    for (const auto& r : k.refused) refused.emplace_back(r);
    o["refused"] = std::move(refused);
    out.push_back(std::move(o));
  }
  return out;
}

int run(std::span<const std::string> args) {
  const auto start = std::chrono::steady_clock::now();
  CheckOptions o = parse(args);
  Progress progress("check");
  progress("reading config.json");
  model::ModelConfig cfg = model::load_hf_config(o.dir);
  progress("reading safetensors headers");
  model::SafetensorsCheckpoint ckpt = model::SafetensorsCheckpoint::open(o.dir);
  model::SpecOptions so;
  so.tp = o.tp;
  so.ep = o.ep;
  model::CheckpointSpec spec = model::build_checkpoint_spec(cfg, nullptr, so);

  std::vector<diag::Diagnostic> all = cfg.findings;
  if (cfg.quant) all.insert(all.end(), cfg.quant->findings.begin(), cfg.quant->findings.end());
  all.insert(all.end(), spec.findings.begin(), spec.findings.end());
  progress("checking the tensor list");
  auto listed = model::check_tensor_list(spec, ckpt);
  all.insert(all.end(), listed.begin(), listed.end());
  progress("scanning scales");
  model::ScaleScanOptions scan;
  scan.require_pow2 = cfg.quant && cfg.quant->scale_fmt == "ue8m0";
  auto scales = model::scan_scales(spec, ckpt, scan);
  all.insert(all.end(), scales.begin(), scales.end());

  model::GraphCheckOptions go;
  go.build.compute_dtype = o.dtype;
  for (const auto& d : listed) go.already_reported.insert(d.argument);
  go.progress = [&](std::string_view stage) { progress(stage); };
  std::vector<model::KernelChoice> kernels;
  std::size_t graph_nodes = 0;
  go.tp = o.tp;  // one rank's graph, each header bound as its shard
  go.ep = o.ep;
  bool per_rank = false;
  try {
    model::GraphCheck gc = model::check_graph(cfg, spec, ckpt, go);
    all.insert(all.end(), gc.findings.begin(), gc.findings.end());
    kernels = std::move(gc.kernels);
    graph_nodes = gc.graph.live_size();
    per_rank = gc.per_rank;
  } catch (const diag::Error& e) {
    diag::Diagnostic d = e.diagnostic();
    d.message = fmt::format("the model graph could not be traced, so kernels were not checked: {}",
                            d.message);
    d.code = "graph-untraced";
    d.severity = diag::Severity::kWarning;
    all.push_back(std::move(d));
  }
  progress.clear();
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return static_cast<int>(a.severity) < static_cast<int>(b.severity);
  });

  std::size_t errors = 0, warnings = 0;
  for (const auto& d : all) {
    errors += d.severity == diag::Severity::kError;
    warnings += d.severity == diag::Severity::kWarning;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string quant =
      cfg.quant ? std::string(model::quant_method_name(cfg.quant->method)) : std::string("none");
  const std::string compute(tensor::name(o.dtype.value_or(cfg.weight_dtype())));

  if (o.json) {
    boost::json::object out;
    out["model"] = std::string(model::architecture_name(cfg.arch));
    out["dir"] = o.dir;
    out["quantization"] = quant;
    out["compute_dtype"] = compute;
    out["tp"] = o.tp;
    out["ep"] = o.ep;
    out["tensors"] = ckpt.size();
    out["graph_nodes"] = graph_nodes;
    out["graph"] = per_rank ? "rank" : "model";
    boost::json::array findings;
    for (const auto& d : all) findings.push_back(to_json(d));
    out["findings"] = std::move(findings);
    out["kernels"] = kernels_json(kernels);
    out["errors"] = errors;
    out["warnings"] = warnings;
    out["seconds"] = seconds;
    std::puts(boost::json::serialize(out).c_str());
  } else {
    fmt::print("symtrace check {}: {}, {} layers, quantization {}, {} tensors{}\n", o.dir,
               model::architecture_name(cfg.arch), cfg.num_hidden_layers.value, quant, ckpt.size(),
               o.tp > 1 || o.ep > 1 ? fmt::format(", tp={} ep={}", o.tp, o.ep) : std::string());
    for (const Group& g : group_by_layer(all)) {
      if (g.diag.severity == diag::Severity::kNote && !o.strict) continue;
      fmt::print("\n{}\n", render_group(g));
    }
    if (!kernels.empty())
      fmt::print("\nkernels ({} compute, B and S symbolic, {} graph nodes{}):\n{}", compute,
                 graph_nodes, per_rank ? fmt::format(", one rank of tp={}", o.tp) : std::string(),
                 render_kernels(group_kernels(kernels)));
    fmt::print("\n{} error{}, {} warning{} ({:.1f} ms)\n", errors, errors == 1 ? "" : "s", warnings,
               warnings == 1 ? "" : "s", seconds * 1e3);
  }
  if (errors > 0 || (o.strict && warnings > 0)) return kExitFindings;
  return kExitClean;
}

}  // namespace

int run_check(std::span<const std::string> args) { return run(args); }

#ifndef SYMTRACE_CHECK_CMD_NO_REGISTER
namespace {
const RegisterCommand reg{{"check", "check a Hugging Face checkpoint against the kernels' formats", &run}};
}  // namespace
#endif

}  // namespace symtrace::cli
