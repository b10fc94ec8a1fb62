// Findings as compiler-style text and as stable JSON (schema: docs/graph.md).
#include <symtrace/graph/finding.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <symtrace/graph/graph.hpp>

#include "graph/json_util.hpp"

namespace symtrace::graph {

namespace {

// Errors first, then warnings, then notes; each in node order, then in the order found.
std::vector<const Finding*> ordered(const Graph& g) {
  std::vector<const Finding*> out;
  for (const Finding& f : g.findings()) out.push_back(&f);
  std::stable_sort(out.begin(), out.end(), [](const Finding* a, const Finding* b) {
    if (a->diag.severity != b->diag.severity) return a->diag.severity < b->diag.severity;
    return a->node < b->node;
  });
  return out;
}

std::string related_line(const Graph& g, NodeId id) {
  std::string loc = g.location(id);
  return loc.empty() ? fmt::format("related: {}", g.label(id))
                     : fmt::format("related: {} --> {}", g.label(id), loc);
}

}  // namespace

std::string render(const Graph& g, const Finding& f) {
  diag::Diagnostic d = f.diag;
  for (NodeId r : f.related)
    if (r < g.size()) d.notes.push_back(related_line(g, r));
  return diag::render(d);
}

std::string render_findings(const Graph& g) {
  std::string out;
  for (const Finding* f : ordered(g)) {
    out += render(g, *f);
    out += "\n\n";
  }
  const std::size_t e = g.count(diag::Severity::kError), w = g.count(diag::Severity::kWarning);
  out += fmt::format("{} error{}, {} warning{}", e, e == 1 ? "" : "s", w, w == 1 ? "" : "s");
  return out;
}

std::string findings_json(const Graph& g) {
  std::string out = fmt::format("{{\"version\":1,\"errors\":{},\"warnings\":{},\"findings\":",
                                g.count(diag::Severity::kError), g.count(diag::Severity::kWarning));
  write_findings(out, g);
  return out + "}";
}

void write_findings(std::string& out, const Graph& g) {
  out += '[';
  bool first = true;
  for (const Finding* fp : ordered(g)) {
    const Finding& f = *fp;
    const diag::Diagnostic& d = f.diag;
    if (!first) out += ',';
    first = false;
    out += "{\"code\":";
    json_string(out, d.code);
    out += ",\"severity\":";
    json_string(out, diag::severity_name(d.severity));
    out += ",\"node\":";
    out += f.node == kNoNode ? "null" : std::to_string(f.node);
    out += ",\"module\":";
    json_string(out, d.node);
    out += ",\"op\":";
    json_string(out, d.op);
    out += ",\"location\":";
    json_string(out, d.location);
    out += ",\"constraint\":";
    json_string(out, d.constraint);
    out += ",\"argument\":";
    json_string(out, d.argument);
    out += ",\"expected\":";
    json_string(out, d.expected);
    out += ",\"got\":";
    json_string(out, d.got);
    out += ",\"message\":";
    json_string(out, d.message);
    out += ",\"notes\":" + json_strings(d.notes);
    out += ",\"hint\":";
    json_string(out, d.hint);
    out += fmt::format(",\"proven\":{},\"pass\":", d.proven ? "true" : "false");
    json_string(out, f.pass);
    out += ",\"related\":[";
    for (std::size_t i = 0; i < f.related.size(); ++i) {
      const NodeId r = f.related[i];
      if (i) out += ',';
      out += fmt::format("{{\"node\":{},\"label\":", r);
      json_string(out, r < g.size() ? g.label(r) : std::string());
      out += ",\"location\":";
      json_string(out, r < g.size() ? g.location(r) : std::string());
      out += '}';
    }
    out += "]}";
  }
  out += ']';
}

}  // namespace symtrace::graph
