// The architecture cases compared with transformers (arch_hf_test.cpp, arch_kv_cache_test.cpp):
// configs, the reference prompts and the logits transformers 5.17 computed for them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include <symtrace/model/checkpoint_writer.hpp>
#include <symtrace/model/safetensors.hpp>

namespace symtrace::model::testing {

constexpr const char* kDense = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "bfloat16",
  "vocab_size": 128, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
  "max_position_embeddings": 256, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
  "attention_bias": false, "mlp_bias": false, "hidden_act": "silu", "tie_word_embeddings": false})";

struct HfCase {
  const char* name;
  std::string config;
};

inline std::string patched(const std::string& base, const char* patch) {
  boost::json::object o = boost::json::parse(base).as_object();
  const boost::json::value p = boost::json::parse(patch);
  for (const auto& kv : p.as_object()) o[kv.key()] = kv.value();
  return boost::json::serialize(o);
}

inline std::vector<HfCase> hf_cases() {
  return {
      {"llama3_rope", patched(kDense, R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0,
          "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8},
          "rope_theta": 500000.0})")},
      {"qwen2_bias", patched(kDense, R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
          "use_sliding_window": false, "tie_word_embeddings": true})")},
      {"qwen3_qk_norm", patched(kDense, R"({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
          "head_dim": 64, "use_sliding_window": false, "tie_word_embeddings": true})")},
      {"mistral_window", patched(kDense, R"({"architectures": ["MistralForCausalLM"],
          "model_type": "mistral", "sliding_window": 5})")},
      {"qwen3_moe", example_config("qwen3-moe-bf16")},
      {"mixtral", example_config("mixtral-bf16")},
      {"deepseek_v3", patched(example_config("deepseek-v3-bf16"), R"({"num_hidden_layers": 3})")},
      {"deepseek_v3_no_q_lora", patched(example_config("deepseek-v3-bf16"),
          R"({"q_lora_rank": null, "n_group": 1, "topk_group": 1, "n_shared_experts": 2,
              "norm_topk_prob": false})")},
  };
}

inline std::vector<std::vector<std::int64_t>> hf_prompts() {
  std::vector<std::int64_t> a;
  for (std::int64_t i = 0; i < 16; ++i) a.push_back(1 + 4 * i);
  return {a, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5}};
}

inline HfCase hf_case(const std::string& name) {
  for (HfCase& c : hf_cases())
    if (c.name == name) return c;
  throw std::out_of_range(name);
}

// [2, 16, V] f32 logits of case `name` (tests/model/arch_hf_logits.safetensors).
inline tensor::Tensor hf_logits(const std::string& name) {
  return SafetensorsFile::open(std::filesystem::path(SYMTRACE_SOURCE_DIR) /
                               "tests/model/arch_hf_logits.safetensors")
      .tensor(name);
}

}  // namespace symtrace::model::testing
