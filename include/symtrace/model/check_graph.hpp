// model::check_graph — the graph half of `symtrace check`: trace the config into a graph with
// symbolic B and S, bind the checkpoint's safetensors headers to the graph's parameters, run
// the passes (select, prepare, verify, dead code) and say which kernel each node got and why.
//
//   ModelConfig cfg = load_hf_config(dir);
//   auto ckpt = SafetensorsCheckpoint::open(dir);
//   CheckpointSpec spec = build_checkpoint_spec(cfg);
//   GraphCheck r = check_graph(cfg, spec, ckpt, {});
//   r.findings   // builder, binding and pass findings (diag::Diagnostic, node = module path)
//   r.kernels    // {node, kernel, reason} per live op node, in graph order
//
// Findings of the header binding: codes "shape" and "dtype" for a parameter whose header
// disagrees with the traced meta beyond what the loader adapts (unit dims, float conversion
// of unquantized weights), "unbound-tensor" (warning) for a tensor the spec expects but no
// live node reads. A parameter the checkpoint lacks is the tensor list's "missing-tensor",
// not reported again here. A reference-fallback warning (select, "applicability") on a node
// that reads no parameter becomes a note: it is about kernel coverage, not the checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/graph/graph.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/model/architecture.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/safetensors.hpp>

namespace symtrace::model {

// The kernel chosen for one op node and why.
struct KernelChoice {
  graph::NodeId id = graph::kNoNode;
  std::string node;    // module path ("model.layers.0.self_attn.q_proj"), "" at top level
  std::string op;      // "block_fp8_gemm"
  std::string kernel;  // "block_fp8_gemm.avx512_bf16" or "<op>.reference"
  std::string reason;  // its rule, proven ("N % 128 == 0, K % 128 == 0"), or why the reference
  std::vector<std::string> refused;  // "<variant>: <why>" for each faster variant refused
  bool reads_weight = false;         // a weight parameter is among its inputs (a "layer" kernel)
  bool has_choice = false;           // the op has fast variants (a choice was made)
};

// Every live op node's selection after select_kernels, in graph order.
std::vector<KernelChoice> kernel_choices(const graph::Graph& g);

// The safetensors headers against the graph's parameters (module doc above), added to the
// graph as findings on the parameter nodes (pass "bind"), so exports highlight them. Tensors
// named in `already_reported` (the tensor-list check's findings) are skipped. With `shards`
// the graph is one tensor-parallel rank's: each header is bound as the spec's shard_shape
// (`spec` built with that tp), and a tensor without a whole shard is skipped (tp-divisibility
// reports it). Returns the number of findings added.
std::size_t bind_headers(graph::Graph& g, const CheckpointSpec& spec,
                         const SafetensorsCheckpoint& ckpt,
                         const std::set<std::string, std::less<>>& already_reported = {},
                         bool shards = false);

// A graph finding as a plain diagnostic; related nodes become "related: <label>" notes.
diag::Diagnostic to_diagnostic(const graph::Graph& g, const graph::Finding& f);

// The config one tensor-parallel rank runs, as vLLM splits it: attention heads / tp, kv heads
// / tp (or one replicated head per rank when fewer than tp), intermediate sizes / tp (expert
// ones only when ep == 1: with expert parallelism ranks hold whole experts); hidden size,
// vocabulary and latent ranks whole. nullopt (and `why`) when a split is not exact.
std::optional<ModelConfig> rank_config(const ModelConfig& cfg, std::int64_t tp, std::int64_t ep = 1,
                                       std::string* why = nullptr);

struct GraphCheckOptions {
  BuildOptions build;             // compute dtype: nullopt = the checkpoint's (check's default)
  // tp > 1: trace rank_config(cfg, tp, ep) and bind each header's per-rank shard (the spec
  // passed to check_graph must be built with the same SpecOptions, for its shard shapes).
  // When the split is not exact the whole model is traced and a "tp-graph" note says why.
  std::int64_t tp = 1, ep = 1;
  graph::SelectOptions select;
  std::set<std::string, std::less<>> already_reported;  // see bind_headers
  // Called before each stage ("tracing", "binding", "passes") for a progress display.
  std::function<void(std::string_view stage)> progress;
};

struct GraphCheck {
  graph::Graph graph;
  std::vector<diag::Diagnostic> findings;  // builder, unbound tensors, then the graph's (bind, passes)
  std::vector<KernelChoice> kernels;
  bool per_rank = false;  // the graph is one tensor-parallel rank's
};

// Traces `cfg` (build_model_graph), binds the headers, runs graph::run_pipeline.
// diag::Error (code "config") only when the config cannot be traced at all.
GraphCheck check_graph(const ModelConfig& cfg, const CheckpointSpec& spec,
                       const SafetensorsCheckpoint& ckpt, const GraphCheckOptions& opt = {});

}  // namespace symtrace::model
