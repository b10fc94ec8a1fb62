// Running an op's fake impl for the graph: outputs flattened into ports, errors turned
// into findings (tracing and verify's re-propagation share this).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "graph/graph_impl.hpp"

namespace symtrace::graph {

struct FakeOutcome {
  std::vector<Port> ports;
  std::int16_t list_return = -1;
  std::optional<diag::Diagnostic> error;  // set: the fake failed, ports are poisoned
};

// Calls def.fake on bound argument metas. A diag::Error, another std::exception, or
// outputs that do not fit the schema become `error` (code from the fake, "fake-exception"
// or "fake-mismatch"); diag::InternalError propagates (a bug, not a finding).
FakeOutcome run_fake(const op::OpDef& def, std::span<const op::Value> args, sym::ShapeEnv& env);

// Placeholder ports of a node whose fake did not run (or failed): rank-0 metas, so model
// code reading shapes does not crash; consumers are poisoned too.
std::vector<Port> poisoned_ports(const op::OpDef& def);

// Completes a finding about a failing op node: module path, op and location; the
// producers of the inputs it blames as related nodes; a note when a producer flattened
// its input's leading dims ([B, S, K] -> [B*S, N]), the usual cause of a consumer's
// shape error; and the provenance of every symbol in the blamed inputs.
Finding fake_finding(const Graph& g, NodeId node, diag::Diagnostic d, std::string pass);

}  // namespace symtrace::graph
