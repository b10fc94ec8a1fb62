// quantization_config parsing: HF fine-grained fp8, compressed-tensors, Quark (OPS.md §12).
#include <symtrace/model/quant_config.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include <fmt/format.h>

#include "model/json_read.hpp"
#include "model/quant_config_json.hpp"

namespace symtrace::model {

using detail::ObjectReader;
using diag::Severity;
using tensor::DType;

std::string_view quant_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::kNone: return "none";
    case QuantMethod::kFp8: return "fp8";
    case QuantMethod::kCompressedTensors: return "compressed-tensors";
    case QuantMethod::kQuark: return "quark";
    case QuantMethod::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string_view strategy_name(Strategy s) {
  switch (s) {
    case Strategy::kTensor: return "tensor";
    case Strategy::kChannel: return "channel";
    case Strategy::kToken: return "token";
    case Strategy::kGroup: return "group";
    case Strategy::kBlock: return "block";
    case Strategy::kTensorGroup: return "tensor_group";
  }
  return "?";
}

std::optional<DType> QuantArgs::storage_dtype() const {
  if (type == QuantType::kInt && num_bits == 8) return DType::kI8;
  if (type == QuantType::kFloat && num_bits == 8) return DType::kF8E4M3FN;
  if (type == QuantType::kFloat && num_bits == 4) return DType::kF4E2M1X2;
  if (type == QuantType::kInt && num_bits == 4) return DType::kI32;  // 8 per int32 (pack-quantized)
  return std::nullopt;
}

std::string QuantArgs::str() const {
  std::string s = fmt::format("{}{} {}", type == QuantType::kInt ? "int" : "float", num_bits,
                              strategy_name(strategy));
  if (group_size) s += fmt::format(" g{}", *group_size);
  if (block_n) s += fmt::format(" {}x{}", *block_n, block_k.value_or(0));
  s += symmetric ? " symmetric" : " asymmetric";
  s += dynamic == Dynamic::kStatic ? " static" : dynamic == Dynamic::kDynamic ? " dynamic" : " local";
  return s;
}

std::string_view QuantConfig::weight_scale_name() const {
  return method == QuantMethod::kFp8 && block_n ? "weight_scale_inv" : "weight_scale";
}

namespace {

bool is_class_target(std::string_view t) {
  // "Linear", "nn.Linear", "torch.nn.Linear": a module type, matching every linear layer.
  return t == "Linear" || t.ends_with(".Linear") || t == "QuantLinear";
}

bool name_target_matches(std::string_view t, std::string_view module) {
  if (t.starts_with("re:")) return regex_match_prefix(t.substr(3), module);
  if (t.find_first_of("*?") != std::string_view::npos) return glob_match(t, module);
  return t == module;
}

void unknown_fields(const ObjectReader& r, QuantConfig& q) {
  for (const auto& k : r.unread_keys())
    q.findings.push_back(detail::finding(
        "quant-unknown-field", Severity::kWarning, r.key_path(k),
        fmt::format("{}: unknown field {} is not interpreted", r.file(), r.key_path(k))));
}

std::pair<std::int64_t, std::int64_t> block_pair(const ObjectReader& r, std::string_view key) {
  const auto v = r.int_list(key);
  if (v.size() != 2 || v[0] <= 0 || v[1] <= 0)
    r.fail("config-value", key, "expected two positive integers [bn, bk]", "[bn, bk]",
           fmt::format("{} values", v.size()));
  return {v[0], v[1]};
}

// ---- compressed-tensors -------------------------------------------------------------------

std::optional<QuantArgs> ct_args(const ObjectReader& r, QuantConfig& q) {
  QuantArgs a;
  a.num_bits = static_cast<int>(r.opt_int("num_bits").value_or(8));
  const std::string type = r.opt_string("type").value_or("int");
  if (type == "int") a.type = QuantType::kInt;
  else if (type == "float") a.type = QuantType::kFloat;
  else {
    q.findings.push_back(detail::finding("quant-unsupported", Severity::kWarning, r.key_path("type"),
                                         fmt::format("{}: type \"{}\" is not supported", r.file(), type)));
    return std::nullopt;
  }
  a.symmetric = r.bool_or("symmetric", true);
  a.group_size = r.opt_int("group_size");
  if (a.group_size && *a.group_size <= 0) {
    if (*a.group_size != -1)  // -1 means "no group" in some writers
      r.fail("config-value", "group_size", "must be positive", "> 0", std::to_string(*a.group_size));
    a.group_size.reset();
  }
  if (const auto* v = r.get("dynamic")) {
    if (v->is_bool()) a.dynamic = v->get_bool() ? Dynamic::kDynamic : Dynamic::kStatic;
    else if (v->is_string() && v->get_string() == "local") a.dynamic = Dynamic::kLocal;
    else r.fail("config-type", "dynamic", "expected true, false or \"local\"");
  }
  std::optional<std::string> strategy = r.opt_string("strategy");
  if (!strategy) strategy = a.group_size ? "group" : "tensor";
  static constexpr std::array<std::pair<std::string_view, Strategy>, 6> kStrategies{{
      {"tensor", Strategy::kTensor}, {"channel", Strategy::kChannel}, {"token", Strategy::kToken},
      {"group", Strategy::kGroup}, {"block", Strategy::kBlock}, {"tensor_group", Strategy::kTensorGroup}}};
  auto it = std::find_if(kStrategies.begin(), kStrategies.end(),
                         [&](auto& p) { return p.first == *strategy; });
  if (it == kStrategies.end()) {
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("strategy"),
        fmt::format("{}: strategy \"{}\" is not supported", r.file(), *strategy)));
    return std::nullopt;
  }
  a.strategy = it->second;
  if (a.strategy == Strategy::kBlock) {
    if (const auto* v = r.get("block_structure"); v != nullptr && v->is_string()) {
      // Older writers: "128x128".
      const std::string s(v->get_string());
      long long bn = 0, bk = 0;
      if (std::sscanf(s.c_str(), "%lldx%lld", &bn, &bk) != 2 || bn <= 0 || bk <= 0)
        r.fail("config-value", "block_structure", "expected [bn, bk] or \"bnxbk\"", "[bn, bk]", s);
      a.block_n = bn, a.block_k = bk;
    } else {
      auto [bn, bk] = block_pair(r, "block_structure");
      a.block_n = bn, a.block_k = bk;
    }
  } else {
    r.get("block_structure");
  }
  if ((a.strategy == Strategy::kGroup || a.strategy == Strategy::kTensorGroup) && !a.group_size)
    r.fail("config-missing", "group_size", "group strategy needs group_size", "integer", "absent");
  if (auto sd = r.opt_string("scale_dtype")) a.scale_dtype = tensor::dtype_from_name(*sd);
  for (std::string_view k : {"observer", "observer_kwargs", "actorder", "zp_dtype"}) r.get(k);
  unknown_fields(r, q);
  return a;
}

void parse_ct(const ObjectReader& r, QuantConfig& q) {
  q.format = r.opt_string("format").value_or("");
  q.quantization_status = r.opt_string("quantization_status").value_or("");
  static constexpr std::array<std::string_view, 6> kFormats{
      "int-quantized", "float-quantized", "naive-quantized", "nvfp4-pack-quantized",
      "pack-quantized", "mixed-precision"};
  if (!q.format.empty() && std::find(kFormats.begin(), kFormats.end(), q.format) == kFormats.end())
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("format"),
        fmt::format("{}: compressed-tensors format \"{}\" is not supported", r.file(), q.format)));
  if (auto groups = r.opt_object("config_groups")) {
    const auto* obj = r.get("config_groups");
    for (const auto& kv : obj->get_object()) {
      auto g = groups->opt_object(kv.key());
      if (!g) continue;
      QuantScheme s;
      s.name = g->path().substr(r.path().size() + 1);
      s.targets = g->string_list("targets");
      if (auto w = g->opt_object("weights")) {
        s.weights = ct_args(*w, q);
        s.supported = s.supported && s.weights.has_value();
      }
      if (auto a = g->opt_object("input_activations")) {
        s.input_activations = ct_args(*a, q);
        s.supported = s.supported && s.input_activations.has_value();
      }
      if (g->has("output_activations"))
        q.findings.push_back(detail::finding(
            "quant-unsupported", Severity::kWarning, g->key_path("output_activations"),
            fmt::format("{}: output activation quantization is not modelled", r.file())));
      if (auto f = g->opt_string("format"); f && q.format.empty()) q.format = *f;
      unknown_fields(*g, q);
      q.schemes.push_back(std::move(s));
    }
  }
  q.ignore = IgnoreList{r.key_path("ignore"), r.string_list("ignore"), MatchStyle::kExactOrRegex};
  if (const auto* kv = r.get("kv_cache_scheme")) q.kv_cache_scheme = boost::json::serialize(*kv);
  for (std::string_view k : {"global_compression_ratio", "sparsity_config", "transform_config",
                             "version", "provider", "quant_method"})
    r.get(k);
}

// ---- Quark ----------------------------------------------------------------------------------

std::optional<QuantArgs> quark_args(const ObjectReader& r, QuantConfig& q) {
  QuantArgs a;
  const std::string dtype = r.opt_string("dtype").value_or("");
  if (dtype == "int8") a.type = QuantType::kInt, a.num_bits = 8;
  else if (dtype == "uint8") a.type = QuantType::kInt, a.num_bits = 8, a.symmetric = false;
  else if (dtype == "fp8_e4m3") a.type = QuantType::kFloat, a.num_bits = 8;
  else if (dtype == "int4" || dtype == "uint4") a.type = QuantType::kInt, a.num_bits = 4;
  else if (dtype == "fp4") a.type = QuantType::kFloat, a.num_bits = 4;
  else {
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("dtype"),
        fmt::format("{}: Quark dtype \"{}\" is not supported", r.file(), dtype)));
    return std::nullopt;
  }
  const std::string qs = r.opt_string("qscheme").value_or("per_tensor");
  if (qs == "per_tensor") a.strategy = Strategy::kTensor;
  else if (qs == "per_channel") a.strategy = Strategy::kChannel;
  else if (qs == "per_group") a.strategy = Strategy::kGroup;
  else {
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("qscheme"),
        fmt::format("{}: Quark qscheme \"{}\" is not supported", r.file(), qs)));
    return std::nullopt;
  }
  if (auto s = r.opt_bool("symmetric")) a.symmetric = *s;
  a.dynamic = r.bool_or("is_dynamic", false) ? Dynamic::kDynamic : Dynamic::kStatic;
  a.group_size = r.opt_int("group_size");
  if (a.strategy == Strategy::kGroup && (!a.group_size || *a.group_size <= 0))
    r.fail("config-missing", "group_size", "per_group needs a positive group_size");
  if (auto ax = r.opt_int("ch_axis"); ax && a.strategy == Strategy::kChannel && *ax != 0)
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("ch_axis"),
        fmt::format("{}: per-channel weight scales along axis {} (only 0, the output channels, "
                    "is modelled)", r.file(), *ax)));
  for (std::string_view k : {"round_method", "scale_type", "observer_cls", "is_scale_quant",
                             "mx_element_dtype", "scale_format", "scale_calculation_mode"})
    r.get(k);
  unknown_fields(r, q);
  return a;
}

QuantScheme quark_scheme(const ObjectReader& r, std::string name, std::vector<std::string> targets,
                         QuantConfig& q) {
  QuantScheme s;
  s.name = std::move(name);
  s.targets = std::move(targets);
  if (const auto* w = r.get("weight"); w != nullptr && w->is_array()) {
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("weight"),
        fmt::format("{}: multi-stage weight quantization is not supported", r.file())));
    s.supported = false;
  } else if (auto wo = r.opt_object("weight")) {
    s.weights = quark_args(*wo, q);
    s.supported = s.weights.has_value();
  }
  if (auto in = r.opt_object("input_tensors")) {
    s.input_activations = quark_args(*in, q);
    s.supported = s.supported && s.input_activations.has_value();
    // Activations have no channels: a per-channel activation spec is per-token in practice.
    if (s.input_activations && s.input_activations->strategy == Strategy::kChannel)
      s.input_activations->strategy = Strategy::kToken;
  }
  if (r.has("output_tensors"))
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("output_tensors"),
        fmt::format("{}: output tensor quantization is not modelled", r.file())));
  for (std::string_view k : {"bias", "target_device"}) r.get(k);
  unknown_fields(r, q);
  return s;
}

void parse_quark(const ObjectReader& r, QuantConfig& q) {
  // Most specific first: per-layer patterns, then per-type, then the global config.
  if (auto lq = r.opt_object("layer_quant_config")) {
    for (const auto& kv : r.get("layer_quant_config")->get_object())
      if (auto o = lq->opt_object(kv.key()))
        q.schemes.push_back(quark_scheme(*o, o->path().substr(r.path().size() + 1),
                                         {std::string(kv.key())}, q));
  }
  if (auto lt = r.opt_object("layer_type_quant_config")) {
    for (const auto& kv : r.get("layer_type_quant_config")->get_object())
      if (auto o = lt->opt_object(kv.key())) {
        std::string type(kv.key());
        if (!is_class_target(type))
          q.findings.push_back(detail::finding(
              "quant-unsupported", Severity::kWarning, o->path(),
              fmt::format("{}: layer type \"{}\" is not modelled", r.file(), type)));
        q.schemes.push_back(quark_scheme(*o, o->path().substr(r.path().size() + 1), {type}, q));
      }
  }
  if (auto g = r.opt_object("global_quant_config"))
    q.schemes.push_back(quark_scheme(*g, "global_quant_config", {"Linear"}, q));
  q.ignore = IgnoreList{r.key_path("exclude"), r.string_list("exclude"), MatchStyle::kExactOrRegex};
  for (std::string_view k : {"export", "algo_config", "quant_mode", "version", "kv_cache_group",
                             "softmax_quant_spec", "attention_quant_config", "min_kv_scale",
                             "quant_method", "kv_cache_post_rope"})
    r.get(k);
}

// ---- HF fine-grained fp8 --------------------------------------------------------------------

void parse_fp8(const ObjectReader& r, QuantConfig& q) {
  q.activation_scheme = r.opt_string("activation_scheme").value_or("dynamic");
  if (q.activation_scheme != "dynamic" && q.activation_scheme != "static")
    r.fail("config-value", "activation_scheme", "expected \"dynamic\" or \"static\"",
           "dynamic | static", q.activation_scheme);
  if (r.has("weight_block_size")) {
    auto [bn, bk] = block_pair(r, "weight_block_size");
    q.block_n = bn, q.block_k = bk;
  }
  q.scale_fmt = r.opt_string("scale_fmt").value_or("");
  if (!q.scale_fmt.empty() && q.scale_fmt != "float" && q.scale_fmt != "ue8m0")
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("scale_fmt"),
        fmt::format("{}: scale_fmt \"{}\" is not known", r.file(), q.scale_fmt)));
  if (auto fmt_ = r.opt_string("fmt"); fmt_ && *fmt_ != "e4m3")
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("fmt"),
        fmt::format("{}: fp8 element format \"{}\" is not supported (e4m3 only)", r.file(), *fmt_)));
  if (r.bool_or("dequantize", false))
    q.findings.push_back(detail::finding(
        "quant-note", Severity::kNote, r.key_path("dequantize"),
        fmt::format("{}: dequantize=true only changes how transformers loads the weights", r.file())));
  std::vector<std::string> skip = r.string_list("modules_to_not_convert");
  const auto more = r.string_list("ignored_layers");  // vLLM's spelling
  skip.insert(skip.end(), more.begin(), more.end());
  q.ignore = IgnoreList{r.key_path("modules_to_not_convert"), std::move(skip), MatchStyle::kHfModules};
  if (r.has("modules_to_convert"))
    q.findings.push_back(detail::finding(
        "quant-unsupported", Severity::kWarning, r.key_path("modules_to_convert"),
        fmt::format("{}: modules_to_convert is not modelled; every Linear is taken as converted",
                    r.file())));

  QuantScheme s;
  s.name = "fp8";
  s.targets = {"Linear"};
  QuantArgs w;
  w.num_bits = 8;
  w.type = QuantType::kFloat;
  if (q.block_n) {
    w.strategy = Strategy::kBlock;
    w.block_n = q.block_n, w.block_k = q.block_k;
  }
  s.weights = w;
  QuantArgs a = w;
  a.block_n.reset(), a.block_k.reset();
  if (q.activation_scheme == "dynamic") {
    a.dynamic = Dynamic::kDynamic;
    a.strategy = q.block_n ? Strategy::kGroup : Strategy::kToken;
    if (q.block_n) a.group_size = q.block_k;
  } else {
    a.strategy = Strategy::kTensor;
  }
  s.input_activations = a;
  q.schemes.push_back(std::move(s));
}

}  // namespace

const QuantScheme* QuantConfig::targeted_scheme(std::string_view module) const {
  // compressed-tensors' order: a target naming the module (exactly or by regex) beats a
  // class target; within each kind the first scheme wins.
  for (const auto& s : schemes)
    for (const auto& t : s.targets)
      if (!is_class_target(t) && name_target_matches(t, module)) return &s;
  for (const auto& s : schemes)
    for (const auto& t : s.targets)
      if (is_class_target(t)) return &s;
  return nullptr;
}

const QuantScheme* QuantConfig::scheme_for(std::string_view module) const {
  if (!quantized() || ignore.match(module)) return nullptr;
  return targeted_scheme(module);
}

namespace detail {

QuantConfig parse_quant_config(const ObjectReader& r) {
  QuantConfig q;
  q.key = r.path();
  std::string method = r.opt_string("quant_method").value_or("");
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  q.method_name = method;
  if (method == "fp8") {
    q.method = QuantMethod::kFp8;
    parse_fp8(r, q);
  } else if (method == "compressed-tensors" || method == "compressed_tensors") {
    q.method = QuantMethod::kCompressedTensors;
    parse_ct(r, q);
  } else if (method == "quark") {
    q.method = QuantMethod::kQuark;
    parse_quark(r, q);
  } else {
    q.method = QuantMethod::kUnknown;
    q.findings.push_back(finding(
        "quant-unsupported", Severity::kWarning, r.key_path("quant_method"),
        method.empty()
            ? fmt::format("{}: {} has no quant_method", r.file(), r.path())
            : fmt::format("{}: quantization method \"{}\" is not supported; its tensors are not "
                          "checked", r.file(), method)));
    return q;
  }
  unknown_fields(r, q);
  return q;
}

}  // namespace detail

QuantConfig parse_quant_config(std::string_view json_text, std::string_view file,
                               std::string_view key) {
  const boost::json::value v = detail::parse_json(json_text, file);
  if (!v.is_object()) {
    diag::Diagnostic d;
    d.code = "config-type";
    d.argument = std::string(key);
    d.message = fmt::format("{}: {} is not an object", file, key);
    throw diag::Error(std::move(d));
  }
  return detail::parse_quant_config(ObjectReader(v.get_object(), std::string(key), std::string(file)));
}

}  // namespace symtrace::model
