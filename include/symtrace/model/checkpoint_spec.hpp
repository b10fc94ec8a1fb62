// model::CheckpointSpec — every tensor a checkpoint must hold, derived from its config.
//
//   ModelConfig cfg = load_hf_config(dir);
//   CheckpointSpec spec = build_checkpoint_spec(cfg);          // cfg.quant decides the format
//   const ExpectedTensor* t = spec.find("model.layers.0.self_attn.k_proj.weight_scale_inv");
//   t->symbolic_shape()   // "[cdiv(N, 128), cdiv(K, 128)]"
//   t->dims[0].expr       // "cdiv(config.num_key_value_heads * config.head_dim, 128)"
//   auto findings = check_tensor_list(spec, SafetensorsCheckpoint::open(dir));
//
// Names, dtypes and shapes follow OPS.md §12 (formats), §3 (scale shapes), §9.4 (experts) and
// §12.4 (fused modules, ignore lists, TP). Findings of the spec itself (ignore lists that do
// not map onto fused modules, TP splits that are not exact or break the block grid) are in
// `findings`; comparing with real files is check_tensor_list / scan_scales.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/quant_config.hpp>
#include <symtrace/tensor/dtype.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::model {

class SafetensorsCheckpoint;

enum class TensorRole : std::uint8_t {
  kWeight,
  kWeightScale,
  kInputScale,
  kZeroPoint,
  kGlobalScale,
  kBias,
  kNorm,
  kEmbedding,
  kOther,  // e.g. pack-quantized "weight_shape"
};
std::string_view role_name(TensorRole r);  // "weight", "weight_scale", ...

// How tensor parallelism splits a module (vLLM's linear kinds).
enum class Parallel : std::uint8_t { kReplicated, kColumn, kRow };
std::string_view parallel_name(Parallel p);

// One dimension: its value, its letter form ("N", "cdiv(K, 128)") and the same over config
// keys ("config.num_key_value_heads * config.head_dim"), from which the tracer makes symbols.
struct SpecDim {
  std::int64_t value = 0;
  std::string symbol;
  std::string expr;
};

struct ExpectedTensor {
  std::string name;
  TensorRole role = TensorRole::kWeight;
  tensor::DType dtype = tensor::DType::kBF16;
  std::vector<tensor::DType> also_dtypes;  // other dtypes writers use (loaded with conversion)
  std::vector<SpecDim> dims;
  std::vector<std::string> notes;  // "N = 128 from config.num_key_value_heads * config.head_dim"
  std::vector<std::vector<std::int64_t>> also_shapes;  // accepted variants ([] for [1] scales)
  std::string adapter;  // what the loader does to reach the kernel's layout, when it must
  std::string module;        // checkpoint (unfused) module: "model.layers.0.self_attn.k_proj"
  std::string fused_module;  // "model.layers.0.self_attn.qkv_proj", "…mlp.experts"; may be empty
  int partition = -1;        // index of `module` inside fused_module
  std::int64_t expert = -1;
  bool quantized = false;    // belongs to a quantized linear (weight and its scales)
  std::optional<Strategy> granularity;          // of a scale (and of a quantized weight)
  std::int64_t block_n = 0, block_k = 0;        // kBlock: bn×bk; kGroup / kTensorGroup: block_k = g
  tensor::ScaleFormat scale_fmt = tensor::ScaleFormat::kNone;
  bool scale_is_divisor = false;  // compressed-tensors nvfp4 weight_global_scale (OPS.md §10)
  bool optional = false;          // e.g. Quark zero points of symmetric schemes
  Parallel parallel = Parallel::kReplicated;
  int split_dim = -1;                      // dim divided under TP (-1: not split)
  std::vector<std::int64_t> shard_shape;   // per-rank shape for SpecOptions::tp (when exact)

  std::vector<std::int64_t> shape() const;
  std::string shape_str() const;       // "[128, 256]"
  std::string symbolic_shape() const;  // "[N, K]"
  bool accepts_dtype(tensor::DType d) const;
  bool accepts_shape(const std::vector<std::int64_t>& s) const;
};

// One linear module of the checkpoint (unfused name), as the checker binds it.
struct LinearSpec {
  std::string name;
  std::string fused_module;
  int partition = -1;
  std::int64_t expert = -1;
  SpecDim N, K;
  Parallel parallel = Parallel::kReplicated;
  bool quantized = false;
  bool ignored = false;      // matched by the ignore list (stays unquantized)
  std::string scheme;        // QuantScheme::name, empty when unquantized
  std::optional<QuantArgs> weights, input_activations;
};

struct SpecOptions {
  std::int64_t tp = 1;  // tensor-parallel degree
  std::int64_t ep = 1;  // expert-parallel degree
};

struct CheckpointSpec {
  std::vector<ExpectedTensor> tensors;  // sorted by name
  std::vector<LinearSpec> linears;      // in model order
  // Modules whose tensors are not modelled (unsupported scheme); their tensors are neither
  // expected nor unexpected.
  std::vector<std::string> unchecked_modules;
  std::vector<diag::Diagnostic> findings;

  const ExpectedTensor* find(std::string_view name) const;
  const LinearSpec* linear(std::string_view module) const;
  bool unchecked(std::string_view tensor_name) const;
};

// The expected tensors of `cfg`, quantized per `quant` (default: cfg.quant).
CheckpointSpec build_checkpoint_spec(const ModelConfig& cfg, const QuantConfig* quant = nullptr,
                                     SpecOptions opt = {});

// Names, dtypes and shapes of a checkpoint against the spec: codes missing-tensor,
// unexpected-tensor, dtype, shape, scale-layout (a scale whose shape is another layout of
// the same numbers, e.g. [N] where the format needs [N, 1], or a transposed block grid),
// plus notes for accepted variants that a loader adapts (layout-adapter).
std::vector<diag::Diagnostic> check_tensor_list(const CheckpointSpec& spec,
                                                const SafetensorsCheckpoint& ckpt);

struct ScaleScanOptions {
  bool require_pow2 = false;  // scale_fmt "ue8m0": non-power-of-two scales are warnings
  std::size_t max_listed = 4; // values quoted per tensor
};

// Reads every scale tensor of the spec present in the checkpoint and reports NaN, inf, zero,
// negative (and, with require_pow2, non-power-of-two) values: code "bad-scale", naming the
// tensor, the count and the first offending indices. Zero points and activation scales of
// all-zero rows are not scales in this sense and are skipped.
std::vector<diag::Diagnostic> scan_scales(const CheckpointSpec& spec,
                                          const SafetensorsCheckpoint& ckpt,
                                          ScaleScanOptions opt = {});

}  // namespace symtrace::model
