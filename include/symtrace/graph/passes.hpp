// graph passes: plain functions over a traced Graph, each adding findings to it.
//
//   graph::select_kernels(g);   // chosen variant per node + why every other one lost
//   graph::prepare(g);          // prepare steps of the chosen variants rewrite param metas
//   graph::verify(g);           // re-propagates changed metas; checks params and choices
//   graph::eliminate_dead_code(g);
//   graph::MemoryPlan plan = graph::plan_memory(g);   // memory_plan.hpp
//   if (g.count(diag::Severity::kError) == 0) { ... exec::Plan ... }
//
// The usual order is select -> prepare -> verify -> dead code -> plan; run_pipeline does it.
#pragma once

#include <cstddef>

#include <symtrace/graph/graph.hpp>

namespace symtrace::graph {

struct SelectOptions {
  // When every variant of an op refuses a node: true picks the reference kernel and adds a
  // warning listing each refusal; false adds an error instead (production: no silent
  // slow path).
  bool allow_reference_fallback = true;
  // Refuse variants whose instruction set this CPU (or SYMTRACE_ISA) does not offer.
  bool check_isa = true;
};

// For each live op node, in order: tries its variants fastest first. A variant with a
// prepare step is judged on the metas its prepare would produce (what the kernel will
// read). A rule that is kTrue wins, together with any guards it recorded; kFalse and
// kUnknown refuse it with the rule's reason. A parameter already claimed by another
// node's prepare step refuses variants that would prepare it differently.
void select_kernels(Graph& g, const SelectOptions& options = {});

// Runs the fake side of each chosen variant's prepare step on the parameters it rewrites,
// once per parameter, and stores the prepared metas (the originals are kept in
// Graph::prepared). Findings: a prepare that rewrites a non-parameter, two prepare steps
// claiming one parameter, a prepare that accepts its own output (could be applied twice),
// and a layout decided by shape (an equality guard between distinct dims recorded by it).
void prepare(Graph& g);

// Re-runs the fakes of every node whose inputs changed since they last ran (after
// prepare: the parameters), then checks each parameter against its weight (scale shape
// and rank for its granularity under the weight's layout tag, layout tags equal, scale
// dtype for its format) and each chosen kernel against the metas it will actually read
// (its rule re-decided; a parameter prepared for another variant). Returns the number of
// error findings in the graph afterwards.
std::size_t verify(Graph& g);

// Marks op nodes whose outputs reach no graph output (and that touch no state) dead,
// and parameters no live node reads. Returns the number of nodes removed.
std::size_t eliminate_dead_code(Graph& g);

// select -> prepare -> verify -> dead code. Returns the number of error findings.
std::size_t run_pipeline(Graph& g, const SelectOptions& options = {});

}  // namespace symtrace::graph
