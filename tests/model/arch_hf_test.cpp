// Every architecture against Hugging Face transformers: tiny checkpoints written here from
// their configs (seeded weights, make_checkpoint_tensors), run through build_model_graph and
// exec::Plan in f32, compared with the logits transformers 5.17 computed for the same files
// in float32 (tests/model/arch_hf_logits.safetensors; docs/architectures.md says how they were
// made). The reference prompts are refdata's; tolerance max |d| <= 1e-3 as for hf-tiny-llama.
#include <cstdlib>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/checkpoint_writer.hpp>
#include <symtrace/model/hf_config.hpp>

#include "tests/model/arch_test_util.hpp"
#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using tensor::DType;
using tensor::Tensor;

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

std::string patched(const std::string& base, const char* patch) {
  boost::json::object o = boost::json::parse(base).as_object();
  const boost::json::value p = boost::json::parse(patch);
  for (const auto& kv : p.as_object()) o[kv.key()] = kv.value();
  return boost::json::serialize(o);
}

std::vector<HfCase> hf_cases() {
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

std::vector<std::vector<std::int64_t>> prompts() {
  std::vector<std::int64_t> a;
  for (std::int64_t i = 0; i < 16; ++i) a.push_back(1 + 4 * i);
  return {a, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5}};
}

// Writes the case's checkpoint (config.json + model.safetensors, weights seeded by name) to
// `dir`. SYMTRACE_ARCH_HF_DIR=path keeps them there for the transformers run.
void write_case(const HfCase& c, const std::filesystem::path& dir) {
  const ModelConfig cfg = parse_hf_config(c.config);
  write_checkpoint(dir, c.config, make_checkpoint_tensors(build_checkpoint_spec(cfg), /*seed=*/1));
  if (const char* keep = std::getenv("SYMTRACE_ARCH_HF_DIR"))
    write_checkpoint(std::filesystem::path(keep) / c.name, c.config,
                     make_checkpoint_tensors(build_checkpoint_spec(cfg), 1));
}

class ArchHf : public ::testing::TestWithParam<HfCase> {};

TEST_P(ArchHf, F32LogitsMatchTransformers) {
  const HfCase& c = GetParam();
  testing::ScratchDir dir;
  write_case(c, dir.path());
  const ModelConfig cfg = load_hf_config(dir.path());
  const CheckpointSpec spec = build_checkpoint_spec(cfg);
  const auto ckpt = SafetensorsCheckpoint::open(dir.path());
  {  // in the checkpoint's dtype, the graph's parameters are its tensors
    BuiltModel m = build_model_graph(cfg, spec);
    for (const auto& f : m.findings) EXPECT_NE(f.severity, diag::Severity::kError) << f.message;
    EXPECT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
    testing::expect_params_match(m.graph, ckpt);
  }
  BuiltModel m = build_model_graph(cfg, spec, {.compute_dtype = DType::kF32});
  ASSERT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
  exec::Plan plan = testing::load_plan(m.graph, ckpt);
  const std::vector<Tensor> in{testing::ids_tensor(prompts()), testing::positions_tensor(2, 16)};
  const Tensor got = plan.run(in, {.verify = true}, /*copy=*/true).at(0);
  const auto refs = SafetensorsFile::open(std::filesystem::path(SYMTRACE_SOURCE_DIR) /
                                          "tests/model/arch_hf_logits.safetensors");
  const Tensor want = refs.tensor(c.name);
  ASSERT_EQ(got.sizes(), want.sizes());
  const testing::Diff d = testing::diff(got, want);
  EXPECT_LE(d.max_abs, 1e-3) << "rel L2 " << d.rel_l2;
}

INSTANTIATE_TEST_SUITE_P(Transformers, ArchHf, ::testing::ValuesIn(hf_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace symtrace::model
