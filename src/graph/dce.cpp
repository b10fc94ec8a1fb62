// Dead-code elimination: keep what reaches an output or touches persistent state.
#include <symtrace/graph/passes.hpp>

#include "graph/graph_impl.hpp"

namespace symtrace::graph {

std::size_t eliminate_dead_code(Graph& g) {
  Graph::Impl& im = impl_of(g);
  const std::size_t n = g.size();
  std::vector<std::uint8_t> keep(n, 0);
  std::vector<NodeId> work;
  // Roots: outputs, and op calls reading a state — they may write it (a KV-cache update),
  // which is an effect no output shows. Inputs and states stay: callers bind them by name.
  for (NodeId id = 0; id < n; ++id) {
    const Node& node = im.node(id);
    if (node.dead) continue;
    bool root = node.kind == NodeKind::kOutput || node.kind == NodeKind::kInput ||
                node.kind == NodeKind::kState;
    if (node.kind == NodeKind::kOp)
      for (const Input& in : node.inputs) root = root || im.node(in.value.node).kind == NodeKind::kState;
    if (root) {
      keep[id] = 1;
      work.push_back(id);
    }
  }
  while (!work.empty()) {
    NodeId id = work.back();
    work.pop_back();
    for (auto [it, end] = boost::in_edges(id, im.adj); it != end; ++it) {
      auto src = static_cast<NodeId>(boost::source(*it, im.adj));
      if (!keep[src] && !im.node(src).dead) {
        keep[src] = 1;
        work.push_back(src);
      }
    }
  }
  std::size_t removed = 0;
  for (NodeId id = 0; id < n; ++id) {
    Node& node = im.node(id);
    if (node.dead || keep[id]) continue;
    node.dead = true;
    ++removed;
  }
  im.live -= removed;
  return removed;
}

}  // namespace symtrace::graph
