// model::QuantConfig — a checkpoint's `quantization_config`, one typed form for every method.
//
//   QuantConfig q = parse_quant_config(R"({"quant_method": "fp8", "weight_block_size": [128, 128]})");
//   const QuantScheme* s = q.scheme_for("model.layers.0.self_attn.q_proj");  // null: not quantized
//   IgnoreDecision d = q.ignore.decide("model.layers.0.self_attn.qkv_proj", kDefaultFusedMapping);
//
// HF fine-grained fp8, compressed-tensors and Quark all become QuantSchemes (weights +
// input_activations arguments) selected by targets; the ignore list (CT `ignore`, Quark
// `exclude`, HF `modules_to_not_convert`) is matched the way each method's loader does.
// Unknown methods and fields become findings (warnings), never exceptions; a malformed value
// of a known field (a string where a number belongs) is a diag::Error naming the key.
// OPS.md §12 is the contract.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::model {

enum class QuantMethod : std::uint8_t { kNone, kFp8, kCompressedTensors, kQuark, kUnknown };
std::string_view quant_method_name(QuantMethod m);  // "fp8", "compressed-tensors", "quark"

enum class QuantType : std::uint8_t { kInt, kFloat };
// How one scale is shared (compressed-tensors' spelling; Quark's qschemes map onto it).
enum class Strategy : std::uint8_t { kTensor, kChannel, kToken, kGroup, kBlock, kTensorGroup };
std::string_view strategy_name(Strategy s);  // "tensor", "channel", ..., "tensor_group"
enum class Dynamic : std::uint8_t { kStatic, kDynamic, kLocal };

// compressed-tensors QuantizationArgs (also the translation of Quark and HF fp8 settings).
struct QuantArgs {
  int num_bits = 8;
  QuantType type = QuantType::kInt;
  Strategy strategy = Strategy::kTensor;
  bool symmetric = true;
  Dynamic dynamic = Dynamic::kStatic;
  std::optional<std::int64_t> group_size;      // kGroup / kTensorGroup (nvfp4: 16)
  std::optional<std::int64_t> block_n, block_k;  // kBlock (weight_block_size / block_structure)
  std::optional<tensor::DType> scale_dtype;    // "scale_dtype" when given (nvfp4: f8_e4m3fn)

  // Element type stored in the checkpoint: i8, f8_e4m3fn, packed f4 pairs; nullopt for
  // combinations no format stores (e.g. int 3-bit).
  std::optional<tensor::DType> storage_dtype() const;
  std::string str() const;  // "int8 channel symmetric static"
};

struct QuantScheme {
  std::string name;                  // "config_groups.group_0", "global_quant_config", ...
  std::vector<std::string> targets;  // "Linear", exact names, "re:" regexes or globs
  std::optional<QuantArgs> weights;
  std::optional<QuantArgs> input_activations;
  bool supported = true;  // false: some argument could not be modelled (see findings)
};

// Fused (packed) module name -> its checkpoint parts, e.g. qkv_proj -> q_proj, k_proj, v_proj.
using FusedMapping = std::map<std::string, std::vector<std::string>, std::less<>>;
// vLLM's packed_modules_mapping of the dense architectures here.
const FusedMapping& default_fused_mapping();

enum class MatchStyle : std::uint8_t {
  kExactOrRegex,  // CT / Quark: equal, a "re:" pattern matched from the start, or a glob
  kHfModules,     // HF modules_to_not_convert: re.match(entry, name) or name.endswith(entry)
};

struct IgnoreDecision {
  bool ignored = false;   // the module (a fused one: every part) is ignored
  bool partial = false;   // some parts of a fused module ignored, others not
  std::vector<std::string> ignored_parts, quantized_parts;  // full names, for fused modules
  std::string matched_entry;     // first entry that matched a part (or the unfused module)
  std::string fused_name_entry;  // an entry matching the fused name itself, which no
                                 // checkpoint tensor carries (exporters never see it)
};

struct IgnoreList {
  std::string key;  // where it came from: "quantization_config.ignore"
  std::vector<std::string> entries;
  MatchStyle style = MatchStyle::kExactOrRegex;

  // The entry matching one checkpoint (unfused) module name, if any.
  std::optional<std::string> match(std::string_view module) const;
  // A module of the model, possibly fused: a fused module (last name component a key of
  // `fused`, or explicit `parts`) is ignored iff all its parts are; a partial match is
  // reported in the decision (the caller turns it into an "ignore-mapping" finding). An
  // entry naming only the fused module is reported in fused_name_entry, not obeyed: the
  // exporter that wrote the checkpoint saw the unfused names.
  IgnoreDecision decide(std::string_view module, const FusedMapping& fused) const;
  IgnoreDecision decide_parts(std::string_view module, const std::vector<std::string>& parts) const;
  // Entries that match none of `modules` (checkpoint names): likely typos or fused names.
  std::vector<std::string> unused(const std::vector<std::string>& modules) const;
};

struct QuantConfig {
  QuantMethod method = QuantMethod::kNone;
  std::string method_name;  // as written ("compressed-tensors", "fp8", "quark", ...)
  std::string key = "quantization_config";

  // HF fine-grained fp8.
  std::optional<std::int64_t> block_n, block_k;  // weight_block_size
  std::string activation_scheme;                 // "dynamic" / "static"
  std::string scale_fmt;                         // "float" / "ue8m0" / ""
  // compressed-tensors.
  std::string format;               // "int-quantized", "float-quantized", ...
  std::string quantization_status;  // "compressed", "frozen", ...
  std::string kv_cache_scheme;      // serialized; non-empty: k_scale / v_scale tensors may exist

  std::vector<QuantScheme> schemes;  // first matching scheme wins (Quark: layer configs first)
  IgnoreList ignore;
  std::vector<diag::Diagnostic> findings;  // unknown methods/fields/values (warnings)

  bool quantized() const { return method != QuantMethod::kNone && method != QuantMethod::kUnknown; }
  // The scheme applying to a Linear module of the checkpoint (unfused name), or null when
  // it is ignored, targeted by no scheme, or the method is unknown.
  const QuantScheme* scheme_for(std::string_view module) const;
  // The scheme targeting the module, ignoring the ignore list.
  const QuantScheme* targeted_scheme(std::string_view module) const;
  // Tensor name of the weight scale: "weight_scale_inv" (HF fp8) or "weight_scale".
  std::string_view weight_scale_name() const;
};

// Parses the `quantization_config` object (its JSON text). `key` names it in messages.
QuantConfig parse_quant_config(std::string_view json_text,
                               std::string_view file = "config.json",
                               std::string_view key = "quantization_config");

// Python re.match(pattern, name) for the re syntax of module patterns, in time linear in the
// name (no backtracking); unsupported or malformed patterns are diag::Error "config-value".
bool regex_match_prefix(std::string_view pattern, std::string_view name);
// fnmatch-style glob: '*' any run, '?' one character, no character classes.
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace symtrace::model
