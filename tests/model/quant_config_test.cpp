// quantization_config parsing and ignore/exclude matching.
#include <gtest/gtest.h>

#include <symtrace/model/quant_config.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::count_code;
using testing::expect_error;
using tensor::DType;

constexpr const char* kCtInt8 = R"({
  "quant_method": "compressed-tensors", "format": "int-quantized", "quantization_status": "compressed",
  "config_groups": {"group_0": {"targets": ["Linear"],
     "weights": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "channel", "dynamic": false,
                 "group_size": null, "observer": "minmax"},
     "input_activations": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "token", "dynamic": true}}},
  "ignore": ["lm_head", "re:.*mlp.gate$"], "kv_cache_scheme": null, "global_compression_ratio": 1.2})";

TEST(QuantConfig, HfFineGrainedFp8) {
  const QuantConfig q = parse_quant_config(
      R"({"quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [128, 128],
          "modules_to_not_convert": null, "scale_fmt": "ue8m0", "fmt": "e4m3"})");
  EXPECT_EQ(q.method, QuantMethod::kFp8);
  EXPECT_EQ(q.weight_scale_name(), "weight_scale_inv");
  ASSERT_EQ(q.schemes.size(), 1u);
  const QuantScheme* s = q.scheme_for("model.layers.0.self_attn.q_proj");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->weights->storage_dtype(), DType::kF8E4M3FN);
  EXPECT_EQ(s->weights->strategy, Strategy::kBlock);
  EXPECT_EQ(s->weights->block_n, 128);
  EXPECT_EQ(s->input_activations->strategy, Strategy::kGroup);
  EXPECT_EQ(s->input_activations->group_size, 128);
  EXPECT_EQ(s->input_activations->dynamic, Dynamic::kDynamic);
  EXPECT_EQ(q.scale_fmt, "ue8m0");
  EXPECT_TRUE(q.findings.empty());
  expect_error([] { parse_quant_config(R"({"quant_method": "fp8", "weight_block_size": [128]})"); },
               "config-value");
  expect_error([] { parse_quant_config(R"({"quant_method": "fp8", "activation_scheme": "sometimes"})"); },
               "config-value");
}

TEST(QuantConfig, HfFp8PerTensorStaticHasWeightScale) {
  const QuantConfig q = parse_quant_config(R"({"quant_method": "fp8", "activation_scheme": "static"})");
  EXPECT_EQ(q.weight_scale_name(), "weight_scale");
  EXPECT_EQ(q.schemes[0].weights->strategy, Strategy::kTensor);
  EXPECT_EQ(q.schemes[0].input_activations->dynamic, Dynamic::kStatic);
}

TEST(QuantConfig, CompressedTensorsInt8W8A8) {
  const QuantConfig q = parse_quant_config(kCtInt8);
  EXPECT_EQ(q.method, QuantMethod::kCompressedTensors);
  EXPECT_EQ(q.format, "int-quantized");
  EXPECT_EQ(q.weight_scale_name(), "weight_scale");
  const QuantScheme* s = q.scheme_for("model.layers.0.mlp.experts.3.down_proj");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "config_groups.group_0");
  EXPECT_EQ(s->weights->storage_dtype(), DType::kI8);
  EXPECT_EQ(s->weights->strategy, Strategy::kChannel);
  EXPECT_EQ(s->input_activations->strategy, Strategy::kToken);
  EXPECT_EQ(q.scheme_for("lm_head"), nullptr);
  EXPECT_EQ(q.scheme_for("model.layers.0.mlp.gate"), nullptr);
  EXPECT_NE(q.scheme_for("model.layers.0.mlp.gate_proj"), nullptr);  // re.match is not anchored at the end, but "gate$" is
  EXPECT_TRUE(q.findings.empty()) << q.findings.front().message;
}

TEST(QuantConfig, CompressedTensorsNvfp4AndBlockFp8) {
  const QuantConfig n = parse_quant_config(R"({"quant_method": "compressed-tensors",
      "format": "nvfp4-pack-quantized", "config_groups": {"group_0": {"targets": ["Linear"],
      "weights": {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16,
                  "symmetric": true, "dynamic": false, "scale_dtype": "float8_e4m3fn"},
      "input_activations": null}}, "ignore": ["lm_head"]})");
  const QuantScheme* s = n.scheme_for("model.layers.0.self_attn.o_proj");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->weights->storage_dtype(), DType::kF4E2M1X2);
  EXPECT_EQ(s->weights->scale_dtype, DType::kF8E4M3FN);
  EXPECT_FALSE(s->input_activations.has_value());
  const QuantConfig b = parse_quant_config(R"({"quant_method": "compressed-tensors",
      "format": "float-quantized", "config_groups": {"g": {"targets": ["Linear"],
      "weights": {"num_bits": 8, "type": "float", "strategy": "block", "block_structure": "128x64"},
      "input_activations": {"num_bits": 8, "type": "float", "strategy": "group", "group_size": 128,
                            "dynamic": "local"}}}})");
  EXPECT_EQ(b.schemes[0].weights->block_n, 128);
  EXPECT_EQ(b.schemes[0].weights->block_k, 64);
  EXPECT_EQ(b.schemes[0].input_activations->dynamic, Dynamic::kLocal);
  expect_error([] {
    parse_quant_config(R"({"quant_method": "compressed-tensors", "config_groups": {"g": {
        "weights": {"strategy": "group"}}}})");
  }, "config-missing");
}

TEST(QuantConfig, CompressedTensorsNameTargetBeatsClassTarget) {
  const QuantConfig q = parse_quant_config(R"({"quant_method": "compressed-tensors",
      "config_groups": {"a": {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "int", "strategy": "channel"}},
                        "b": {"targets": ["re:.*down_proj$"], "weights": {"num_bits": 8, "type": "float", "strategy": "tensor"}}}})");
  EXPECT_EQ(q.scheme_for("model.layers.0.mlp.down_proj")->name, "config_groups.b");
  EXPECT_EQ(q.scheme_for("model.layers.0.mlp.up_proj")->name, "config_groups.a");
}

TEST(QuantConfig, QuarkInt8PerChannelWithExclude) {
  const QuantConfig q = parse_quant_config(R"({"quant_method": "quark",
      "global_quant_config": {"weight": {"dtype": "int8", "qscheme": "per_channel", "ch_axis": 0,
          "symmetric": true, "is_dynamic": false, "round_method": "half_even"},
        "input_tensors": {"dtype": "int8", "qscheme": "per_tensor", "symmetric": true, "is_dynamic": false},
        "output_tensors": null, "bias": null},
      "layer_quant_config": {"*.experts.0.*": {"weight": {"dtype": "fp8_e4m3", "qscheme": "per_tensor"}}},
      "exclude": ["lm_head", "model.layers.0.self_attn.q_proj"],
      "export": {"kv_cache_group": [], "pack_method": "reorder"}, "quant_mode": "eager_mode"})");
  EXPECT_EQ(q.method, QuantMethod::kQuark);
  EXPECT_EQ(q.ignore.key, "quantization_config.exclude");
  const QuantScheme* g = q.scheme_for("model.layers.1.mlp.experts.2.w1");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->name, "global_quant_config");
  EXPECT_EQ(g->weights->strategy, Strategy::kChannel);
  EXPECT_EQ(g->input_activations->dynamic, Dynamic::kStatic);
  EXPECT_EQ(q.scheme_for("model.layers.1.mlp.experts.0.w1")->name, "layer_quant_config.*.experts.0.*");
  EXPECT_EQ(q.scheme_for("model.layers.0.self_attn.q_proj"), nullptr);
  EXPECT_NE(q.scheme_for("model.layers.0.self_attn.k_proj"), nullptr);
  EXPECT_TRUE(q.findings.empty()) << q.findings.front().message;
}

TEST(QuantConfig, UnknownMethodsAndFieldsAreFindingsNotErrors) {
  const QuantConfig g = parse_quant_config(R"({"quant_method": "gptq", "bits": 4})");
  EXPECT_EQ(g.method, QuantMethod::kUnknown);
  EXPECT_FALSE(g.quantized());
  EXPECT_EQ(g.scheme_for("model.layers.0.self_attn.q_proj"), nullptr);
  EXPECT_EQ(count_code(g.findings, "quant-unsupported"), 1);

  const QuantConfig f = parse_quant_config(
      R"({"quant_method": "fp8", "weight_block_size": [128, 128], "shiny_new_knob": 3})");
  ASSERT_EQ(count_code(f.findings, "quant-unknown-field"), 1);
  EXPECT_EQ(f.findings[0].argument, "quantization_config.shiny_new_knob");

  const QuantConfig s = parse_quant_config(R"({"quant_method": "compressed-tensors",
      "config_groups": {"g": {"targets": ["Linear"], "weights": {"num_bits": 8, "strategy": "attn_head"}}}})");
  EXPECT_FALSE(s.schemes[0].supported);
  EXPECT_EQ(count_code(s.findings, "quant-unsupported"), 1);
  const QuantConfig q = parse_quant_config(
      R"({"quant_method": "quark", "global_quant_config": {"weight": {"dtype": "mx6"}}})");
  EXPECT_FALSE(q.schemes[0].supported);
}

TEST(IgnoreList, ExactRegexAndGlob) {
  const IgnoreList l{"ignore", {"lm_head", "re:.*self_attn\\.(q|k)_proj$", "re:model.layers.1",
                                "*.mlp.gate"}, MatchStyle::kExactOrRegex};
  EXPECT_EQ(l.match("lm_head"), "lm_head");
  EXPECT_FALSE(l.match("model.lm_head").has_value());  // exact, not a suffix
  EXPECT_TRUE(l.match("model.layers.0.self_attn.q_proj").has_value());
  EXPECT_FALSE(l.match("model.layers.0.self_attn.v_proj").has_value());
  // Python's re.match: anchored at the start only, so layers.1 also matches layers.10.
  EXPECT_TRUE(l.match("model.layers.10.mlp.down_proj").has_value());
  EXPECT_FALSE(l.match("x.model.layers.1").has_value());
  EXPECT_TRUE(l.match("model.layers.3.mlp.gate").has_value());
  EXPECT_FALSE(l.match("model.layers.3.mlp.gate_proj").has_value());
}

TEST(IgnoreList, TransformersPrefixOrSuffix) {
  const IgnoreList l{"modules_to_not_convert", {"lm_head", "mlp.gate", "model.layers.0."},
                     MatchStyle::kHfModules};
  EXPECT_TRUE(l.match("lm_head").has_value());
  EXPECT_TRUE(l.match("model.layers.3.mlp.gate").has_value());   // suffix
  EXPECT_TRUE(l.match("model.layers.0.self_attn.o_proj").has_value());  // prefix
  EXPECT_FALSE(l.match("model.layers.3.mlp.gate_proj").has_value());
}

TEST(IgnoreList, FusedModuleIsIgnoredOnlyWhenEveryPartIs) {
  const IgnoreList all{"exclude", {"re:model.layers.0.self_attn.[qkv]_proj"}, MatchStyle::kExactOrRegex};
  const IgnoreDecision a = all.decide("model.layers.0.self_attn.qkv_proj", default_fused_mapping());
  EXPECT_TRUE(a.ignored);
  EXPECT_FALSE(a.partial);
  EXPECT_EQ(a.ignored_parts.size(), 3u);

  const IgnoreList some{"exclude", {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj"},
                        MatchStyle::kExactOrRegex};
  const IgnoreDecision p = some.decide("model.layers.0.self_attn.qkv_proj", default_fused_mapping());
  EXPECT_FALSE(p.ignored);
  EXPECT_TRUE(p.partial);
  EXPECT_EQ(p.quantized_parts, std::vector<std::string>{"model.layers.0.self_attn.v_proj"});

  // The fused name alone: reported, not obeyed (no checkpoint tensor carries it).
  const IgnoreList fused{"exclude", {"model.layers.0.mlp.gate_up_proj"}, MatchStyle::kExactOrRegex};
  const IgnoreDecision f = fused.decide("model.layers.0.mlp.gate_up_proj", default_fused_mapping());
  EXPECT_FALSE(f.ignored);
  EXPECT_EQ(f.fused_name_entry, "model.layers.0.mlp.gate_up_proj");
  // A module outside the mapping is matched by name.
  EXPECT_TRUE(all.decide("model.layers.0.self_attn.k_proj", default_fused_mapping()).ignored);
  EXPECT_EQ(some.unused({"model.layers.0.self_attn.q_proj"}),
            std::vector<std::string>{"model.layers.0.self_attn.k_proj"});
}

TEST(IgnoreList, BadRegexIsAConfigError) {
  const IgnoreList l{"ignore", {"re:(unclosed"}, MatchStyle::kExactOrRegex};
  expect_error([&] { (void)l.match("x"); }, "config-value");
  const IgnoreList longp{"ignore", {"re:" + std::string(600, 'a')}, MatchStyle::kExactOrRegex};
  expect_error([&] { (void)longp.match("x"); }, "config-value");
}

TEST(IgnoreList, GlobMatching) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b?d", "axxbcd"));
  EXPECT_FALSE(glob_match("a*b?d", "axxbd"));
  EXPECT_TRUE(glob_match("*.experts.*.w1", "model.layers.0.block_sparse_moe.experts.3.w1"));
  EXPECT_FALSE(glob_match("*.experts.*.w1", "model.layers.0.block_sparse_moe.experts.3.w2"));
  EXPECT_TRUE(glob_match("**a**", "bab"));
}

}  // namespace
}  // namespace symtrace::model
