// model::ModelConfig — a Hugging Face config.json, typed, with the key every dim came from.
//
//   ModelConfig c = load_hf_config("refdata/hf-tiny-llama");   // dir or config.json path
//   c.hidden_size.value   // 256
//   c.hidden_size.source  // "config.hidden_size": the tracer names its symbol after it
//   c.head_dim.source     // "config.head_dim" (or "config.hidden_size / config.num_attention_heads")
//
// A missing required field, a wrong type or a zero/negative dim is a diag::Error naming the
// key (codes config-missing, config-type, config-value, config-architecture, config-json).
// Defaults that transformers would apply silently are applied and listed in `findings`
// as notes (code config-default).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/quant_config.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::model {

enum class Architecture : std::uint8_t {
  kLlama,
  kQwen2,
  kQwen3,
  kMistral,
  kMixtral,
  kQwen3Moe,
  kDeepseekV3,
};
std::string_view architecture_name(Architecture a);  // "LlamaForCausalLM", ...
std::optional<Architecture> architecture_from_name(std::string_view s);

// A config value with its provenance: the key it was read from ("config.hidden_size"), an
// expression over keys when derived, or "default(...)" when transformers' default applied.
struct ConfigDim {
  std::int64_t value = 0;
  std::string source;
};

struct RopeConfig {
  std::string type = "default";  // default | linear | dynamic | llama3 | yarn | (other: finding)
  std::string source;            // "config.rope_parameters", "config.rope_scaling", "config"
  double theta = 10000.0;
  std::optional<double> factor;
  std::optional<double> low_freq_factor, high_freq_factor;           // llama3
  std::optional<double> beta_fast, beta_slow, mscale, mscale_all_dim;  // yarn
  std::optional<double> attention_factor;                             // yarn
  std::optional<std::int64_t> original_max_position_embeddings;      // llama3, yarn
  double partial_rotary_factor = 1.0;
  bool interleaved = false;  // gptj style (DeepSeek-V3); rotate-half (neox) otherwise
};

struct MoeConfig {
  ConfigDim num_experts;       // num_local_experts | num_experts | n_routed_experts
  ConfigDim top_k;             // num_experts_per_tok
  ConfigDim intermediate_size; // moe_intermediate_size (Mixtral: intermediate_size)
  bool norm_topk_prob = true;  // Mixtral always renormalizes
  std::int64_t decoder_sparse_step = 1;          // Qwen3-MoE
  std::vector<std::int64_t> mlp_only_layers;     // Qwen3-MoE
  // DeepSeek-V3.
  std::int64_t first_k_dense_replace = 0;
  std::int64_t moe_layer_freq = 1;
  std::optional<ConfigDim> n_shared_experts;
  double routed_scaling_factor = 1.0;
  std::int64_t n_group = 1;
  std::int64_t topk_group = 1;
  std::string topk_method;     // "noaux_tc", "greedy", ...
  std::string scoring_func;    // "sigmoid" | "softmax"
};

// DeepSeek-V3 multi-head latent attention.
struct MlaConfig {
  std::optional<ConfigDim> q_lora_rank;  // null: a plain q_proj
  ConfigDim kv_lora_rank;
  ConfigDim qk_nope_head_dim;
  ConfigDim qk_rope_head_dim;
  ConfigDim v_head_dim;
  std::int64_t qk_head_dim() const { return qk_nope_head_dim.value + qk_rope_head_dim.value; }
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  std::string model_type;  // "llama", "qwen3_moe", ...
  std::string file;        // where it was read, for messages

  ConfigDim vocab_size, hidden_size, intermediate_size, num_hidden_layers;
  ConfigDim num_attention_heads, num_key_value_heads, head_dim, max_position_embeddings;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v (and o for Llama) carry a bias
  bool o_proj_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;         // Qwen3: per-head q_norm / k_norm before rotary
  std::optional<std::int64_t> sliding_window;
  std::optional<tensor::DType> dtype;  // torch_dtype / dtype; nullopt when absent or "auto"
  std::string dtype_key;               // "config.dtype" or "config.torch_dtype"
  RopeConfig rope;
  std::optional<MoeConfig> moe;
  std::optional<MlaConfig> mla;
  std::int64_t num_nextn_predict_layers = 0;  // DeepSeek MTP layers stored after the last layer
  std::optional<QuantConfig> quant;           // quantization_config (or compression_config)
  std::vector<diag::Diagnostic> findings;     // defaults applied, ignored settings

  bool is_moe() const { return moe.has_value(); }
  // Whether decoder layer `layer` has routed experts (Qwen3-MoE sparse step and mlp_only
  // layers, DeepSeek first_k_dense_replace and moe_layer_freq; Mixtral: every layer).
  bool is_moe_layer(std::int64_t layer) const;
  // The element type of unquantized weights (dtype, default bf16).
  tensor::DType weight_dtype() const { return dtype.value_or(tensor::DType::kBF16); }
};

// Parses config.json text. `file` names it in messages.
ModelConfig parse_hf_config(std::string_view json_text, std::string_view file = "config.json");
// Reads DIR/config.json (or the given file).
ModelConfig load_hf_config(const std::filesystem::path& dir_or_file);

}  // namespace symtrace::model
