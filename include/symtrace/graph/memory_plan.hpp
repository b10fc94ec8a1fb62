// graph::MemoryPlan — where every intermediate value lives, as symbolic expressions.
//
//   graph::MemoryPlan mp = graph::plan_memory(g);
//   mp.arena_bytes.str();        // "8192*B*S + 4096*B*T_max"  (evaluated once at bind)
//   mp.buffers[mp.buffer_of({node, 0})].offset
//
// Liveness runs over the topological order of the live op nodes. Every op output that is
// not a view gets a buffer; views share their base's buffer (their meta's storage offset
// locates them inside it). Buffers are grouped by size class — the size expression with
// its integer coefficient taken out (4096*B*S and 28672*B*S share the class B*S) — and
// each class is packed with integer offsets (greedy by size, smallest fitting gap), so offsets stay
// exact symbolic expressions: region base + k * class. Persistent states come first in the
// arena, so their offsets depend only on their own sizes and survive rebinding. Inputs get
// arena slots (run copies into them, or the caller writes them in place); parameters keep
// their own storage.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <symtrace/graph/graph.hpp>

namespace symtrace::graph {

enum class BufferKind : std::uint8_t { kInput, kState, kArena };

struct Buffer {
  BufferKind kind = BufferKind::kArena;
  ValueRef value;                // the value that defined it
  sym::Expr bytes;               // size, rounded up to the alignment
  sym::Expr offset;              // from the arena start, a multiple of the alignment
  std::uint32_t first = 0;       // first step it is live (its producer's step)
  std::uint32_t last = 0;        // last step that reads it (kForever: until the end)
  std::uint32_t size_class = 0;  // index into MemoryPlan::classes
  std::int64_t units = 0;        // bytes / class expression
  std::int64_t slot = 0;         // offset within its class region, in class units
  std::vector<ValueRef> inplace;  // outputs that reuse this buffer in place
};

struct MemoryPlan {
  static constexpr std::uint32_t kForever = 0xFFFFFFFFu;
  std::int64_t alignment = 64;
  std::map<std::string, std::int64_t, std::less<>> fixed;  // PlanOptions::fixed, as used
  std::vector<NodeId> order;      // live op nodes, topological; step i runs order[i]
  std::vector<Buffer> buffers;
  std::vector<sym::Expr> classes; // size classes: the expression per unit
  std::vector<std::int64_t> class_units;  // region size per class, in units
  sym::Expr state_bytes;          // the arena prefix holding persistent states
  sym::Expr arena_bytes;          // total

  // The buffer holding a value (views resolve to their base), or -1: parameter storage,
  // an absent optional, or a dead node.
  std::int32_t buffer_of(ValueRef v) const;
  // The value whose storage a value lives in: itself, or the root of its chain of views.
  ValueRef root_of(ValueRef v) const;

  // Largest sum of live buffer bytes over all steps under `eval` (a lower bound for any
  // arena; tests compare it with the evaluated arena_bytes).
  std::int64_t max_live_bytes(const std::function<std::int64_t(sym::Expr)>& eval) const;

  std::string str(const Graph& g) const;  // one line per buffer, for humans and tests

  // Index of every (node, port): port_base[node] + port.
  std::vector<std::uint32_t> port_base;
  std::vector<std::int32_t> value_buffer;
  std::vector<ValueRef> value_root;
};

struct PlanOptions {
  std::int64_t alignment = 64;
  // Symbols planned with these values (configuration dims): sizes like 4*B*S*H become
  // 16384*B*S, so buffers of every width share one size class and can reuse each other's
  // space. exec::Plan passes the graph's config values and replans if a bind changes one.
  std::map<std::string, std::int64_t, std::less<>> fixed;
  // In-place reuse: for an op and one of its outputs, the schema index of the tensor
  // argument whose buffer the output may overwrite (elementwise ops). Used only when that
  // input is a contiguous arena buffer of the same size class and size read last by this
  // node. The default asks nothing of the op (no reuse).
  std::function<std::optional<std::size_t>(const op::OpDef&, std::size_t output)> inplace;
};

// Plans the live part of a graph (dead nodes are skipped). Poisoned nodes, or sizes that
// depend on data-dependent symbols, are diag::Error (code "plan").
MemoryPlan plan_memory(const Graph& g, const PlanOptions& options = {});

}  // namespace symtrace::graph
