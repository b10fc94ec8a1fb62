// Helpers shared by the selection, prepare and verify passes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/graph_impl.hpp"

namespace symtrace::graph {

using op::Applicability;

// The parameter node feeding argument `arg` of op node `id`, if it is one.
std::optional<NodeId> param_input(const Graph& g, NodeId id, std::string_view arg);

// Do variants a and b of `def` (indices; -1 = reference) share one prepare step?
bool same_prepare(const op::OpDef& def, int a, int b);
// "block_fp8_gemm.deepgemm_like.prepare", or the variant name without a prepare step.
std::string prepare_label(const op::OpDef& def, int variant);

// Why a prepare step cannot run on node `id` (an argument it rewrites is absent or not a
// parameter), or nullopt.
std::optional<std::string> prepare_inputs_problem(const Graph& g, NodeId id,
                                                  const op::Prepare& p);

// Runs the prepare fake of `v` on `args` (metas of node `id`) and substitutes the prepared
// metas in place. Returns the refusal reason on failure.
std::optional<std::string> apply_prepare_fake(Graph& g, NodeId id, const op::Variant& v,
                                              std::vector<op::Value>& args);

// The variant's rule on `metas`; a diag::Error thrown by the rule is a refusal.
Applicability decide_rule(Graph& g, NodeId id, const op::Variant& v,
                          const std::vector<op::Value>& metas);

// A rule that recorded guards and still refused leaves them behind: they are checked at
// bind although no kernel needs them. Reported as a warning on the node.
void orphan_guards_finding(Graph& g, NodeId id, const std::string& variant, std::size_t g0,
                           std::size_t g1);

// A guard equating two different dims ("N == K") recorded by a prepare step (guards
// [g0, g1)) means it chose a layout by comparing shapes: a "layout" error on node `id`.
void check_layout_by_shape(Graph& g, NodeId id, const std::string& step, std::size_t g0,
                           std::size_t g1);

// Provenance lines for every symbol of the given shapes.
std::vector<std::string> provenance(const Graph& g, std::initializer_list<const SymShape*> shapes);

// Equal sizes: identical, or proven equal by the env. `proven_false` is set when the env
// proves them different.
bool same_dim(const Graph& g, const sym::SymInt& a, const sym::SymInt& b, bool& proven_false);

}  // namespace symtrace::graph
