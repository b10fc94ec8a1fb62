// graph ids: nodes are numbered in the order they were added; a value is a node's output port.
#pragma once

#include <cstdint>
#include <limits>

namespace symtrace::graph {

using NodeId = std::uint32_t;
inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();

// A value: output `port` of `node`.
struct ValueRef {
  NodeId node = kNoNode;
  std::uint16_t port = 0;
  friend bool operator==(ValueRef, ValueRef) = default;
};

class Graph;

}  // namespace symtrace::graph
