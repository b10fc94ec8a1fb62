// Assertions on traced graphs: output shapes by module path, findings, chosen kernels.
#include <algorithm>
#include <set>
#include <string>

#include <fmt/format.h>

#include <symtrace/graph/finding.hpp>
#include <symtrace/testing.hpp>

namespace symtrace::testing {
namespace {

std::optional<graph::NodeId> last_op_at(const graph::Graph& g, std::string_view path) {
  std::vector<graph::NodeId> ids = g.at(path);
  ids.erase(std::remove_if(ids.begin(), ids.end(), [&](graph::NodeId id) { return g.node(id).dead; }),
            ids.end());
  if (ids.empty()) return std::nullopt;
  return *std::max_element(ids.begin(), ids.end());
}

// Module paths of live op nodes, for "did you mean" lists.
std::string known_paths(const graph::Graph& g) {
  std::set<std::string> paths;
  for (graph::NodeId id : g.nodes_of_kind(graph::NodeKind::kOp))
    if (!g.node(id).dead) paths.emplace(g.module(id).empty() ? "<root>" : g.module(id));
  std::vector<std::string> v(paths.begin(), paths.end());
  if (v.size() > 12) {
    v.resize(12);
    v.emplace_back("...");
  }
  return fmt::format("{}", fmt::join(v, ", "));
}

std::string no_node_message(const graph::Graph& g, std::string_view path) {
  return fmt::format("no live op node at module path '{}'; paths with op nodes: {}", path,
                     known_paths(g));
}

bool reportable(const graph::Finding& f) { return f.diag.severity != diag::Severity::kNote; }

}  // namespace

std::optional<tensor::TensorMeta> output_at(const graph::Graph& g, std::string_view path,
                                            std::string* why) {
  auto id = last_op_at(g, path);
  if (!id) {
    if (why != nullptr) *why = no_node_message(g, path);
    return std::nullopt;
  }
  const graph::Node& n = g.node(*id);
  if (n.outputs.empty() || !n.outputs.front().present) {
    if (why != nullptr) *why = fmt::format("the node at '{}' ({}) has no tensor output", path, g.op_name(*id));
    return std::nullopt;
  }
  return n.outputs.front().meta;
}

CheckResult check_shape_at(const graph::Graph& g, std::string_view path, std::string_view pattern,
                           ShapeBindings& bindings) {
  std::string why;
  auto meta = output_at(g, path, &why);
  if (!meta) return CheckResult::failure(why);
  CheckResult r = match_shape(*meta, pattern, bindings, &g.env());
  if (!r) r.message = fmt::format("output of {}: {}", path, r.message);
  return r;
}

CheckResult check_no_findings(const graph::Graph& g) {
  std::string text;
  std::size_t n = 0;
  for (const graph::Finding& f : g.findings()) {
    if (!reportable(f)) continue;
    ++n;
    text += '\n';
    text += graph::render(g, f);
  }
  if (n == 0) return CheckResult::pass();
  return CheckResult::failure(fmt::format("expected no findings, got {}:{}", n, text));
}

CheckResult check_finding(const graph::Graph& g, std::string_view code, std::string_view path_part) {
  std::vector<std::string> seen;
  for (const graph::Finding& f : g.findings()) {
    std::string path = f.node == graph::kNoNode ? f.diag.node : std::string(g.module(f.node));
    if ((code.empty() || f.diag.code == code) &&
        (path_part.empty() || path.find(path_part) != std::string::npos ||
         f.diag.node.find(path_part) != std::string::npos))
      return CheckResult::pass();
    seen.push_back(fmt::format("[{}] at {}", f.diag.code, path.empty() ? "<root>" : path));
  }
  std::string where;
  if (!path_part.empty()) where = fmt::format(" at a module path containing '{}'", path_part);
  return CheckResult::failure(fmt::format(
      "expected a finding [{}]{}; the graph has {}", code, where,
      seen.empty() ? std::string("no findings") : fmt::format("{}", fmt::join(seen, ", "))));
}

CheckResult check_no_guards(const graph::Graph& g) {
  const auto& guards = g.env().guards();
  if (guards.empty()) return CheckResult::pass();
  std::string text = fmt::format("expected no guards, got {}:", guards.size());
  for (std::size_t i = 0; i < guards.size(); ++i) {
    graph::NodeId site = g.guard_site(i);
    text += fmt::format("\n  {}  ({}){}", guards[i].cond.str(), guards[i].reason,
                        site == graph::kNoNode ? std::string() : fmt::format(" at {}", g.label(site)));
  }
  return CheckResult::failure(std::move(text));
}

CheckResult check_kernel(const graph::Graph& g, std::string_view path, std::string_view kernel) {
  auto id = last_op_at(g, path);
  if (!id) return CheckResult::failure(no_node_message(g, path));
  if (g.selection(*id) == nullptr)
    return CheckResult::failure(fmt::format(
        "no kernel chosen at '{}' yet: run graph::select_kernels (or run_pipeline) first", path));
  std::string chosen = g.kernel_name(*id);
  if (chosen == kernel) return CheckResult::pass();
  return CheckResult::failure(fmt::format("kernel at '{}': expected {}, chosen {}\n{}", path, kernel,
                                          chosen, explain_kernel(g, path)));
}

std::string explain_kernel(const graph::Graph& g, std::string_view path) {
  auto id = last_op_at(g, path);
  if (!id) return no_node_message(g, path);
  const graph::Selection* s = g.selection(*id);
  if (s == nullptr) return fmt::format("{}: no kernel selected yet", path);
  const op::OpDef* def = g.node(*id).op;
  std::string out = fmt::format("{}: {} ({})", path, g.kernel_name(*id), graph::selection_kind_name(s->kind));
  for (const graph::Rejection& r : s->rejected) {
    std::string_view name = def != nullptr && r.variant < def->variants.size()
                                ? std::string_view(def->variants[r.variant].name)
                                : std::string_view("?");
    out += fmt::format("\n  rejected {} ({}): {}", name, sym::truth_name(r.truth), r.reason);
  }
  return out;
}

}  // namespace symtrace::testing
