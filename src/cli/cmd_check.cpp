// symtrace check DIR [--tp N] [--ep N] [--json] [--strict]
//
// Reads config.json (with its quantization_config) and the safetensors headers (and the
// scale tensors, to scan their values), derives every tensor the format requires, and
// reports what does not fit: missing / unexpected tensors, dtypes, shapes, scale layouts,
// ignore lists that miss fused modules, TP splits that break a block grid, bad scale values.
// Findings repeated across layers are printed once with the layers they occur in.
// Exit: 0 clean, 1 findings (errors; warnings too with --strict), 2 unreadable input.
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
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/safetensors.hpp>

#include "cli/command.hpp"

namespace symtrace::cli {
namespace {

struct CheckOptions {
  std::string dir;
  std::int64_t tp = 1, ep = 1;
  bool json = false, strict = false;
};

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
    else if (a == "--json") o.json = true;
    else if (a == "--strict") o.strict = true;
    else if (a.starts_with("--")) diag::fail("usage", fmt::format("unknown option {}", a));
    else if (o.dir.empty()) o.dir = a;
    else diag::fail("usage", fmt::format("unexpected argument '{}'", a));
  }
  if (o.dir.empty())
    diag::fail("usage", "usage: symtrace check DIR [--tp N] [--ep N] [--json] [--strict]");
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

int run(std::span<const std::string> args) {
  const auto start = std::chrono::steady_clock::now();
  CheckOptions o = parse(args);
  model::ModelConfig cfg = model::load_hf_config(o.dir);
  model::SafetensorsCheckpoint ckpt = model::SafetensorsCheckpoint::open(o.dir);
  model::SpecOptions so;
  so.tp = o.tp;
  so.ep = o.ep;
  model::CheckpointSpec spec = model::build_checkpoint_spec(cfg, nullptr, so);

  std::vector<diag::Diagnostic> all = cfg.findings;
  if (cfg.quant) all.insert(all.end(), cfg.quant->findings.begin(), cfg.quant->findings.end());
  all.insert(all.end(), spec.findings.begin(), spec.findings.end());
  auto listed = model::check_tensor_list(spec, ckpt);
  all.insert(all.end(), listed.begin(), listed.end());
  model::ScaleScanOptions scan;
  scan.require_pow2 = cfg.quant && cfg.quant->scale_fmt == "ue8m0";
  auto scales = model::scan_scales(spec, ckpt, scan);
  all.insert(all.end(), scales.begin(), scales.end());
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

  if (o.json) {
    boost::json::object out;
    out["model"] = std::string(model::architecture_name(cfg.arch));
    out["dir"] = o.dir;
    out["quantization"] = quant;
    out["tp"] = o.tp;
    out["ep"] = o.ep;
    out["tensors"] = ckpt.size();
    boost::json::array findings;
    for (const auto& d : all) findings.push_back(to_json(d));
    out["findings"] = std::move(findings);
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
