// Expected tensors from configs: exact against Hugging Face's own files, and the names,
// dtypes and shapes of every format and architecture (OPS.md §3, §9.4, §10, §12).
#include <fstream>
#include <set>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/safetensors.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::count_code;
using testing::refdata;
using tensor::DType;
using Shape = std::vector<std::int64_t>;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The refdata Llama config with `patch` merged in (null deletes a key).
std::string llama_with(const std::string& patch) {
  boost::json::object o = boost::json::parse(read(refdata() / "hf-tiny-llama" / "config.json")).as_object();
  const boost::json::value p = boost::json::parse(patch);
  for (const auto& kv : p.as_object()) {
    if (kv.value().is_null()) o.erase(kv.key());
    else o[kv.key()] = kv.value();
  }
  return boost::json::serialize(o);
}

CheckpointSpec spec_of(const std::string& config_json, SpecOptions opt = {}) {
  return build_checkpoint_spec(parse_hf_config(config_json), nullptr, opt);
}

const ExpectedTensor& at(const CheckpointSpec& s, const std::string& name) {
  const ExpectedTensor* t = s.find(name);
  if (t == nullptr) throw std::runtime_error("no expected tensor " + name);
  return *t;
}

std::vector<std::string> errors(const std::vector<diag::Diagnostic>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs)
    if (f.severity != diag::Severity::kNote) out.push_back(f.code + ": " + f.message);
  return out;
}

void expect_spec_equals_listing(const std::string& dir, const std::string& variant) {
  const CheckpointSpec spec = build_checkpoint_spec(load_hf_config(refdata() / dir));
  const boost::json::value root = boost::json::parse(read(refdata() / "hf_tiny_llama.json"));
  const auto& listing = root.at("models").at("llama").at("written_by_transformers").at(variant)
                            .at("listing").as_object();
  ASSERT_EQ(spec.tensors.size(), listing.size());
  for (const auto& kv : listing) {
    const ExpectedTensor& t = at(spec, kv.key());
    EXPECT_EQ(safetensors_code(t.dtype), kv.value().at(0).as_string()) << kv.key();
    Shape shape;
    for (const auto& d : kv.value().at(1).as_array()) shape.push_back(d.as_int64());
    EXPECT_EQ(t.shape(), shape) << kv.key();
  }
  // And the real file: nothing missing, unexpected or mis-shaped; every scale finite > 0.
  const auto ckpt = SafetensorsCheckpoint::open(refdata() / dir);
  EXPECT_EQ(errors(check_tensor_list(spec, ckpt)), std::vector<std::string>{});
  EXPECT_EQ(errors(scan_scales(spec, ckpt)), std::vector<std::string>{});
  EXPECT_EQ(errors(spec.findings), std::vector<std::string>{});
}

TEST(CheckpointSpec, MatchesHuggingFaceBf16Checkpoint) { expect_spec_equals_listing("hf-tiny-llama", "bf16"); }
TEST(CheckpointSpec, MatchesHuggingFaceFp8Checkpoint) { expect_spec_equals_listing("hf-tiny-llama-fp8", "fp8"); }

TEST(CheckpointSpec, Fp8BlockScaleCarriesSymbolsAndProvenance) {
  const CheckpointSpec s = build_checkpoint_spec(load_hf_config(refdata() / "hf-tiny-llama-fp8"));
  const ExpectedTensor& k = at(s, "model.layers.0.self_attn.k_proj.weight_scale_inv");
  EXPECT_EQ(k.role, TensorRole::kWeightScale);
  EXPECT_EQ(k.symbolic_shape(), "[cdiv(N, 128), cdiv(K, 128)]");
  EXPECT_EQ(k.dims[0].expr, "cdiv(config.num_key_value_heads * config.head_dim, 128)");
  EXPECT_EQ(k.dims[1].expr, "cdiv(config.hidden_size, 128)");
  EXPECT_EQ(k.notes, (std::vector<std::string>{"N = 128 from config.num_key_value_heads * config.head_dim",
                                               "K = 256 from config.hidden_size"}));
  EXPECT_EQ(k.granularity, Strategy::kBlock);
  EXPECT_EQ(k.block_n, 128);
  EXPECT_EQ(k.scale_fmt, tensor::ScaleFormat::kF32);
  EXPECT_EQ(k.module, "model.layers.0.self_attn.k_proj");
  EXPECT_EQ(k.fused_module, "model.layers.0.self_attn.qkv_proj");
  EXPECT_EQ(k.partition, 1);
  EXPECT_EQ(k.parallel, Parallel::kColumn);
  EXPECT_EQ(k.split_dim, 0);
  const ExpectedTensor& w = at(s, "model.layers.1.mlp.down_proj.weight");
  EXPECT_EQ(w.dtype, DType::kF8E4M3FN);
  EXPECT_EQ(w.symbolic_shape(), "[N, K]");
  EXPECT_EQ(w.parallel, Parallel::kRow);
  EXPECT_EQ(w.split_dim, 1);
  EXPECT_TRUE(w.quantized);
  const ExpectedTensor& n = at(s, "model.norm.weight");
  EXPECT_EQ(n.role, TensorRole::kNorm);
  EXPECT_EQ(n.symbolic_shape(), "[hidden_size]");
  const LinearSpec* lm = s.linear("lm_head");
  ASSERT_NE(lm, nullptr);
  EXPECT_FALSE(lm->quantized);
  EXPECT_EQ(at(s, "lm_head.weight").dtype, DType::kBF16);
}

TEST(CheckpointSpec, TiedEmbeddingsHaveNoHead) {
  const CheckpointSpec s = spec_of(llama_with(R"({"tie_word_embeddings": true})"));
  EXPECT_EQ(s.find("lm_head.weight"), nullptr);
  EXPECT_EQ(s.tensors.size(), 20u);
}

TEST(CheckpointSpec, BiasesAndQkNorms) {
  const CheckpointSpec q2 = spec_of(llama_with(R"({"architectures": ["Qwen2ForCausalLM"]})"));
  EXPECT_EQ(at(q2, "model.layers.0.self_attn.k_proj.bias").shape(), Shape{128});
  EXPECT_EQ(q2.find("model.layers.0.self_attn.o_proj.bias"), nullptr);
  const CheckpointSpec q3 = spec_of(llama_with(R"({"architectures": ["Qwen3ForCausalLM"]})"));
  EXPECT_EQ(at(q3, "model.layers.1.self_attn.q_norm.weight").shape(), Shape{64});
  EXPECT_EQ(at(q3, "model.layers.1.self_attn.k_norm.weight").symbolic_shape(), "[head_dim]");
}

constexpr const char* kQwen3MoeInt8 = R"({"architectures": ["Qwen3MoeForCausalLM"],
    "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 128, "mlp_only_layers": [1],
    "quantization_config": {"quant_method": "compressed-tensors", "format": "int-quantized",
      "config_groups": {"group_0": {"targets": ["Linear"],
        "weights": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "channel", "dynamic": false},
        "input_activations": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "token", "dynamic": true}}},
      "ignore": ["lm_head", "re:.*mlp.gate$"]}})";

TEST(CheckpointSpec, Qwen3MoeCompressedTensorsInt8) {
  const CheckpointSpec s = spec_of(llama_with(kQwen3MoeInt8));
  const ExpectedTensor& w = at(s, "model.layers.0.mlp.experts.3.up_proj.weight");
  EXPECT_EQ(w.dtype, DType::kI8);
  EXPECT_EQ(w.shape(), (Shape{128, 256}));
  EXPECT_EQ(w.expert, 3);
  EXPECT_EQ(w.fused_module, "model.layers.0.mlp.experts");
  EXPECT_EQ(w.partition, 1);
  const ExpectedTensor& sc = at(s, "model.layers.0.mlp.experts.3.down_proj.weight_scale");
  EXPECT_EQ(sc.shape(), (Shape{256, 1}));
  EXPECT_EQ(sc.symbolic_shape(), "[N, 1]");
  EXPECT_EQ(sc.granularity, Strategy::kChannel);
  EXPECT_EQ(sc.dtype, DType::kF32);
  EXPECT_TRUE(sc.accepts_dtype(DType::kBF16));  // llm-compressor writes scales in the model dtype
  EXPECT_FALSE(sc.accepts_shape({256}));         // [N] is not a compressed-tensors layout
  // Router: never quantized, and the ignore entry that names it counts as used.
  EXPECT_EQ(at(s, "model.layers.0.mlp.gate.weight").dtype, DType::kBF16);
  EXPECT_EQ(at(s, "model.layers.0.mlp.gate.weight").shape(), (Shape{4, 256}));
  // Layer 1 is in mlp_only_layers: a dense MLP of intermediate_size.
  EXPECT_EQ(at(s, "model.layers.1.mlp.gate_proj.weight").shape(), (Shape{512, 256}));
  EXPECT_EQ(s.find("model.layers.1.mlp.experts.0.gate_proj.weight"), nullptr);
  // Dynamic per-token activations: no input_scale.
  EXPECT_EQ(s.find("model.layers.0.self_attn.q_proj.input_scale"), nullptr);
  EXPECT_EQ(errors(s.findings), std::vector<std::string>{});
}

TEST(CheckpointSpec, MixtralQuarkInt8OneDimensionalScales) {
  const CheckpointSpec s = spec_of(llama_with(R"({"architectures": ["MixtralForCausalLM"],
      "num_local_experts": 2, "num_experts_per_tok": 1,
      "quantization_config": {"quant_method": "quark",
        "global_quant_config": {"weight": {"dtype": "int8", "qscheme": "per_channel", "ch_axis": 0, "symmetric": true},
          "input_tensors": {"dtype": "int8", "qscheme": "per_tensor", "symmetric": true, "is_dynamic": false}},
        "exclude": ["lm_head"]}})"));
  const ExpectedTensor& w1 = at(s, "model.layers.1.block_sparse_moe.experts.1.w1.weight");
  EXPECT_EQ(w1.shape(), (Shape{512, 256}));
  EXPECT_EQ(at(s, "model.layers.1.block_sparse_moe.experts.1.w2.weight").shape(), (Shape{256, 512}));
  const ExpectedTensor& sc = at(s, "model.layers.1.block_sparse_moe.experts.1.w3.weight_scale");
  EXPECT_EQ(sc.shape(), Shape{512});
  EXPECT_EQ(sc.symbolic_shape(), "[N]");
  EXPECT_FALSE(sc.adapter.empty());
  const ExpectedTensor& zp = at(s, "model.layers.1.block_sparse_moe.experts.1.w3.weight_zero_point");
  EXPECT_TRUE(zp.optional);
  EXPECT_EQ(zp.dtype, DType::kI8);
  const ExpectedTensor& in = at(s, "model.layers.0.self_attn.o_proj.input_scale");
  EXPECT_EQ(in.shape(), Shape{1});
  EXPECT_TRUE(in.accepts_shape({}));
  EXPECT_EQ(at(s, "model.layers.0.block_sparse_moe.gate.weight").dtype, DType::kBF16);
}

TEST(CheckpointSpec, CompressedTensorsNvfp4W4A16) {
  const CheckpointSpec s = spec_of(llama_with(R"({"quantization_config": {"quant_method": "compressed-tensors",
      "format": "nvfp4-pack-quantized", "config_groups": {"group_0": {"targets": ["Linear"],
      "weights": {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16, "symmetric": true},
      "input_activations": null}}, "ignore": ["lm_head"]}})"));
  EXPECT_EQ(at(s, "model.layers.0.mlp.down_proj.weight_packed").shape(), (Shape{256, 256}));
  EXPECT_EQ(at(s, "model.layers.0.mlp.down_proj.weight_packed").symbolic_shape(), "[N, K / 2]");
  const ExpectedTensor& sc = at(s, "model.layers.0.mlp.down_proj.weight_scale");
  EXPECT_EQ(sc.dtype, DType::kF8E4M3FN);
  EXPECT_EQ(sc.shape(), (Shape{256, 32}));
  EXPECT_EQ(sc.scale_fmt, tensor::ScaleFormat::kE4M3);
  const ExpectedTensor& g = at(s, "model.layers.0.mlp.down_proj.weight_global_scale");
  EXPECT_EQ(g.shape(), Shape{1});
  EXPECT_TRUE(g.scale_is_divisor);
  EXPECT_EQ(s.find("model.layers.0.mlp.down_proj.input_global_scale"), nullptr);  // W4A16
  EXPECT_EQ(s.find("model.layers.0.mlp.down_proj.weight"), nullptr);
}

constexpr const char* kDeepseekFp8 = R"({"architectures": ["DeepseekV3ForCausalLM"],
    "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": null, "q_lora_rank": 128,
    "kv_lora_rank": 128, "qk_nope_head_dim": 64, "qk_rope_head_dim": 64, "v_head_dim": 64,
    "n_routed_experts": 4, "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1,
    "moe_intermediate_size": 128, "n_shared_experts": 1, "first_k_dense_replace": 1,
    "topk_method": "noaux_tc", "num_nextn_predict_layers": 1,
    "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                            "weight_block_size": [128, 128]}})";

TEST(CheckpointSpec, DeepseekV3LatentAttentionFp8Block) {
  const CheckpointSpec s = spec_of(llama_with(kDeepseekFp8));
  const std::string a = "model.layers.1.self_attn.";
  EXPECT_EQ(at(s, a + "q_a_proj.weight").shape(), (Shape{128, 256}));
  EXPECT_EQ(at(s, a + "q_a_layernorm.weight").shape(), Shape{128});
  EXPECT_EQ(at(s, a + "q_b_proj.weight").shape(), (Shape{256, 128}));
  // kv_lora_rank + qk_rope_head_dim = 192: a ragged last block row.
  const ExpectedTensor& kva = at(s, a + "kv_a_proj_with_mqa.weight_scale_inv");
  EXPECT_EQ(kva.shape(), (Shape{2, 2}));
  EXPECT_EQ(kva.dims[0].expr, "cdiv(config.kv_lora_rank + config.qk_rope_head_dim, 128)");
  EXPECT_EQ(kva.fused_module, a + "fused_qkv_a_proj");
  EXPECT_EQ(at(s, a + "kv_a_layernorm.weight").shape(), Shape{128});
  EXPECT_EQ(at(s, a + "kv_b_proj.weight").shape(), (Shape{256, 128}));
  EXPECT_EQ(at(s, a + "o_proj.weight").shape(), (Shape{256, 128}));
  // Layer 0 dense (first_k_dense_replace), layer 1 routed + shared experts.
  EXPECT_EQ(at(s, "model.layers.0.mlp.gate_proj.weight").shape(), (Shape{512, 256}));
  EXPECT_EQ(at(s, "model.layers.1.mlp.experts.3.down_proj.weight_scale_inv").shape(), (Shape{2, 1}));
  EXPECT_EQ(at(s, "model.layers.1.mlp.shared_experts.up_proj.weight").shape(), (Shape{128, 256}));
  const ExpectedTensor& bias = at(s, "model.layers.1.mlp.gate.e_score_correction_bias");
  EXPECT_EQ(bias.dtype, DType::kF32);
  EXPECT_EQ(bias.shape(), Shape{4});
  EXPECT_EQ(at(s, "model.layers.1.mlp.gate.weight").dtype, DType::kBF16);
  // The MTP layer's tensors are neither expected nor unexpected.
  EXPECT_TRUE(s.unchecked("model.layers.2.eh_proj.weight"));
  EXPECT_EQ(errors(s.findings), std::vector<std::string>{});
  // Without q_lora_rank: a plain q_proj and no fused down-projection.
  const CheckpointSpec n = spec_of(llama_with(R"({"architectures": ["DeepseekV3ForCausalLM"],
      "q_lora_rank": null, "kv_lora_rank": 64, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32})"));
  EXPECT_EQ(at(n, "model.layers.0.self_attn.q_proj.weight").shape(), (Shape{4 * 48, 256}));
  EXPECT_EQ(at(n, "model.layers.0.self_attn.kv_a_proj_with_mqa.weight").fused_module, "");
}

// DeepSeek-V3's published config.json (the keys that shape tensors).
constexpr const char* kDeepseekV3Full = R"({"architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "deepseek_v3", "vocab_size": 129280, "hidden_size": 7168,
    "intermediate_size": 18432, "moe_intermediate_size": 2048, "num_hidden_layers": 61,
    "num_nextn_predict_layers": 1, "num_attention_heads": 128, "num_key_value_heads": 128,
    "n_shared_experts": 1, "n_routed_experts": 256, "ep_size": 1, "routed_scaling_factor": 2.5,
    "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "v_head_dim": 128,
    "qk_nope_head_dim": 128, "topk_method": "noaux_tc", "n_group": 8, "topk_group": 4,
    "num_experts_per_tok": 8, "moe_layer_freq": 1, "first_k_dense_replace": 3,
    "norm_topk_prob": true, "scoring_func": "sigmoid", "max_position_embeddings": 163840,
    "rms_norm_eps": 1e-06, "rope_theta": 10000, "tie_word_embeddings": false,
    "torch_dtype": "bfloat16", "attention_bias": false,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
      "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096, "type": "yarn"},
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
      "quant_method": "fp8", "weight_block_size": [128, 128]}})";

TEST(CheckpointSpec, FullSizeDeepseekV3) {
  const CheckpointSpec s = spec_of(kDeepseekV3Full, {.tp = 8, .ep = 8});
  // 3 dense layers of 20 tensors, 58 MoE layers of 1558 (256 experts x 6), embed, norm, head.
  EXPECT_EQ(s.tensors.size(), 3u * 20 + 58u * 1558 + 3);
  EXPECT_EQ(at(s, "model.layers.3.self_attn.kv_a_proj_with_mqa.weight_scale_inv").shape(),
            (Shape{5, 56}));  // 576 = 4.5 blocks
  EXPECT_EQ(at(s, "model.layers.60.mlp.experts.255.down_proj.weight_scale_inv").shape(),
            (Shape{56, 16}));
  EXPECT_EQ(at(s, "model.layers.0.mlp.down_proj.weight").shard_shape, (Shape{7168, 18432 / 8}));
  EXPECT_TRUE(s.unchecked("model.layers.61.shared_head.head.weight"));  // the MTP layer
  EXPECT_EQ(errors(s.findings), std::vector<std::string>{});  // tp 8 / ep 8 split cleanly
}

TEST(CheckpointSpec, TensorParallelSplitsAndBlockAlignment) {
  const ModelConfig c = load_hf_config(refdata() / "hf-tiny-llama-fp8");
  const CheckpointSpec t2 = build_checkpoint_spec(c, nullptr, {.tp = 2});
  EXPECT_EQ(at(t2, "model.layers.0.self_attn.q_proj.weight").shard_shape, (Shape{128, 256}));
  EXPECT_EQ(at(t2, "model.layers.0.self_attn.o_proj.weight").shard_shape, (Shape{256, 128}));
  EXPECT_EQ(at(t2, "model.layers.0.self_attn.o_proj.weight_scale_inv").shard_shape, (Shape{2, 1}));
  // k/v: N / tp = 64 is half a 128-row block: every k_proj and v_proj is reported.
  EXPECT_EQ(count_code(t2.findings, "tp-divisibility"), 4);
  for (const auto& f : t2.findings) {
    EXPECT_TRUE(f.argument.ends_with("k_proj") || f.argument.ends_with("v_proj")) << f.argument;
    EXPECT_EQ(f.got, "64 % 128 = 64");
  }
  // tp = 4 > 2 kv heads: heads are replicated, one per rank.
  const CheckpointSpec t4 = build_checkpoint_spec(c, nullptr, {.tp = 4});
  EXPECT_EQ(at(t4, "model.layers.0.self_attn.k_proj.weight").shard_shape, (Shape{64, 256}));
  // tp = 3 divides nothing.
  const CheckpointSpec t3 = build_checkpoint_spec(c, nullptr, {.tp = 3});
  EXPECT_GT(count_code(t3.findings, "tp-divisibility"), 10);
  EXPECT_TRUE(at(t3, "model.layers.0.mlp.up_proj.weight").shard_shape.empty());
}

TEST(CheckpointSpec, MergedLayerMayOnlyLeaveItsLastPartitionRagged) {
  // One kv head of 64: k_proj (partition 1 of qkv) is half a block even at tp = 1.
  const CheckpointSpec s = spec_of(llama_with(R"({"num_key_value_heads": 1,
      "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}})"));
  ASSERT_EQ(count_code(s.findings, "fused-partition"), 2);
  EXPECT_EQ(s.findings[0].argument, "model.layers.0.self_attn.k_proj");
  // DeepSeek's kv_a_proj_with_mqa (192) is the last partition of fused_qkv_a_proj: fine.
  EXPECT_EQ(count_code(spec_of(llama_with(kDeepseekFp8)).findings, "fused-partition"), 0);
}

TEST(CheckpointSpec, ExpertParallelMustDivideExperts) {
  const CheckpointSpec s = spec_of(llama_with(kQwen3MoeInt8), {.ep = 3});
  ASSERT_EQ(count_code(s.findings, "tp-divisibility"), 1);
  EXPECT_EQ(s.findings.back().argument, "config.num_experts");
  EXPECT_EQ(count_code(spec_of(llama_with(kQwen3MoeInt8), {.ep = 2}).findings, "tp-divisibility"), 0);
  // Experts split under TP: moe_intermediate_size 128 / 3 is not exact, reported once per layer.
  EXPECT_EQ(count_code(spec_of(llama_with(kQwen3MoeInt8), {.tp = 3}).findings, "tp-divisibility") > 0, true);
}

std::string quark_exclude(const std::string& exclude_json) {
  return llama_with(R"({"quantization_config": {"quant_method": "quark",
      "global_quant_config": {"weight": {"dtype": "int8", "qscheme": "per_channel"}},
      "exclude": )" + exclude_json + "}}");
}

TEST(CheckpointSpec, ExcludeListThatMissesPartOfFusedModule) {
  // The Step-3.5 class of bug: q and k excluded, v not — the fused qkv_proj cannot be both.
  const CheckpointSpec s = spec_of(quark_exclude(
      R"(["lm_head", "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj"])"));
  ASSERT_EQ(count_code(s.findings, "ignore-mapping"), 1);
  const auto& f = s.findings[0];
  EXPECT_EQ(f.severity, diag::Severity::kError);
  EXPECT_EQ(f.node, "model.layers.0.self_attn.qkv_proj");
  EXPECT_NE(f.got.find("quantized: model.layers.0.self_attn.v_proj"), std::string::npos) << f.got;
  // The tensor list follows the exporter: q/k stay bf16, v is int8.
  EXPECT_EQ(at(s, "model.layers.0.self_attn.q_proj.weight").dtype, DType::kBF16);
  EXPECT_EQ(at(s, "model.layers.0.self_attn.v_proj.weight").dtype, DType::kI8);
}

TEST(CheckpointSpec, ExcludeEntryNamingOnlyTheFusedModule) {
  const CheckpointSpec s = spec_of(quark_exclude(R"(["lm_head", "model.layers.1.mlp.gate_up_proj"])"));
  ASSERT_EQ(count_code(s.findings, "ignore-mapping"), 1);
  EXPECT_EQ(s.findings[0].severity, diag::Severity::kWarning);
  EXPECT_EQ(count_code(s.findings, "ignore-unused"), 0);
  EXPECT_EQ(at(s, "model.layers.1.mlp.gate_proj.weight").dtype, DType::kI8);
}

TEST(CheckpointSpec, ExcludeEntryMatchingNothing) {
  const CheckpointSpec s = spec_of(quark_exclude(R"(["lm_head", "model.layers.0.mlp.gate_prj"])"));
  ASSERT_EQ(count_code(s.findings, "ignore-unused"), 1);
  EXPECT_EQ(s.findings[0].got, "model.layers.0.mlp.gate_prj");
}

TEST(CheckpointSpec, UnsupportedSchemeLeavesModulesUnchecked) {
  const CheckpointSpec s = spec_of(llama_with(R"({"quantization_config": {"quant_method": "compressed-tensors",
      "config_groups": {"g": {"targets": ["Linear"], "weights": {"num_bits": 8, "strategy": "attn_head"}}}}})"));
  EXPECT_TRUE(s.unchecked("model.layers.0.self_attn.q_proj.weight"));
  EXPECT_EQ(s.find("model.layers.0.self_attn.q_proj.weight"), nullptr);
  EXPECT_NE(s.find("lm_head.weight"), nullptr);
}

TEST(CheckpointSpec, NonsensicalOptionsAndHugeConfigsAreRefused) {
  const ModelConfig c = load_hf_config(refdata() / "hf-tiny-llama");
  testing::expect_error([&] { build_checkpoint_spec(c, nullptr, {.tp = 0}); }, "usage");
  const ModelConfig big = parse_hf_config(llama_with(R"({"num_hidden_layers": 1000000})"));
  testing::expect_error([&] { build_checkpoint_spec(big); }, "config-value");
  const ModelConfig wide = parse_hf_config(llama_with(R"({"num_attention_heads": 1099511627776,
      "num_key_value_heads": 1099511627776, "head_dim": 1099511627776})"));
  testing::expect_error([&] { build_checkpoint_spec(wide); }, "config-value");  // dims overflow
}

}  // namespace
}  // namespace symtrace::model
