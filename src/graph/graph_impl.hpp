// Graph::Impl — the storage behind graph::Graph (private to src/graph and src/exec).
//
// A Boost adjacency_list (vecS vertices, so NodeId == vertex descriptor; bidirectional, so
// producers and consumers are both O(degree)). Edges run producer -> consumer and carry
// which port feeds which argument. The edge list is a vector: passes never remove edges
// (dead-code elimination marks nodes), so the cheaper container is safe.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include <symtrace/graph/graph.hpp>

namespace symtrace::graph {

struct EdgeProp {
  std::uint16_t arg = 0;   // consumer's schema argument
  std::uint16_t pos = 0;   // position in a Tensor[] argument
  std::uint16_t port = 0;  // producer's output port
};

using AdjList = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, Node,
                                      EdgeProp, boost::no_property, boost::vecS>;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct Graph::Impl {
  sym::ShapeEnv env;
  AdjList adj;
  std::vector<std::string> modules{""};  // index 0: top level
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> module_index{
      {"", 0}};
  std::vector<std::string> names{""};
  std::vector<ParamInfo> params;
  std::map<std::pair<NodeKind, std::string>, NodeId, std::less<>> by_name;
  std::vector<Finding> findings;
  std::vector<Selection> selections;               // by node; empty before select_kernels
  std::map<NodeId, PrepareRecord> prepared;        // by parameter node
  std::vector<NodeId> guard_sites;                 // by env guard index
  std::vector<std::uint8_t> dirty;                 // by node: its outputs changed
  std::map<std::string, std::int64_t, std::less<>> config_values;
  std::size_t live = 0;
  bool prepare_ran = false;

  explicit Impl(sym::ShapeEnv e) : env(std::move(e)) {}

  Node& node(NodeId id) { return adj[id]; }
  const Node& node(NodeId id) const { return adj[id]; }
  std::uint32_t intern_module(std::string_view path);
  std::uint32_t intern_name(std::string name);
  // Attributes guards recorded since the last call to `site`.
  void claim_guards(NodeId site);
  NodeId add_node(Node n);
  void add_edges(NodeId consumer);
  TensorMeta& meta(ValueRef v) { return node(v.node).outputs.at(v.port).meta; }
};

// Friend access for the passes and the executor.
inline Graph::Impl& impl_of(Graph& g) { return g.impl(); }
inline const Graph::Impl& impl_of(const Graph& g) { return g.impl(); }

// "file.cpp:42" (directory stripped).
std::string location_str(const symtrace::SourceLocation& loc);

}  // namespace symtrace::graph
