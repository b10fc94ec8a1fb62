// Plan::Impl — instructions, bound tensors and the arena (private to src/exec).
#pragma once

#include <map>
#include <optional>

#include <symtrace/exec/plan.hpp>
#include <symtrace/op/op_def.hpp>

namespace symtrace::exec {

struct Instr {
  graph::NodeId node = graph::kNoNode;
  const op::OpDef* def = nullptr;
  const op::KernelFn* kernel = nullptr;
  std::string kernel_name;
  bool view = false;                   // outputs precomputed at bind; run only to verify
  std::vector<op::Value> sym_args;     // schema order, tensors as metas, sizes symbolic
  std::vector<op::Value> args;         // bound: tensors, concrete sizes
  std::uint32_t out_slot = 0;          // value slot of port 0
  std::uint16_t n_out = 0;
  // Hoisted: every tensor input is a parameter or hoisted (directly or through views) and
  // no size, stride or int argument involves a symbol bound per run, so the outputs are
  // computed once into `held` (outside the arena) and reused until `key` changes or a
  // parameter is set again.
  bool hoisted = false;
  bool fresh = false;                  // held outputs are current
  int threads = 0;                     // the RunOptions::threads they were computed with
  std::vector<Tensor> held;            // by port
  std::vector<std::int64_t> key;       // bound args: int values, tensor addresses and layouts
  std::vector<std::size_t> feeds;      // hoisted instructions whose outputs this one reads
};

struct Plan::Impl {
  const graph::Graph* g = nullptr;
  graph::PlanOptions options;
  graph::MemoryPlan mp;
  std::vector<Instr> instrs;
  std::vector<std::int32_t> instr_of;        // by node: index into instrs, or -1
  std::vector<NodeTiming> timings;
  std::vector<graph::NodeId> inputs, outputs, params, states;

  std::map<graph::NodeId, Tensor> raw;       // parameters as given
  std::map<graph::NodeId, Tensor> prepared;  // parameters after their prepare step
  bool prepared_current = false;             // prepared from the current raw tensors

  SizeMap values;                            // the current binding, by symbol name
  std::optional<sym::Bindings> bindings;
  std::vector<Tensor> vals;                  // by value slot (MemoryPlan::port_base)
  std::shared_ptr<tensor::Storage> arena;
  std::int64_t arena_size = 0;
  std::vector<std::int64_t> state_layout;    // evaluated (offset, bytes) of every state

  std::shared_ptr<tensor::Storage> scratch;  // kernel workspaces, grown on demand

  std::uint32_t slot(graph::ValueRef v) const { return mp.port_base[v.node] + v.port; }
  std::int64_t eval(const sym::SymInt& e) const { return g->env().evaluate(e, *bindings); }
  std::int64_t eval(sym::Expr e) const { return g->env().evaluate(e, *bindings); }

  void compile();
  void bind(const SizeMap& sizes);
  void check_and_prepare_params();
  void make_tensors();
  void bind_instructions();
  void hold_hoisted();
};

// Same sizes, dtype and strides (the stride of a size-1 dim is free, as in PyTorch).
bool same_layout(const Tensor& a, const tensor::Shape& sizes, const tensor::Shape& strides,
                 tensor::DType dtype);

[[noreturn]] void exec_error(const graph::Graph& g, graph::NodeId id, std::string code,
                             std::string message, std::string expected = {},
                             std::string got = {});

}  // namespace symtrace::exec
