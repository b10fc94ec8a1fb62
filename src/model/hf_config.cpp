// config.json -> ModelConfig for the dense, MoE and MLA architectures of issue 6.
#include <symtrace/model/hf_config.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "model/json_read.hpp"
#include "model/quant_config_json.hpp"

namespace symtrace::model {

using detail::ObjectReader;
using diag::Severity;

namespace {

struct ArchName {
  Architecture arch;
  std::string_view name;
  std::string_view model_type;
};
constexpr std::array<ArchName, 7> kArchs{{
    {Architecture::kLlama, "LlamaForCausalLM", "llama"},
    {Architecture::kQwen2, "Qwen2ForCausalLM", "qwen2"},
    {Architecture::kQwen3, "Qwen3ForCausalLM", "qwen3"},
    {Architecture::kMistral, "MistralForCausalLM", "mistral"},
    {Architecture::kMixtral, "MixtralForCausalLM", "mixtral"},
    {Architecture::kQwen3Moe, "Qwen3MoeForCausalLM", "qwen3_moe"},
    {Architecture::kDeepseekV3, "DeepseekV3ForCausalLM", "deepseek_v3"},
}};

// transformers' defaults for keys a config may omit (its *Config classes).
struct ArchDefaults {
  std::int64_t max_position_embeddings;
  double rms_norm_eps;
  double rope_theta;
};
ArchDefaults defaults_of(Architecture a) {
  switch (a) {
    case Architecture::kLlama: return {2048, 1e-6, 10000.0};
    case Architecture::kQwen2: return {32768, 1e-6, 10000.0};
    case Architecture::kQwen3: return {32768, 1e-6, 10000.0};
    case Architecture::kMistral: return {4096 * 32, 1e-6, 10000.0};
    case Architecture::kMixtral: return {4096 * 32, 1e-5, 1e6};
    case Architecture::kQwen3Moe: return {32768, 1e-6, 10000.0};
    case Architecture::kDeepseekV3: return {4096, 1e-6, 10000.0};
  }
  return {2048, 1e-6, 10000.0};
}

ConfigDim dim(const ObjectReader& r, std::string_view key) {
  return {r.req_positive(key), r.key_path(key)};
}

std::optional<ConfigDim> opt_dim(const ObjectReader& r, std::string_view key) {
  auto v = r.opt_int(key);
  if (!v) return std::nullopt;
  if (*v <= 0) r.fail("config-value", key, "dimension must be positive", "> 0", std::to_string(*v));
  return ConfigDim{*v, r.key_path(key)};
}

void note_default(ModelConfig& c, const ObjectReader& r, std::string_view key, std::string value) {
  c.findings.push_back(detail::finding(
      "config-default", Severity::kNote, r.key_path(key),
      fmt::format("{}: {} is absent; using transformers' default {}", r.file(), r.key_path(key),
                  value)));
}

double positive_number(const ObjectReader& r, std::string_view key, double v) {
  if (!std::isfinite(v) || v <= 0)
    r.fail("config-value", key, "must be a positive finite number", "> 0", fmt::format("{}", v));
  return v;
}

void parse_rope(const ObjectReader& top, ModelConfig& c) {
  RopeConfig& rope = c.rope;
  const ArchDefaults def = defaults_of(c.arch);
  std::optional<ObjectReader> params = top.opt_object("rope_parameters");  // transformers >= 5
  std::optional<ObjectReader> scaling = top.opt_object("rope_scaling");
  const ObjectReader* src = params ? &*params : scaling ? &*scaling : nullptr;
  rope.source = src ? src->path() : top.path();

  std::optional<double> theta = params ? params->opt_number("rope_theta") : std::nullopt;
  if (!theta) theta = top.opt_number("rope_theta");
  if (!theta) note_default(c, top, "rope_theta", fmt::format("{}", def.rope_theta));
  rope.theta = positive_number(top, "rope_theta", theta.value_or(def.rope_theta));

  std::optional<double> prf = params ? params->opt_number("partial_rotary_factor") : std::nullopt;
  if (!prf) prf = top.opt_number("partial_rotary_factor");
  rope.partial_rotary_factor = prf.value_or(1.0);
  if (!(rope.partial_rotary_factor > 0 && rope.partial_rotary_factor <= 1))
    top.fail("config-value", "partial_rotary_factor", "must be in (0, 1]", "(0, 1]",
             fmt::format("{}", rope.partial_rotary_factor));
  if (src == nullptr) return;

  auto type = src->opt_string("rope_type");
  if (!type) type = src->opt_string("type");
  rope.type = type.value_or("default");
  auto req = [&](std::string_view key) {
    auto v = src->opt_number(key);
    if (!v)
      src->fail("config-missing", key,
                fmt::format("rope type \"{}\" needs this field", rope.type), "number", "absent");
    return positive_number(*src, key, *v);
  };
  auto opt = [&](std::string_view key) -> std::optional<double> {
    auto v = src->opt_number(key);
    if (v) positive_number(*src, key, *v);
    return v;
  };
  auto orig = [&](bool required) -> std::optional<std::int64_t> {
    auto v = src->opt_int("original_max_position_embeddings");
    if (!v) v = top.opt_int("original_max_position_embeddings");
    if (!v && required)
      src->fail("config-missing", "original_max_position_embeddings",
                fmt::format("rope type \"{}\" needs this field", rope.type), "integer", "absent");
    if (v && *v <= 0)
      src->fail("config-value", "original_max_position_embeddings", "must be positive", "> 0",
                std::to_string(*v));
    return v;
  };
  if (rope.type == "default") {
  } else if (rope.type == "linear" || rope.type == "dynamic") {
    rope.factor = req("factor");
    rope.original_max_position_embeddings = orig(false);
  } else if (rope.type == "llama3") {
    rope.factor = req("factor");
    rope.low_freq_factor = req("low_freq_factor");
    rope.high_freq_factor = req("high_freq_factor");
    rope.original_max_position_embeddings = orig(true);
    if (*rope.high_freq_factor <= *rope.low_freq_factor)
      src->fail("config-value", "high_freq_factor", "must exceed low_freq_factor",
                fmt::format("> {}", *rope.low_freq_factor), fmt::format("{}", *rope.high_freq_factor));
  } else if (rope.type == "yarn") {
    rope.factor = req("factor");
    rope.beta_fast = opt("beta_fast").value_or(32.0);
    rope.beta_slow = opt("beta_slow").value_or(1.0);
    rope.mscale = opt("mscale");
    rope.mscale_all_dim = opt("mscale_all_dim");
    rope.attention_factor = opt("attention_factor");
    rope.original_max_position_embeddings = orig(false);
    if (!rope.original_max_position_embeddings)
      rope.original_max_position_embeddings = c.max_position_embeddings.value;
  } else {
    c.findings.push_back(detail::finding(
        "config-unsupported", Severity::kWarning, src->key_path("rope_type"),
        fmt::format("{}: rope type \"{}\" is not modelled; shapes do not depend on it", src->file(),
                    rope.type)));
  }
}

void parse_moe(const ObjectReader& r, ModelConfig& c) {
  MoeConfig m;
  switch (c.arch) {
    case Architecture::kMixtral:
      m.num_experts = dim(r, "num_local_experts");
      m.top_k = dim(r, "num_experts_per_tok");
      m.intermediate_size = c.intermediate_size;
      m.norm_topk_prob = true;  // Mixtral always renormalizes its top-k weights
      break;
    case Architecture::kQwen3Moe:
      m.num_experts = dim(r, "num_experts");
      m.top_k = dim(r, "num_experts_per_tok");
      m.intermediate_size = dim(r, "moe_intermediate_size");
      m.norm_topk_prob = r.bool_or("norm_topk_prob", false);
      m.decoder_sparse_step = r.opt_int("decoder_sparse_step").value_or(1);
      if (m.decoder_sparse_step <= 0)
        r.fail("config-value", "decoder_sparse_step", "must be positive", "> 0",
               std::to_string(m.decoder_sparse_step));
      m.mlp_only_layers = r.int_list("mlp_only_layers");
      break;
    case Architecture::kDeepseekV3: {
      if (!r.has("n_routed_experts")) return;  // a dense DeepSeek-V3-shaped model
      m.num_experts = dim(r, "n_routed_experts");
      m.top_k = dim(r, "num_experts_per_tok");
      m.intermediate_size = dim(r, "moe_intermediate_size");
      m.n_shared_experts = r.opt_int("n_shared_experts").value_or(0) > 0
                               ? std::optional(dim(r, "n_shared_experts"))
                               : std::nullopt;
      m.first_k_dense_replace = r.opt_int("first_k_dense_replace").value_or(0);
      m.moe_layer_freq = r.opt_int("moe_layer_freq").value_or(1);
      if (m.first_k_dense_replace < 0)
        r.fail("config-value", "first_k_dense_replace", "must not be negative", ">= 0",
               std::to_string(m.first_k_dense_replace));
      if (m.moe_layer_freq <= 0)
        r.fail("config-value", "moe_layer_freq", "must be positive", "> 0",
               std::to_string(m.moe_layer_freq));
      m.routed_scaling_factor = r.number_or("routed_scaling_factor", 1.0);
      m.n_group = r.opt_int("n_group").value_or(1);
      m.topk_group = r.opt_int("topk_group").value_or(1);
      m.topk_method = r.opt_string("topk_method").value_or("noaux_tc");
      m.scoring_func = r.opt_string("scoring_func").value_or("sigmoid");
      m.norm_topk_prob = r.bool_or("norm_topk_prob", true);
      if (m.n_group <= 0 || m.num_experts.value % m.n_group != 0)
        r.fail("config-value", "n_group", "must be positive and divide n_routed_experts",
               fmt::format("a divisor of {}", m.num_experts.value), std::to_string(m.n_group));
      if (m.topk_group <= 0 || m.topk_group > m.n_group)
        r.fail("config-value", "topk_group", "must be in [1, n_group]",
               fmt::format("<= {}", m.n_group), std::to_string(m.topk_group));
      if (m.top_k.value > m.topk_group * (m.num_experts.value / m.n_group))
        r.fail("config-value", "num_experts_per_tok",
               "exceeds the experts of the topk_group selected groups",
               fmt::format("<= {}", m.topk_group * (m.num_experts.value / m.n_group)),
               std::to_string(m.top_k.value));
      if (m.scoring_func != "sigmoid" && m.scoring_func != "softmax")
        c.findings.push_back(detail::finding(
            "config-unsupported", Severity::kWarning, r.key_path("scoring_func"),
            fmt::format("{}: scoring_func \"{}\" is not modelled", r.file(), m.scoring_func)));
      break;
    }
    default: return;
  }
  if (m.top_k.value > m.num_experts.value)
    r.fail("config-value", "num_experts_per_tok", "exceeds the number of experts",
           fmt::format("<= {}", m.num_experts.value), std::to_string(m.top_k.value));
  c.moe = std::move(m);
}

void parse_mla(const ObjectReader& r, ModelConfig& c) {
  MlaConfig m;
  m.q_lora_rank = opt_dim(r, "q_lora_rank");
  m.kv_lora_rank = dim(r, "kv_lora_rank");
  m.qk_nope_head_dim = dim(r, "qk_nope_head_dim");
  m.qk_rope_head_dim = dim(r, "qk_rope_head_dim");
  m.v_head_dim = dim(r, "v_head_dim");
  c.rope.interleaved = r.bool_or("rope_interleave", true);
  c.mla = std::move(m);
}

}  // namespace

std::string_view architecture_name(Architecture a) {
  for (const auto& n : kArchs)
    if (n.arch == a) return n.name;
  return "?";
}

std::optional<Architecture> architecture_from_name(std::string_view s) {
  for (const auto& n : kArchs)
    if (n.name == s) return n.arch;
  return std::nullopt;
}

bool ModelConfig::is_moe_layer(std::int64_t layer) const {
  if (!moe) return false;
  switch (arch) {
    case Architecture::kQwen3Moe:
      return std::find(moe->mlp_only_layers.begin(), moe->mlp_only_layers.end(), layer) ==
                 moe->mlp_only_layers.end() &&
             (layer + 1) % moe->decoder_sparse_step == 0;
    case Architecture::kDeepseekV3:
      return layer >= moe->first_k_dense_replace && layer % moe->moe_layer_freq == 0;
    default: return true;
  }
}

ModelConfig parse_hf_config(std::string_view json_text, std::string_view file) {
  const boost::json::value v = detail::parse_json(json_text, file);
  if (!v.is_object()) {
    diag::Diagnostic d;
    d.code = "config-type";
    d.argument = "config";
    d.message = fmt::format("{}: the top level is not a JSON object", file);
    throw diag::Error(std::move(d));
  }
  const ObjectReader r(v.get_object(), "config", std::string(file));
  ModelConfig c;
  c.file = std::string(file);
  c.model_type = r.opt_string("model_type").value_or("");

  std::optional<Architecture> arch;
  const auto archs = r.string_list("architectures");
  for (const auto& a : archs)
    if ((arch = architecture_from_name(a))) break;
  if (!arch && archs.empty())
    for (const auto& n : kArchs)
      if (n.model_type == c.model_type) arch = n.arch;
  if (!arch) {
    std::vector<std::string_view> known;
    for (const auto& n : kArchs) known.push_back(n.name);
    r.fail(archs.empty() ? "config-missing" : "config-architecture", "architectures",
           "no supported architecture", fmt::format("one of {}", fmt::join(known, ", ")),
           archs.empty() ? std::string("absent") : fmt::format("{}", fmt::join(archs, ", ")));
  }
  c.arch = *arch;
  const ArchDefaults def = defaults_of(c.arch);

  c.vocab_size = dim(r, "vocab_size");
  c.hidden_size = dim(r, "hidden_size");
  c.intermediate_size = dim(r, "intermediate_size");
  c.num_hidden_layers = dim(r, "num_hidden_layers");
  c.num_attention_heads = dim(r, "num_attention_heads");
  if (auto kv = opt_dim(r, "num_key_value_heads")) {
    c.num_key_value_heads = *kv;
  } else {
    c.num_key_value_heads = c.num_attention_heads;
    note_default(c, r, "num_key_value_heads", "num_attention_heads");
  }
  if (c.num_attention_heads.value % c.num_key_value_heads.value != 0)
    r.fail("config-value", "num_key_value_heads", "must divide num_attention_heads (GQA)",
           fmt::format("a divisor of {}", c.num_attention_heads.value),
           std::to_string(c.num_key_value_heads.value));
  if (auto mp = opt_dim(r, "max_position_embeddings")) {
    c.max_position_embeddings = *mp;
  } else {
    c.max_position_embeddings = {def.max_position_embeddings,
                                 fmt::format("default({})", def.max_position_embeddings)};
    note_default(c, r, "max_position_embeddings", std::to_string(def.max_position_embeddings));
  }
  if (auto eps = r.opt_number("rms_norm_eps")) {
    c.rms_norm_eps = positive_number(r, "rms_norm_eps", *eps);
  } else {
    c.rms_norm_eps = def.rms_norm_eps;
    note_default(c, r, "rms_norm_eps", fmt::format("{}", def.rms_norm_eps));
  }
  c.tie_word_embeddings = r.bool_or("tie_word_embeddings", false);

  if (c.arch == Architecture::kDeepseekV3) parse_mla(r, c);
  if (auto hd = opt_dim(r, "head_dim")) {
    c.head_dim = *hd;
  } else if (c.mla) {
    c.head_dim = c.mla->qk_rope_head_dim;  // what transformers sets; MLA does not use it
  } else {
    if (c.hidden_size.value % c.num_attention_heads.value != 0)
      r.fail("config-value", "num_attention_heads",
             "must divide hidden_size when head_dim is not given",
             fmt::format("a divisor of {}", c.hidden_size.value),
             std::to_string(c.num_attention_heads.value));
    c.head_dim = {c.hidden_size.value / c.num_attention_heads.value,
                  "config.hidden_size / config.num_attention_heads"};
  }

  switch (c.arch) {
    case Architecture::kQwen2:  // q/k/v always carry a bias, o_proj never
      c.attention_bias = true;
      r.get("attention_bias");
      break;
    case Architecture::kLlama:
      c.attention_bias = c.o_proj_bias = r.bool_or("attention_bias", false);
      c.mlp_bias = r.bool_or("mlp_bias", false);
      break;
    case Architecture::kQwen3:
    case Architecture::kQwen3Moe:
    case Architecture::kDeepseekV3:
      c.attention_bias = c.o_proj_bias = r.bool_or("attention_bias", false);
      break;
    case Architecture::kMistral:
    case Architecture::kMixtral: break;
  }
  c.qk_norm = c.arch == Architecture::kQwen3 || c.arch == Architecture::kQwen3Moe;

  const bool sliding_used = (c.arch == Architecture::kQwen2 || c.arch == Architecture::kQwen3 ||
                             c.arch == Architecture::kQwen3Moe)
                                ? r.bool_or("use_sliding_window", false)
                                : true;
  if (auto sw = r.opt_int("sliding_window"); sw && sliding_used) {
    if (*sw <= 0) r.fail("config-value", "sliding_window", "must be positive", "> 0", std::to_string(*sw));
    c.sliding_window = *sw;
  }

  for (std::string_view key : {"dtype", "torch_dtype"}) {
    if (auto s = r.opt_string(key)) {
      c.dtype_key = r.key_path(key);
      if (*s != "auto") {
        c.dtype = tensor::dtype_from_name(*s);
        if (!c.dtype || !tensor::info(*c.dtype).is_float || tensor::info(*c.dtype).bits < 16)
          r.fail("config-value", key, "not a floating-point model dtype", "bfloat16 | float16 | float32", *s);
      }
      break;
    }
  }

  parse_rope(r, c);
  parse_moe(r, c);
  c.num_nextn_predict_layers = r.opt_int("num_nextn_predict_layers").value_or(0);

  for (std::string_view key : {"quantization_config", "compression_config"}) {
    if (auto q = r.opt_object(key)) {
      c.quant = detail::parse_quant_config(*q);
      break;
    }
  }
  return c;
}

ModelConfig load_hf_config(const std::filesystem::path& dir_or_file) {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::is_directory(dir_or_file, ec)
                                      ? dir_or_file / "config.json"
                                      : dir_or_file;
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    diag::Diagnostic d;
    d.code = "config-io";
    d.argument = p.string();
    d.message = fmt::format("{}: cannot open", p.string());
    throw diag::Error(std::move(d));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_hf_config(ss.str(), p.string());
}

}  // namespace symtrace::model
