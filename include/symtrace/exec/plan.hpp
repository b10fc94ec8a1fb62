// exec::Plan — runs a verified graph on the chosen kernels from one planned arena.
//
//   graph::run_pipeline(g);                          // select, prepare, verify, dead code
//   exec::Plan plan(g);                              // instruction list + memory plan
//   plan.set_param("layers.0.mlp.up.weight", w);     // prepare steps run at the first bind
//   plan.bind({{"B", 2}, {"S", 7}});                 // guards checked, sizes evaluated once
//   plan.input("x").copy_from(x);                    // or plan.run({x}) to copy and bind
//   plan.run({.verify = true});                      // real outputs vs fake predictions
//   const Tensor& y = plan.output("y");              // a view into the arena
//
// bind() evaluates every size, stride and buffer offset once and (re)allocates the arena
// only when it must grow; run() then calls the kernels with their arguments prepared in
// advance — the arena is never allocated on the hot path, and kernels get their outputs
// from an op::Allocator that hands out the planned slices (and rejects any other size).
// Persistent states (KV caches) sit at the start of the arena and keep their contents
// across runs and rebinds as long as their own sizes do not change. Constant nodes —
// kernels whose tensor inputs are parameters or other constants and whose sizes and int
// arguments involve only config symbols (rope_cos_sin [T, rd]) — are hoisted: computed by the
// first run into storage of their own and reused until a parameter is set again or a bind
// changes their arguments. The graph must outlive the plan.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/graph/graph.hpp>
#include <symtrace/graph/memory_plan.hpp>
#include <symtrace/tensor/tensor.hpp>

namespace symtrace::exec {

using tensor::Tensor;
using SizeMap = std::map<std::string, std::int64_t, std::less<>>;

struct RunOptions {
  // Compare every real output (sizes, strides, dtype, where it lives) with the fake
  // prediction; throw diag::Error (code "fake-mismatch") at the first divergence, naming
  // the node. View ops, otherwise precomputed, run their kernels in this mode.
  bool verify = false;
  bool timings = false;  // per-node wall time, see timings()
  int threads = 0;       // KernelContext::threads (0: OpenMP default)
};

struct NodeTiming {
  graph::NodeId node = graph::kNoNode;
  std::string label;   // "model.layers.0.mlp (linear)"
  std::string kernel;  // "linear.avx512_bf16"
  std::int64_t ns = 0;  // last run
  // Computed once and reused (see Plan): ns is 0 on the runs that reuse its outputs.
  bool hoisted = false;
};

class Plan {
 public:
  // The graph must have no error findings and a kernel for every live op node (run
  // graph::run_pipeline first); diag::Error (code "plan") otherwise. Unless options.fixed
  // says otherwise, memory is planned with the graph's config values (see PlanOptions).
  explicit Plan(const graph::Graph& g, const graph::PlanOptions& options = {});
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  const graph::Graph& graph() const;
  const graph::MemoryPlan& memory() const;

  // A parameter's real tensor, in its checkpoint (pre-prepare) layout. Checked against the
  // parameter's meta at bind; the chosen variants' prepare steps run on it once.
  void set_param(std::string_view name, Tensor t);

  // Symbol values by name. Configuration symbols default to their traced values; symbols
  // bound before keep their values unless given again. Checks every range, divisibility
  // fact and guard (diag::Error code "bind" naming the guard, its reason and the node that
  // recorded it), the parameters, then evaluates all sizes and offsets.
  void bind(const SizeMap& sizes);
  // Reads the symbols of the graph inputs' sizes from real tensors (in graph input order)
  // and binds them together with the other symbols' current values.
  void bind_inputs(std::span<const Tensor> inputs);
  bool bound() const;
  std::int64_t value(std::string_view symbol) const;  // a bound symbol's value
  std::size_t arena_bytes() const;                    // under the current binding

  Tensor& input(std::string_view name);  // the arena slot of a graph input
  Tensor& state(std::string_view name);  // a persistent state
  const Tensor& output(std::string_view name) const;

  // Runs every instruction. Inputs must have been written (input()) after bind.
  void run(const RunOptions& options = {});
  // Copies `inputs` (graph input order) into their slots, rebinding first when their
  // sizes differ from the current binding, runs, and returns the outputs in graph output
  // order: views into the arena (valid until the next run or bind) or, with copy, clones.
  std::vector<Tensor> run(std::span<const Tensor> inputs, const RunOptions& options = {},
                          bool copy = false);

  const std::vector<NodeTiming>& timings() const;  // live op nodes in run order
  std::size_t instructions() const;
  std::size_t hoisted() const;  // instructions computed once (constant hoisting)

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace symtrace::exec
