// symtrace graph DIR [--dot FILE] [--json FILE] [--dtype bf16|fp16] [--dead] [--no-params]
//
// Traces the checkpoint's model graph exactly as `symtrace check` does (symbolic B and S,
// headers bound to the parameters, select / prepare / verify / dead code) and writes it:
// Graphviz DOT (nodes with findings filled red, warnings amber) and JSON (docs/graph.md's
// schema, plus a "findings" list on every node that has some). Without --dot or --json the
// readable dump goes to stdout. The graph's findings (header binding, passes) are printed;
// the tensor-list and scale checks are `check`'s.
// Progress goes to stderr when it is a terminal, nowhere otherwise.
// Exit: 0 clean, 1 error findings, 2 unreadable input or a graph that cannot be traced.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/graph/export.hpp>
#include <symtrace/model/check_graph.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/safetensors.hpp>

#include "cli/command.hpp"

namespace symtrace::cli {
namespace {

constexpr std::string_view kGraphUsage =
    "usage: symtrace graph DIR [--dot FILE] [--json FILE] [--dtype bf16|fp16] [--dead] "
    "[--no-params]";

struct GraphOptions {
  std::string dir, dot, json;
  std::optional<tensor::DType> dtype;
  graph::ExportOptions exp;
};

GraphOptions parse_graph_args(std::span<const std::string> args) {
  GraphOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) diag::fail("usage", fmt::format("{} needs a value", a));
      return args[++i];
    };
    if (a == "--dot") o.dot = value();
    else if (a == "--json") o.json = value();
    else if (a == "--dead") o.exp.include_dead = true;
    else if (a == "--no-params") o.exp.include_params = false;
    else if (a == "--dtype") {
      const std::string& d = value();
      if (d == "bf16") o.dtype = tensor::DType::kBF16;
      else if (d == "fp16") o.dtype = tensor::DType::kF16;
      else diag::fail("usage", fmt::format("--dtype takes bf16 or fp16, got '{}'", d));
    } else if (a.starts_with("--")) diag::fail("usage", fmt::format("unknown option {}", a));
    else if (o.dir.empty()) o.dir = a;
    else diag::fail("usage", fmt::format("unexpected argument '{}'", a));
  }
  if (o.dir.empty()) diag::fail("usage", std::string(kGraphUsage));
  return o;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) diag::fail("io", fmt::format("cannot write {}", path));
}

// docs/graph.md's JSON with each node's findings beside it: {"code","severity","pass","message"}.
std::string json_with_node_findings(const graph::Graph& g, const graph::ExportOptions& exp) {
  boost::json::value v = boost::json::parse(graph::to_json(g, exp));
  std::map<graph::NodeId, boost::json::array> by_node;
  for (const graph::Finding& f : g.findings()) {
    if (f.node == graph::kNoNode) continue;
    boost::json::object o;
    o["code"] = f.diag.code;
    o["severity"] = std::string(diag::severity_name(f.diag.severity));
    o["pass"] = f.pass;
    o["message"] = f.diag.message;
    by_node[f.node].push_back(std::move(o));
  }
  for (boost::json::value& n : v.as_object()["nodes"].as_array()) {
    auto& node = n.as_object();
    auto it = by_node.find(static_cast<graph::NodeId>(node.at("id").to_number<std::int64_t>()));
    if (it != by_node.end()) node["findings"] = it->second;
  }
  return boost::json::serialize(v) + "\n";
}

int run_graph(std::span<const std::string> args) {
  GraphOptions o = parse_graph_args(args);
  const bool tty = isatty(STDERR_FILENO) == 1;
  auto progress = [tty](std::string_view stage) {
    if (!tty) return;
    fmt::print(stderr, "\r\x1b[Ksymtrace graph: {}...", stage);
    std::fflush(stderr);
  };
  progress("reading config.json");
  const model::ModelConfig cfg = model::load_hf_config(o.dir);
  progress("reading safetensors headers");
  const auto ckpt = model::SafetensorsCheckpoint::open(o.dir);
  const model::CheckpointSpec spec = model::build_checkpoint_spec(cfg);
  model::GraphCheckOptions go;
  go.build.compute_dtype = o.dtype;
  go.progress = progress;  // every header mismatch is a finding on its node (no tensor list here)
  model::GraphCheck gc = model::check_graph(cfg, spec, ckpt, go);  // diag::Error -> exit 2
  progress("writing");
  if (!o.dot.empty()) write_text(o.dot, graph::to_dot(gc.graph, o.exp));
  if (!o.json.empty()) write_text(o.json, json_with_node_findings(gc.graph, o.exp));
  if (tty) fmt::print(stderr, "\r\x1b[K");

  if (o.dot.empty() && o.json.empty()) fmt::print("{}\n", graph::dump(gc.graph, o.exp));
  std::size_t errors = 0, warnings = 0;
  for (const diag::Diagnostic& d : gc.findings) {
    errors += d.severity == diag::Severity::kError;
    warnings += d.severity == diag::Severity::kWarning;
    if (d.severity != diag::Severity::kNote) fmt::print("{}\n\n", diag::render(d));
  }
  fmt::print("symtrace graph {}: {} nodes ({} live){}{}; {} error{}, {} warning{}\n", o.dir,
             gc.graph.size(), gc.graph.live_size(), o.dot.empty() ? "" : ", dot " + o.dot,
             o.json.empty() ? "" : ", json " + o.json, errors, errors == 1 ? "" : "s", warnings,
             warnings == 1 ? "" : "s");
  return errors > 0 ? kExitFindings : kExitClean;
}

}  // namespace

#ifndef SYMTRACE_GRAPH_CMD_NO_REGISTER
namespace {
const RegisterCommand reg_graph{
    {"graph", "write a checkpoint's traced graph (DOT, JSON), findings highlighted", &run_graph}};
}  // namespace
#endif

int run_graph_command(std::span<const std::string> args) { return run_graph(args); }

}  // namespace symtrace::cli
