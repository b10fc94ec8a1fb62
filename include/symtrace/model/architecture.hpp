// model::build_model_graph — traces a Hugging Face architecture from its config into a Graph
// whose parameters carry the checkpoint's own tensor names, so the graph that `check` verifies
// is the graph that `run` executes.
//
//   ModelConfig cfg = load_hf_config(dir);
//   CheckpointSpec spec = build_checkpoint_spec(cfg, cfg.quant ? &*cfg.quant : nullptr, {.tp = 1});
//   BuiltModel m = build_model_graph(cfg, spec, {.kv_cache = true});
//   graph::run_pipeline(m.graph);                 // select, prepare, verify, dead code
//
// Graph interface (every architecture):
//   inputs   "input_ids" [B, S] i64, "positions" [B, S] i64 (absolute positions: past + s)
//   symbols  B, S (input sizes), and with kv_cache "past" (tokens already cached, >= 0) and
//            "T" (cache capacity, a config-like symbol bound by the runner; rule past + S <= T)
//   states   with kv_cache, per attention layer "<layer>.self_attn.k_cache" / ".v_cache",
//            [B, T, H_kv, D] in the compute dtype (MLA: the expanded per-head k and v)
//   output   "logits" [B, S, V] f32
// Config dims are Tracer::config symbols named after the config key (H = hidden_size, ...), with
// their provenance ("config.hidden_size = 64"), so findings say where a size came from.
// Every parameter is a checkpoint tensor under its checkpoint name, shape and dtype (the
// compute dtype for unquantized tensors when one is forced); docs/architectures.md lists the
// symbols, the layers and the op each linear format runs on.
#pragma once

#include <optional>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/graph/graph.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>

namespace symtrace::model {

struct BuildOptions {
  // Dtype of activations and of every unquantized weight as declared in the graph. nullopt:
  // the checkpoint's dtype (what `check` wants). `run` may pick f32 and convert bf16 weights
  // at load.
  std::optional<tensor::DType> compute_dtype;
  bool kv_cache = false;  // states + cached attention (run); plain causal attention otherwise
  // false: no activation quantization (debugging, --dequantize). fp8-block linears run
  // block_fp8_gemm with act_quant "none" (the dequantized-weights product); fp8/int8 W8A8
  // linears run `dequantize` + `linear`. Parameters and their names do not change.
  bool quantize_activations = true;
  // Routed experts whose linears are int8 W8A8 (dynamic per-token, symmetric, per-channel) run
  // as one int8_moe_experts call over expert weights stacked at load (parameters
  // `<experts>.w13_weight` [E, 2I, H], `.w13_weight_scale` [E, 2I, 1], `.w2_weight` [E, H, I],
  // `.w2_weight_scale` [E, H, 1], ParamInfo::stacked_from naming the checkpoint tensors),
  // instead of densely, expert by expert (`run`; `check` validates the per-expert tensors).
  bool fused_experts = false;
};

struct BuiltModel {
  graph::Graph graph;
  std::vector<diag::Diagnostic> findings;  // what the builder could not express (unsupported)
};

// Throws diag::Error (code "config") only for a config it cannot trace at all; everything a
// checkpoint gets wrong becomes a finding on the graph when its passes run.
BuiltModel build_model_graph(const ModelConfig& cfg, const CheckpointSpec& spec, const BuildOptions& opt = {});

}  // namespace symtrace::model
