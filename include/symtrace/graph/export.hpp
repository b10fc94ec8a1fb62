// graph export: a readable dump, Graphviz DOT and JSON of a traced graph.
//
//   std::puts(graph::dump(g).c_str());        // one line per live node
//   write_file("g.dot", graph::to_dot(g));    // shapes on edges, findings highlighted
//   write_file("g.json", graph::to_json(g));  // schema in docs/graph.md
//
// Output is deterministic: node order, symbol order and number formatting never depend on
// addresses or hash order.
#pragma once

#include <string>

#include <symtrace/graph/graph.hpp>

namespace symtrace::graph {

struct ExportOptions {
  bool include_dead = false;  // dead nodes (after dead-code elimination)
  bool include_params = true; // parameter nodes and their edges (DOT gets crowded)
};

// "%3 = linear(%0, %1) : bf16[B, S, 4096]  model.layers.0.mlp.up  [linear.avx512_bf16]"
std::string dump(const Graph& g, const ExportOptions& options = {});
std::string to_dot(const Graph& g, const ExportOptions& options = {});
std::string to_json(const Graph& g, const ExportOptions& options = {});

}  // namespace symtrace::graph
