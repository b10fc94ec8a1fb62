// config.json parsing: the refdata configs, every architecture, defaults, bad configs.
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/model/hf_config.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::count_code;
using testing::expect_error;
using testing::refdata;
using tensor::DType;

// The refdata Llama config with `patch` merged in (null values delete keys).
std::string llama_with(const std::string& patch) {
  std::ifstream in(refdata() / "hf-tiny-llama" / "config.json");
  std::stringstream ss;
  ss << in.rdbuf();
  boost::json::object o = boost::json::parse(ss.str()).as_object();
  const boost::json::value p = boost::json::parse(patch);
  for (const auto& kv : p.as_object()) {
    if (kv.value().is_null()) o.erase(kv.key());
    else o[kv.key()] = kv.value();
  }
  return boost::json::serialize(o);
}

TEST(HfConfig, ParsesRefdataLlama) {
  const ModelConfig c = load_hf_config(refdata() / "hf-tiny-llama");
  EXPECT_EQ(c.arch, Architecture::kLlama);
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.hidden_size.value, 256);
  EXPECT_EQ(c.hidden_size.source, "config.hidden_size");
  EXPECT_EQ(c.intermediate_size.value, 512);
  EXPECT_EQ(c.num_hidden_layers.value, 2);
  EXPECT_EQ(c.num_attention_heads.value, 4);
  EXPECT_EQ(c.num_key_value_heads.value, 2);
  EXPECT_EQ(c.head_dim.value, 64);
  EXPECT_EQ(c.head_dim.source, "config.head_dim");
  EXPECT_EQ(c.vocab_size.value, 512);
  EXPECT_EQ(c.max_position_embeddings.value, 256);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.dtype, DType::kBF16);
  EXPECT_EQ(c.dtype_key, "config.dtype");
  EXPECT_EQ(c.rope.type, "default");
  EXPECT_EQ(c.rope.source, "config.rope_parameters");
  EXPECT_DOUBLE_EQ(c.rope.theta, 10000.0);
  EXPECT_FALSE(c.rope.interleaved);
  EXPECT_FALSE(c.quant.has_value());
  EXPECT_FALSE(c.is_moe());
  EXPECT_TRUE(c.findings.empty());
}

TEST(HfConfig, ParsesRefdataFp8Quantization) {
  const ModelConfig c = load_hf_config(refdata() / "hf-tiny-llama-fp8" / "config.json");
  ASSERT_TRUE(c.quant.has_value());
  EXPECT_EQ(c.quant->method, QuantMethod::kFp8);
  EXPECT_EQ(c.quant->block_n, 128);
  EXPECT_EQ(c.quant->block_k, 128);
  EXPECT_EQ(c.quant->activation_scheme, "dynamic");
  EXPECT_EQ(c.quant->scale_fmt, "float");
  EXPECT_EQ(c.quant->key, "config.quantization_config");
  // dequantize: false and the nulls are known fields: no unknown-field findings.
  EXPECT_EQ(count_code(c.quant->findings, "quant-unknown-field"), 0);
}

TEST(HfConfig, HeadDimDerivedWhenAbsent) {
  const ModelConfig c = parse_hf_config(llama_with(R"({"head_dim": null})"));
  EXPECT_EQ(c.head_dim.value, 64);
  EXPECT_EQ(c.head_dim.source, "config.hidden_size / config.num_attention_heads");
  expect_error([] { parse_hf_config(llama_with(R"({"head_dim": null, "num_attention_heads": 3})")); },
               "config-value");
}

TEST(HfConfig, DefaultsAreAppliedAndListed) {
  const ModelConfig c = parse_hf_config(
      llama_with(R"({"num_key_value_heads": null, "rms_norm_eps": null, "max_position_embeddings": null})"));
  EXPECT_EQ(c.num_key_value_heads.value, 4);
  EXPECT_EQ(c.max_position_embeddings.value, 2048);
  EXPECT_EQ(count_code(c.findings, "config-default"), 3);
}

TEST(HfConfig, OlderRopeKeysAndLlama3Scaling) {
  const ModelConfig c = parse_hf_config(llama_with(
      R"({"rope_parameters": null, "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3",
          "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 8192}})"));
  EXPECT_EQ(c.rope.type, "llama3");
  EXPECT_EQ(c.rope.source, "config.rope_scaling");
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.factor, 8.0);
  EXPECT_EQ(c.rope.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope.original_max_position_embeddings, 8192);
  const auto d = expect_error(
      [] {
        parse_hf_config(llama_with(R"({"rope_parameters": {"rope_type": "llama3", "rope_theta": 1e4,
            "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})"));
      },
      "config-missing");
  EXPECT_EQ(d.argument, "config.rope_parameters.factor");
}

TEST(HfConfig, RopeParametersOfTransformers5WithYarnAndLinear) {
  const ModelConfig y = parse_hf_config(llama_with(
      R"({"rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0}})"));
  EXPECT_EQ(y.rope.type, "yarn");
  EXPECT_EQ(y.rope.beta_fast, 32.0);
  EXPECT_EQ(y.rope.beta_slow, 1.0);
  EXPECT_EQ(y.rope.original_max_position_embeddings, 256);  // max_position_embeddings
  const ModelConfig l = parse_hf_config(llama_with(
      R"({"rope_parameters": {"type": "linear", "rope_theta": 10000.0, "factor": 2.0}})"));
  EXPECT_EQ(l.rope.type, "linear");
  EXPECT_EQ(l.rope.factor, 2.0);
  const ModelConfig u = parse_hf_config(llama_with(
      R"({"rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0}})"));
  EXPECT_EQ(count_code(u.findings, "config-unsupported"), 1);
  expect_error([] { parse_hf_config(llama_with(R"({"rope_parameters": {"rope_type": "linear", "factor": -2}})")); },
               "config-value");
}

TEST(HfConfig, MissingRequiredFieldNamesIt) {
  for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                          "intermediate_size"}) {
    const auto d = expect_error(
        [&] { parse_hf_config(llama_with(fmt::format(R"({{"{}": null}})", key)), "dir/config.json"); },
        "config-missing");
    EXPECT_EQ(d.argument, std::string("config.") + key);
    EXPECT_NE(d.message.find("dir/config.json"), std::string::npos) << d.message;
  }
}

TEST(HfConfig, ZeroOrNegativeDimensionIsAnError) {
  for (const char* patch : {R"({"hidden_size": 0})", R"({"num_hidden_layers": -2})",
                            R"({"head_dim": 0})", R"({"num_key_value_heads": -1})",
                            R"({"vocab_size": 0})"}) {
    const auto d = expect_error([&] { parse_hf_config(llama_with(patch)); }, "config-value");
    EXPECT_EQ(d.expected, "> 0") << patch;
  }
}

TEST(HfConfig, WrongTypesAreErrors) {
  expect_error([] { parse_hf_config(llama_with(R"({"hidden_size": "256"})")); }, "config-type");
  expect_error([] { parse_hf_config(llama_with(R"({"hidden_size": 256.5})")); }, "config-type");
  expect_error([] { parse_hf_config(llama_with(R"({"tie_word_embeddings": 1})")); }, "config-type");
  expect_error([] { parse_hf_config(llama_with(R"({"rms_norm_eps": 0})")); }, "config-value");
  expect_error([] { parse_hf_config(llama_with(R"({"dtype": "int8"})")); }, "config-value");
  expect_error([] { parse_hf_config("[1, 2]"); }, "config-type");
  expect_error([] { parse_hf_config("{\"hidden_size\": "); }, "config-json");
  // A whole-number double is what some writers emit for integers.
  EXPECT_EQ(parse_hf_config(llama_with(R"({"hidden_size": 256.0})")).hidden_size.value, 256);
}

TEST(HfConfig, GqaHeadsMustDivide) {
  const auto d = expect_error([] { parse_hf_config(llama_with(R"({"num_key_value_heads": 3})")); },
                              "config-value");
  EXPECT_EQ(d.argument, "config.num_key_value_heads");
}

TEST(HfConfig, UnknownArchitectureIsAnError) {
  const auto d = expect_error(
      [] { parse_hf_config(llama_with(R"({"architectures": ["GPT2LMHeadModel"]})")); },
      "config-architecture");
  EXPECT_NE(d.expected.find("DeepseekV3ForCausalLM"), std::string::npos);
  // Without architectures the model_type decides.
  EXPECT_EQ(parse_hf_config(llama_with(R"({"architectures": null, "model_type": "qwen3"})")).arch,
            Architecture::kQwen3);
}

TEST(HfConfig, DenseArchitecturesBiasAndNorms) {
  const ModelConfig q2 = parse_hf_config(llama_with(R"({"architectures": ["Qwen2ForCausalLM"]})"));
  EXPECT_TRUE(q2.attention_bias);
  EXPECT_FALSE(q2.o_proj_bias);
  const ModelConfig q3 = parse_hf_config(llama_with(R"({"architectures": ["Qwen3ForCausalLM"]})"));
  EXPECT_TRUE(q3.qk_norm);
  const ModelConfig mi = parse_hf_config(
      llama_with(R"({"architectures": ["MistralForCausalLM"], "sliding_window": 4096})"));
  EXPECT_EQ(mi.sliding_window, 4096);
  const ModelConfig qs = parse_hf_config(llama_with(
      R"({"architectures": ["Qwen2ForCausalLM"], "sliding_window": 4096, "use_sliding_window": false})"));
  EXPECT_FALSE(qs.sliding_window.has_value());
  const ModelConfig ll = parse_hf_config(llama_with(R"({"attention_bias": true, "mlp_bias": true})"));
  EXPECT_TRUE(ll.attention_bias && ll.o_proj_bias && ll.mlp_bias);
}

TEST(HfConfig, Qwen3MoeSparseLayers) {
  const ModelConfig c = parse_hf_config(llama_with(
      R"({"architectures": ["Qwen3MoeForCausalLM"], "num_hidden_layers": 4, "num_experts": 8,
          "num_experts_per_tok": 2, "moe_intermediate_size": 128, "norm_topk_prob": true,
          "decoder_sparse_step": 2, "mlp_only_layers": [3]})"));
  ASSERT_TRUE(c.moe.has_value());
  EXPECT_EQ(c.moe->num_experts.value, 8);
  EXPECT_EQ(c.moe->num_experts.source, "config.num_experts");
  EXPECT_EQ(c.moe->top_k.value, 2);
  EXPECT_EQ(c.moe->intermediate_size.source, "config.moe_intermediate_size");
  EXPECT_TRUE(c.moe->norm_topk_prob);
  // (layer + 1) % decoder_sparse_step == 0 and not in mlp_only_layers.
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_TRUE(c.is_moe_layer(1));
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_FALSE(c.is_moe_layer(3));
  expect_error([] {
    parse_hf_config(llama_with(R"({"architectures": ["Qwen3MoeForCausalLM"], "num_experts": 2,
                                   "num_experts_per_tok": 3, "moe_intermediate_size": 8})"));
  }, "config-value");
  const auto d = expect_error([] {
    parse_hf_config(llama_with(R"({"architectures": ["Qwen3MoeForCausalLM"], "num_experts": 4,
                                   "moe_intermediate_size": 8})"));
  }, "config-missing");
  EXPECT_EQ(d.argument, "config.num_experts_per_tok");
}

TEST(HfConfig, MixtralExperts) {
  const ModelConfig c = parse_hf_config(llama_with(
      R"({"architectures": ["MixtralForCausalLM"], "num_local_experts": 8, "num_experts_per_tok": 2})"));
  ASSERT_TRUE(c.moe.has_value());
  EXPECT_EQ(c.moe->num_experts.source, "config.num_local_experts");
  EXPECT_EQ(c.moe->intermediate_size.source, "config.intermediate_size");
  EXPECT_TRUE(c.moe->norm_topk_prob);
  EXPECT_TRUE(c.is_moe_layer(0) && c.is_moe_layer(1));
}

constexpr const char* kDeepseek = R"({"architectures": ["DeepseekV3ForCausalLM"],
    "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": null, "q_lora_rank": 128,
    "kv_lora_rank": 128, "qk_nope_head_dim": 64, "qk_rope_head_dim": 64, "v_head_dim": 64,
    "n_routed_experts": 8, "num_experts_per_tok": 2, "n_group": 4, "topk_group": 2,
    "moe_intermediate_size": 128, "n_shared_experts": 1, "first_k_dense_replace": 1,
    "routed_scaling_factor": 2.5, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
    "norm_topk_prob": true, "num_nextn_predict_layers": 1})";

TEST(HfConfig, DeepseekV3LatentAttentionAndRouting) {
  const ModelConfig c = parse_hf_config(llama_with(kDeepseek));
  ASSERT_TRUE(c.mla.has_value());
  EXPECT_EQ(c.mla->q_lora_rank->value, 128);
  EXPECT_EQ(c.mla->kv_lora_rank.source, "config.kv_lora_rank");
  EXPECT_EQ(c.mla->qk_head_dim(), 128);
  EXPECT_EQ(c.head_dim.value, 64);  // transformers sets head_dim = qk_rope_head_dim
  EXPECT_TRUE(c.rope.interleaved);
  ASSERT_TRUE(c.moe.has_value());
  EXPECT_EQ(c.moe->num_experts.source, "config.n_routed_experts");
  EXPECT_EQ(c.moe->n_shared_experts->value, 1);
  EXPECT_EQ(c.moe->n_group, 4);
  EXPECT_EQ(c.moe->topk_group, 2);
  EXPECT_DOUBLE_EQ(c.moe->routed_scaling_factor, 2.5);
  EXPECT_EQ(c.moe->scoring_func, "sigmoid");
  EXPECT_FALSE(c.is_moe_layer(0));  // first_k_dense_replace
  EXPECT_TRUE(c.is_moe_layer(1));
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  const ModelConfig n = parse_hf_config(llama_with(R"({"architectures": ["DeepseekV3ForCausalLM"],
      "q_lora_rank": null, "kv_lora_rank": 64, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16,
      "v_head_dim": 32})"));
  EXPECT_FALSE(n.mla->q_lora_rank.has_value());
  EXPECT_FALSE(n.is_moe());
}

TEST(HfConfig, DeepseekGroupedRoutingMustBeConsistent) {
  const std::string base = kDeepseek;
  auto with = [&](const std::string& extra) {
    boost::json::object o = boost::json::parse(base).as_object();
    const boost::json::value e = boost::json::parse(extra);
    for (const auto& kv : e.as_object()) o[kv.key()] = kv.value();
    return llama_with(boost::json::serialize(o));
  };
  expect_error([&] { parse_hf_config(with(R"({"n_group": 3})")); }, "config-value");
  expect_error([&] { parse_hf_config(with(R"({"topk_group": 5})")); }, "config-value");
  // 1 group of 2 experts cannot supply 3 routes.
  expect_error([&] { parse_hf_config(with(R"({"topk_group": 1, "num_experts_per_tok": 3})")); },
               "config-value");
  expect_error([&] { parse_hf_config(with(R"({"kv_lora_rank": 0})")); }, "config-value");
  expect_error([&] { parse_hf_config(with(R"({"q_lora_rank": -1})")); }, "config-value");
}

}  // namespace
}  // namespace symtrace::model
