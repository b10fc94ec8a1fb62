// graph::Finding — one diagnostic attached to a node of a traced graph.
//
// Tracing and the passes collect findings instead of stopping at the first: a finding is a
// diag::Diagnostic (code, severity, module path + op, expected vs got in symbols, notes with
// the provenance of every symbol, hint, traced source line) plus the node it concerns and
// the other nodes involved (the producer of a bad value, the node whose prepare step
// rewrote a parameter).
//
//   for (const Finding& f : g.findings()) std::puts(render(g, f).c_str());
//   std::string json = findings_json(g);   // stable schema, docs/graph.md
#pragma once

#include <string>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/graph/ids.hpp>

namespace symtrace::graph {

struct Finding {
  diag::Diagnostic diag;
  NodeId node = kNoNode;
  std::vector<NodeId> related;
  std::string pass;  // "trace", "select", "prepare", "verify"
};

// Compiler-style text: diag::render plus one "related:" line per related node.
std::string render(const Graph& g, const Finding& f);
// Every finding, errors first then in node order, separated by blank lines; ends with a
// summary line ("2 errors, 1 warning").
std::string render_findings(const Graph& g);
// {"findings":[...], "errors":N, "warnings":N} — the schema in docs/graph.md.
std::string findings_json(const Graph& g);

}  // namespace symtrace::graph
