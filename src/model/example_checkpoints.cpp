// The bundled example checkpoints (docs/checkpoints.md): tiny models of every supported
// architecture and format, and broken variants that each carry one precise defect.
#include <functional>
#include <limits>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/checkpoint_writer.hpp>

namespace symtrace::model {

namespace {

namespace json = boost::json;

// Base configs, as transformers 5 writes them (keys it would add are left out when they do
// not matter for shapes). Dims are multiples of 128 unless a case is about ragged blocks.
constexpr const char* kLlama = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "bfloat16",
  "vocab_size": 384, "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
  "max_position_embeddings": 512, "rms_norm_eps": 1e-06, "rope_theta": 500000.0,
  "rope_scaling": null, "attention_bias": false, "mlp_bias": false, "hidden_act": "silu",
  "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2})";

constexpr const char* kQwen3Moe = R"({
  "architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "dtype": "bfloat16",
  "vocab_size": 256, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
  "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 64,
  "max_position_embeddings": 512, "rms_norm_eps": 1e-06,
  "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
  "attention_bias": false, "hidden_act": "silu", "tie_word_embeddings": false,
  "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 128,
  "norm_topk_prob": true, "decoder_sparse_step": 1, "mlp_only_layers": [1],
  "use_sliding_window": false, "sliding_window": null})";

constexpr const char* kMixtral = R"({
  "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "dtype": "bfloat16",
  "vocab_size": 256, "hidden_size": 128, "intermediate_size": 128, "num_hidden_layers": 2,
  "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 64,
  "max_position_embeddings": 1024, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
  "num_local_experts": 4, "num_experts_per_tok": 2, "sliding_window": null,
  "hidden_act": "silu", "tie_word_embeddings": false})";

// DeepSeek-V3 shape: MLA with q_lora_rank, kv_a_proj_with_mqa N = 128 + 64 = 192 (a ragged
// last block row), one dense layer, sigmoid group-limited routing, one shared expert.
constexpr const char* kDeepseek = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "dtype": "bfloat16",
  "vocab_size": 256, "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
  "num_attention_heads": 2, "num_key_value_heads": 2, "q_lora_rank": 128, "kv_lora_rank": 128,
  "qk_nope_head_dim": 64, "qk_rope_head_dim": 64, "v_head_dim": 64,
  "max_position_embeddings": 1024, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
  "rope_scaling": {"type": "yarn", "factor": 4.0, "beta_fast": 32, "beta_slow": 1, "mscale": 1.0,
                   "mscale_all_dim": 1.0, "original_max_position_embeddings": 256},
  "rope_interleave": true, "attention_bias": false, "hidden_act": "silu",
  "n_routed_experts": 4, "num_experts_per_tok": 2, "n_group": 2, "topk_group": 1,
  "moe_intermediate_size": 128, "n_shared_experts": 1, "first_k_dense_replace": 1,
  "moe_layer_freq": 1, "routed_scaling_factor": 2.5, "topk_method": "noaux_tc",
  "scoring_func": "sigmoid", "norm_topk_prob": true, "num_nextn_predict_layers": 0,
  "tie_word_embeddings": false})";

constexpr const char* kHfFp8 = R"({"quant_method": "fp8", "activation_scheme": "dynamic",
  "weight_block_size": [128, 128], "modules_to_not_convert": null, "scale_fmt": "float"})";

constexpr const char* kCtInt8 = R"({"quant_method": "compressed-tensors",
  "format": "int-quantized", "quantization_status": "compressed",
  "config_groups": {"group_0": {"targets": ["Linear"],
    "weights": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "channel",
                "dynamic": false, "group_size": null, "observer": "minmax"},
    "input_activations": {"num_bits": 8, "type": "int", "symmetric": true, "strategy": "token",
                          "dynamic": true, "observer": null}}},
  "ignore": ["lm_head", "re:.*mlp.gate$"], "kv_cache_scheme": null})";

constexpr const char* kCtNvfp4 = R"({"quant_method": "compressed-tensors",
  "format": "nvfp4-pack-quantized", "quantization_status": "compressed",
  "config_groups": {"group_0": {"targets": ["Linear"],
    "weights": {"num_bits": 4, "type": "float", "symmetric": true, "strategy": "tensor_group",
                "group_size": 16, "dynamic": false, "scale_dtype": "float8_e4m3fn"},
    "input_activations": null}},
  "ignore": ["lm_head"]})";

constexpr const char* kQuarkInt8 = R"({"quant_method": "quark",
  "global_quant_config": {
    "weight": {"dtype": "int8", "qscheme": "per_channel", "ch_axis": 0, "symmetric": true,
               "is_dynamic": false, "round_method": "half_even"},
    "input_tensors": {"dtype": "int8", "qscheme": "per_tensor", "symmetric": true,
                      "is_dynamic": false, "round_method": "half_even"},
    "output_tensors": null, "bias": null},
  "layer_quant_config": {}, "layer_type_quant_config": {},
  "exclude": ["lm_head"],
  "export": {"kv_cache_group": [], "pack_method": "reorder", "weight_format": "real_quantized"},
  "quant_mode": "eager_mode"})";

// base, with `patch` merged in and `quant` (or nothing) as quantization_config.
std::string config(const char* base, const char* quant = nullptr, const char* patch = nullptr) {
  json::object o = json::parse(base).as_object();
  if (patch != nullptr) {
    const json::value p = json::parse(patch);
    for (const auto& kv : p.as_object()) o[kv.key()] = kv.value();
  }
  if (quant != nullptr) o["quantization_config"] = json::parse(quant);
  return json::serialize(o);
}

std::string quark_partial_exclude() {
  json::object q = json::parse(kQuarkInt8).as_object();
  q["exclude"] = json::array{"lm_head", "model.layers.0.self_attn.q_proj",
                             "model.layers.0.self_attn.k_proj"};
  return config(kMixtral, json::serialize(q).c_str());
}

struct Recipe {
  ExampleCheckpoint info;
  std::function<std::string()> config;
  std::function<void(CheckpointTensors&)> edit;  // empty: clean
};

const std::vector<Recipe>& recipes() {
  static const std::vector<Recipe> r = [] {
    const auto llama_fp8 = [] { return config(kLlama, kHfFp8); };
    const auto qwen_int8 = [] { return config(kQwen3Moe, kCtInt8); };
    std::vector<Recipe> v{
        {{"llama-fp8-block", "Llama, HF fine-grained fp8 (128x128 blocks), every block whole", "", ""},
         llama_fp8, {}},
        {{"llama-fp8-block-ragged",
          "Llama, fp8 blocks with hidden 320: o_proj/down_proj N and q/k/v/gate/up K not multiples "
          "of 128 (cdiv grids)", "", ""},
         [] { return config(kLlama, kHfFp8, R"({"hidden_size": 320, "intermediate_size": 384})"); }, {}},
        {{"llama-nvfp4-w4a16", "Llama, compressed-tensors NVFP4 weight-only (packed e2m1, e4m3 "
          "block scales, global divisor)", "", ""},
         [] { return config(kLlama, kCtNvfp4); }, {}},
        {{"qwen3-moe-bf16", "Qwen3-MoE, bf16: 8 experts, top-2, layer 1 dense (mlp_only_layers)", "", ""},
         [] { return config(kQwen3Moe); }, {}},
        {{"qwen3-moe-fp8-block", "Qwen3-MoE, HF fine-grained fp8 blocks", "", ""},
         [] { return config(kQwen3Moe, kHfFp8); }, {}},
        {{"qwen3-moe-w8a8-int8", "Qwen3-MoE, compressed-tensors int8 W8A8: per-channel [N,1] "
          "weight scales, dynamic per-token activations; router and lm_head ignored", "", ""},
         qwen_int8, {}},
        {{"qwen3-moe-nvfp4-w4a16", "Qwen3-MoE, compressed-tensors NVFP4 weight-only experts (and "
          "router): packed e2m1, e4m3 group scales, per-linear global divisors", "", ""},
         [] { return config(kQwen3Moe, kCtNvfp4); }, {}},
        {{"mixtral-bf16", "Mixtral, bf16: 4 experts (w1/w3/w2), top-2", "", ""},
         [] { return config(kMixtral); }, {}},
        {{"mixtral-fp8-block", "Mixtral, HF fine-grained fp8 blocks", "", ""},
         [] { return config(kMixtral, kHfFp8); }, {}},
        {{"mixtral-quark-int8", "Mixtral, Quark int8: per-channel 1-D [N] weight scales, zero "
          "points, static per-tensor int8 activations", "", ""},
         [] { return config(kMixtral, kQuarkInt8); }, {}},
        {{"deepseek-v3-bf16", "DeepSeek-V3 shape, bf16, hidden 128: MLA, dense layer 0, routed + "
          "shared experts, e_score_correction_bias", "", ""},
         [] { return config(kDeepseek, nullptr, R"({"hidden_size": 128})"); }, {}},
        {{"deepseek-v3-fp8-block", "DeepSeek-V3 shape, HF fp8 blocks, hidden 256: "
          "kv_a_proj_with_mqa N = 192 has a ragged last block row", "", ""},
         [] { return config(kDeepseek, kHfFp8); }, {}},
        // Broken variants: one defect each.
        {{"broken-transposed-scale", "llama-fp8-block with layer 0 gate_proj.weight_scale_inv "
          "transposed ([2, 4] instead of [4, 2])", "scale-layout",
          "model.layers.0.mlp.gate_proj.weight_scale_inv"},
         llama_fp8,
         [](CheckpointTensors& t) { t.transpose2d("model.layers.0.mlp.gate_proj.weight_scale_inv"); }},
        {{"broken-missing-tensor", "llama-fp8-block without layer 1 o_proj.weight_scale_inv",
          "missing-tensor", "model.layers.1.self_attn.o_proj.weight_scale_inv"},
         llama_fp8,
         [](CheckpointTensors& t) { t.erase("model.layers.1.self_attn.o_proj.weight_scale_inv"); }},
        {{"broken-nan-scale", "llama-fp8-block with a NaN in layer 0 q_proj.weight_scale_inv",
          "bad-scale", "model.layers.0.self_attn.q_proj.weight_scale_inv"},
         llama_fp8,
         [](CheckpointTensors& t) {
           t.set_f32("model.layers.0.self_attn.q_proj.weight_scale_inv", 1,
                     std::numeric_limits<float>::quiet_NaN());
         }},
        {{"broken-ct-1d-scale", "qwen3-moe-w8a8-int8 with one expert's weight_scale stored 1-D "
          "[N] (Quark's layout) where compressed-tensors stores [N, 1]", "scale-layout",
          "model.layers.0.mlp.experts.3.down_proj.weight_scale"},
         qwen_int8,
         [](CheckpointTensors& t) {
           t.reshape("model.layers.0.mlp.experts.3.down_proj.weight_scale", {128});
         }},
        {{"broken-partial-exclude", "mixtral-quark-int8 whose exclude list names q_proj and "
          "k_proj of layer 0 but not v_proj: the fused qkv_proj cannot be both", "ignore-mapping",
          "model.layers.0.self_attn.qkv_proj"},
         quark_partial_exclude, {}},
        {{"broken-wrong-dtype", "llama-fp8-block with layer 0 up_proj.weight stored bf16 beside "
          "its fp8 block scale", "dtype", "model.layers.0.mlp.up_proj.weight"},
         llama_fp8,
         [](CheckpointTensors& t) { t.convert("model.layers.0.mlp.up_proj.weight", tensor::DType::kBF16); }},
    };
    return v;
  }();
  return r;
}

const Recipe& recipe(std::string_view name) {
  for (const auto& r : recipes())
    if (r.info.name == name) return r;
  diag::Diagnostic d;
  d.code = "usage";
  d.argument = std::string(name);
  d.message = fmt::format("no example checkpoint named '{}'", name);
  throw diag::Error(std::move(d));
}

}  // namespace

const std::vector<ExampleCheckpoint>& example_checkpoints() {
  static const std::vector<ExampleCheckpoint> v = [] {
    std::vector<ExampleCheckpoint> out;
    for (const auto& r : recipes()) out.push_back(r.info);
    return out;
  }();
  return v;
}

std::string example_config(std::string_view name) { return recipe(name).config(); }

void write_example_checkpoint(std::string_view name, const std::filesystem::path& outdir) {
  const Recipe& r = recipe(name);
  const std::string text = r.config();
  const ModelConfig cfg = parse_hf_config(text, fmt::format("{}/config.json", name));
  // The seed is the same for a clean example and its broken variants: only the defect differs.
  CheckpointTensors t = make_checkpoint_tensors(build_checkpoint_spec(cfg), /*seed=*/1);
  if (r.edit) r.edit(t);
  write_checkpoint(outdir / std::string(name), text, t);
}

}  // namespace symtrace::model
