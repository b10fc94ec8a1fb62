// graph::Graph — the traced program: inputs, parameters, persistent state, op calls and
// outputs, with the symbolic TensorMeta of every value and the findings of every pass.
//
//   graph::Graph g;                                   // owns the ShapeEnv of its symbols
//   graph::Tracer tr(g);                              // records op calls (tracer.hpp)
//   ...model code...
//   graph::select_kernels(g); graph::prepare(g); graph::verify(g);   // passes.hpp
//   for (const graph::Finding& f : g.findings()) std::puts(graph::render(g, f).c_str());
//
// Nodes are numbered in the order they were added, which is a topological order (an op's
// inputs exist before it). Passes never renumber: dead-code elimination marks nodes dead.
// The storage (a Boost adjacency_list, bidirectional) lives behind a pointer in src/graph.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <symtrace/diag/source_location.hpp>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/graph/finding.hpp>
#include <symtrace/graph/ids.hpp>
#include <symtrace/op/op_def.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::graph {

using tensor::DType;
using tensor::ScaleFormat;
using tensor::SymShape;
using tensor::TensorMeta;
using tensor::WeightLayout;

enum class NodeKind : std::uint8_t {
  kInput,      // a graph input with a symbolic meta (activations, token ids)
  kParameter,  // a weight or scale, loaded once
  kState,      // a persistent buffer that survives across runs (KV cache)
  kOp,         // a call of a registered op
  kOutput,     // a named graph output
};
std::string_view node_kind_name(NodeKind k);

// What a parameter is (OPS.md §3). Scales and zero points name the weight they belong to.
enum class ParamRole : std::uint8_t {
  kWeight,
  kWeightScale,
  kInputScale,
  kZeroPoint,
  kGlobalScale,
  kOther,  // norm weights, biases, embedding tables, rotary caches
};
std::string_view param_role_name(ParamRole r);

enum class Granularity : std::uint8_t { kNone, kTensor, kChannel, kToken, kBlock, kGroup };
std::string_view granularity_name(Granularity g);  // "per-channel", "block", ...

struct ParamInfo {
  ParamRole role = ParamRole::kOther;
  NodeId weight = kNoNode;  // scales, zero points, global scales: the weight they scale
  Granularity granularity = Granularity::kNone;
  std::int64_t block_n = 0, block_k = 0;  // kBlock: bn x bk
  std::int64_t group = 0;                 // kGroup: g along K
  // Layout and scale format are the meta's tags (meta.layout, meta.scale_fmt).
  // Non-empty: the parameter is not a checkpoint tensor but these ones concatenated along
  // their first dim, in order, then viewed as the traced sizes (MoE experts stacked for a
  // fused kernel: model::load_params builds it).
  std::vector<std::string> stacked_from{};
};

// Weight-scale infos for Tracer::scale: tr.scale("w_scale", w, {N, 1}, graph::per_channel()).
ParamInfo per_tensor(ParamRole role = ParamRole::kWeightScale);
ParamInfo per_channel(ParamRole role = ParamRole::kWeightScale);
ParamInfo block(std::int64_t bn, std::int64_t bk, ParamRole role = ParamRole::kWeightScale);
ParamInfo group(std::int64_t g, ParamRole role = ParamRole::kWeightScale);

// A tensor input of an op call: schema argument `arg`, position `pos` in a Tensor[] list.
struct Input {
  std::uint16_t arg = 0;
  std::uint16_t pos = 0;
  ValueRef value;
};

// A non-tensor argument of an op call (sizes, eps, dtypes, strings), by schema index.
struct Attr {
  std::uint16_t arg = 0;
  op::Value value;
};

// One output of a node. `present` is false for an absent optional output (`Tensor?`).
struct Port {
  TensorMeta meta;
  bool present = true;
};

struct Node {
  NodeKind kind = NodeKind::kOp;
  bool dead = false;      // removed by dead-code elimination
  bool poisoned = false;  // its fake failed (or an input's did): outputs are unknown
  std::int16_t list_returns = -1;  // schema return index expanded into ports (Tensor[])
  std::uint32_t module = 0;        // index of its module path (Graph::module)
  std::uint32_t name = 0;          // index of its name (inputs, params, states, outputs)
  symtrace::SourceLocation loc;        // the traced call
  const op::OpDef* op = nullptr;   // op nodes
  std::vector<Input> inputs;       // op nodes: tensor args; outputs: the one value
  std::vector<Attr> attrs;         // op nodes
  std::vector<Port> outputs;       // ports; Tensor[] returns are expanded one port each
  std::int32_t param = -1;         // parameters: index into the ParamInfo table
};

// Kernel selection of one op node (select_kernels, passes.hpp).
enum class SelectionKind : std::uint8_t {
  kNone,       // not selected (yet), or poisoned
  kVariant,    // a fast variant whose rule is proven (possibly under recorded guards)
  kReference,  // the op has no variants: its reference kernel
  kFallback,   // every variant refused: the reference kernel, reported as a finding
  kRefused,    // every variant refused and fallback is not allowed: an error finding
  kForced,     // set by the user (Graph::force_kernel)
};
std::string_view selection_kind_name(SelectionKind k);

struct Rejection {
  std::uint16_t variant = 0;  // index into OpDef::variants
  sym::Truth truth = sym::Truth::kFalse;
  std::string reason;
};

struct Selection {
  SelectionKind kind = SelectionKind::kNone;
  std::int16_t variant = -1;            // index into OpDef::variants; -1: reference
  std::vector<Rejection> rejected;      // every variant tried before the chosen one
  std::vector<std::uint32_t> guards;    // indices into env().guards() the choice relies on
};

// A parameter rewritten by a prepare step (prepare pass).
struct PrepareRecord {
  NodeId by = kNoNode;       // the op node whose chosen variant owns the prepare step
  std::int16_t variant = -1;
  TensorMeta original;       // the meta before preparation
};

class Graph {
 public:
  Graph();
  explicit Graph(sym::ShapeEnv env);
  ~Graph();
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  sym::ShapeEnv& env();
  const sym::ShapeEnv& env() const;

  // --- building (the Tracer calls these) ----------------------------------------------
  // Names of inputs, parameters, states and outputs are unique per kind (diag::Error).
  NodeId add_input(std::string name, TensorMeta meta, std::string_view module,
                   symtrace::SourceLocation loc);
  NodeId add_parameter(std::string name, TensorMeta meta, ParamInfo info, std::string_view module,
                       symtrace::SourceLocation loc);
  NodeId add_state(std::string name, TensorMeta meta, std::string_view module,
                   symtrace::SourceLocation loc);
  // `outputs` as the fake returned them, flattened into ports (see Node::list_returns).
  NodeId add_op(const op::OpDef& op, std::vector<Input> inputs, std::vector<Attr> attrs,
                std::vector<Port> outputs, std::string_view module, symtrace::SourceLocation loc,
                bool poisoned = false);
  NodeId add_output(std::string name, ValueRef value, symtrace::SourceLocation loc);

  // A configuration symbol's value, used by bind() when the caller does not give one.
  void set_config_value(std::string symbol, std::int64_t value);
  const std::map<std::string, std::int64_t, std::less<>>& config_values() const;

  // --- reading ------------------------------------------------------------------------
  std::size_t size() const;        // all nodes, dead ones included
  std::size_t live_size() const;   // nodes not removed by dead-code elimination
  std::size_t edge_count() const;
  const Node& node(NodeId id) const;
  const TensorMeta& meta(ValueRef v) const;  // diag::InternalError for an absent value
  const ParamInfo* param(NodeId id) const;   // nullptr unless a parameter
  std::string_view module(NodeId id) const;  // "model.layers.3.mlp" ("" at top level)
  std::string_view name(NodeId id) const;    // "" for op nodes
  std::string op_name(NodeId id) const;      // op nodes: the op; else the kind ("input")
  std::string location(NodeId id) const;     // "file.cpp:42"
  std::string label(NodeId id) const;        // "model.layers.3.mlp (linear)", "input x"
  std::vector<NodeId> consumers(NodeId id) const;  // live op/output nodes reading it
  std::vector<NodeId> nodes_of_kind(NodeKind k) const;
  std::optional<NodeId> find(NodeKind k, std::string_view name) const;
  std::vector<NodeId> at(std::string_view module) const;  // op nodes at exactly this path
  // An op node's arguments in schema order with tensors as their current metas
  // (defaults filled, absent optionals None): what the fake sees.
  std::vector<op::Value> args(NodeId id) const;
  // The name of the kernel a selection picked: "linear.avx512_bf16" or "linear.reference".
  std::string kernel_name(NodeId id) const;

  // --- pass results -------------------------------------------------------------------
  const std::vector<Finding>& findings() const;
  std::size_t count(diag::Severity s) const;
  void add_finding(Finding f);
  const Selection* selection(NodeId id) const;  // nullptr before select_kernels
  const PrepareRecord* prepared(NodeId param) const;
  // The node that recorded each guard of env().guards() (kNoNode: outside any node).
  NodeId guard_site(std::size_t guard_index) const;
  // Pins a variant by name for a node ("<op>.reference" pins the reference), as a user or
  // CLI override; verify checks it like any other choice. diag::Error for an unknown name.
  void force_kernel(NodeId id, std::string_view kernel);

  struct Impl;
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace symtrace::graph
