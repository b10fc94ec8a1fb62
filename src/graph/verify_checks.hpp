// The node checks verify() runs (one file each).
#pragma once

#include "graph/graph_impl.hpp"

namespace symtrace::graph {

// A scale or zero point against the weight it scales: layout tags, canonical shape for its
// granularity under the weight's current layout, dtype for its scale format.
void check_parameter(Graph& g, NodeId p);

}  // namespace symtrace::graph
