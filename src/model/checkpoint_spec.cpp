// build_checkpoint_spec: config + quantization_config -> the expected tensors, with the
// fusion, ignore-list and tensor-parallel findings of OPS.md §7 and §12.4.
#include <symtrace/model/checkpoint_spec.hpp>

#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "model/json_read.hpp"
#include "model/spec_builder.hpp"

namespace symtrace::model {

using diag::Severity;
using tensor::DType;
using tensor::ScaleFormat;

std::string_view role_name(TensorRole r) {
  switch (r) {
    case TensorRole::kWeight: return "weight";
    case TensorRole::kWeightScale: return "weight_scale";
    case TensorRole::kInputScale: return "input_scale";
    case TensorRole::kZeroPoint: return "zero_point";
    case TensorRole::kGlobalScale: return "global_scale";
    case TensorRole::kBias: return "bias";
    case TensorRole::kNorm: return "norm";
    case TensorRole::kEmbedding: return "embedding";
    case TensorRole::kOther: return "other";
  }
  return "?";
}

std::string_view parallel_name(Parallel p) {
  switch (p) {
    case Parallel::kReplicated: return "replicated";
    case Parallel::kColumn: return "column";
    case Parallel::kRow: return "row";
  }
  return "?";
}

std::vector<std::int64_t> ExpectedTensor::shape() const {
  std::vector<std::int64_t> s;
  for (const auto& d : dims) s.push_back(d.value);
  return s;
}

std::string ExpectedTensor::shape_str() const { return fmt::format("[{}]", fmt::join(shape(), ", ")); }

std::string ExpectedTensor::symbolic_shape() const {
  std::vector<std::string_view> s;
  for (const auto& d : dims) s.push_back(d.symbol);
  return fmt::format("[{}]", fmt::join(s, ", "));
}

bool ExpectedTensor::accepts_dtype(DType d) const {
  return d == dtype || std::find(also_dtypes.begin(), also_dtypes.end(), d) != also_dtypes.end();
}

bool ExpectedTensor::accepts_shape(const std::vector<std::int64_t>& s) const {
  return s == shape() || std::find(also_shapes.begin(), also_shapes.end(), s) != also_shapes.end();
}

const ExpectedTensor* CheckpointSpec::find(std::string_view name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const ExpectedTensor& t, std::string_view n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

const LinearSpec* CheckpointSpec::linear(std::string_view module) const {
  for (const auto& l : linears)
    if (l.name == module) return &l;
  return nullptr;
}

bool CheckpointSpec::unchecked(std::string_view tensor_name) const {
  return std::any_of(unchecked_modules.begin(), unchecked_modules.end(), [&](const std::string& m) {
    return tensor_name.size() > m.size() && tensor_name.starts_with(m) && tensor_name[m.size()] == '.';
  });
}

namespace detail {

namespace {

[[noreturn]] void overflow(const Dim& a, const Dim& b, std::string_view op) {
  diag::Diagnostic d;
  d.code = "config-value";
  d.argument = fmt::format("{} {} {}", a.e, op, b.e);
  d.message = fmt::format("dimension {} {} {} overflows int64", a.e, op, b.e);
  throw diag::Error(std::move(d));
}

std::string paren(const std::string& e) {
  return e.find_first_of("+/-") == std::string::npos ? e : fmt::format("({})", e);
}

SpecDim sdim(const Dim& d, std::string symbol) { return {d.v, std::move(symbol), d.e}; }
SpecDim one() { return {1, "1", "1"}; }
// A short symbol for a plain tensor's dim: the config key, or the expression when derived.
std::string symbol_of(const Dim& d) {
  if (d.e.starts_with("config.") && d.e.find(' ') == std::string::npos) return d.e.substr(7);
  return d.e;
}

}  // namespace

Dim cfg_dim(const ConfigDim& d) { return {d.value, d.source}; }
Dim lit(std::int64_t v) { return {v, std::to_string(v)}; }
Dim mul(const Dim& a, const Dim& b) {
  Dim r;
  if (__builtin_mul_overflow(a.v, b.v, &r.v)) overflow(a, b, "*");
  r.e = fmt::format("{} * {}", paren(a.e), paren(b.e));
  return r;
}
Dim add(const Dim& a, const Dim& b) {
  Dim r;
  if (__builtin_add_overflow(a.v, b.v, &r.v)) overflow(a, b, "+");
  r.e = fmt::format("{} + {}", a.e, b.e);
  return r;
}

SpecBuilder::SpecBuilder(const ModelConfig& cfg, const QuantConfig* quant, SpecOptions opt)
    : cfg_(cfg), quant_(quant), opt_(opt) {}

void SpecBuilder::add(ExpectedTensor t) { spec_.tensors.push_back(std::move(t)); }

void SpecBuilder::plain(std::string name, TensorRole role, std::vector<Dim> dims,
                        std::string module, DType dtype, std::vector<DType> also) {
  ExpectedTensor t;
  t.name = std::move(name);
  t.role = role;
  t.dtype = dtype;
  t.also_dtypes = std::move(also);
  for (const auto& d : dims) {
    t.dims.push_back(sdim(d, symbol_of(d)));
    if (d.e.find(' ') != std::string::npos)
      t.notes.push_back(fmt::format("{} = {} from {}", symbol_of(d), d.v, d.e));
  }
  t.module = std::move(module);
  t.shard_shape = t.shape();
  known_.push_back(t.module);
  add(std::move(t));
}

void SpecBuilder::kv_cache_scales(const std::string& attn_prefix) {
  if (quant_ == nullptr || quant_->kv_cache_scheme.empty()) return;
  for (const char* n : {"k_scale", "v_scale"}) {
    ExpectedTensor t;
    t.name = attn_prefix + n;
    t.role = TensorRole::kInputScale;
    t.dtype = DType::kF32;
    t.also_dtypes = {DType::kBF16, DType::kF16};
    t.dims = {one()};
    t.also_shapes = {{}};
    t.module = attn_prefix.substr(0, attn_prefix.size() - 1);
    t.granularity = Strategy::kTensor;
    t.scale_fmt = ScaleFormat::kF32;
    t.optional = true;  // written by some exporters only; vLLM falls back to 1.0
    t.shard_shape = t.shape();
    add(std::move(t));
  }
}

CheckpointSpec SpecBuilder::finish() {
  check_groups();
  check_ignore_entries();
  std::sort(spec_.tensors.begin(), spec_.tensors.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < spec_.tensors.size(); ++i)
    if (spec_.tensors[i].name == spec_.tensors[i - 1].name)
      throw diag::InternalError(fmt::format("tensor {} declared twice", spec_.tensors[i].name));
  return std::move(spec_);
}

// ---- fused groups and ignore lists -------------------------------------------------------

void SpecBuilder::check_groups() {
  std::unordered_map<std::string_view, const LinearSpec*> by_name;
  for (const auto& l : spec_.linears) by_name.emplace(l.name, &l);
  const bool quantized = quant_ != nullptr && quant_->quantized();
  for (const FusedGroup& g : groups_) {
    known_.push_back(g.name);
    std::vector<const LinearSpec*> parts;
    for (const auto& p : g.parts)
      if (auto it = by_name.find(p); it != by_name.end()) parts.push_back(it->second);
    if (parts.size() != g.parts.size() || parts.empty()) continue;
    const bool experts = parts.front()->expert >= 0;
    const std::int64_t tp = experts && opt_.ep > 1 ? 1 : opt_.tp;  // EP ranks hold whole experts
    if (experts && tp > 1 && parts.front()->N.value % tp != 0) {
      const LinearSpec& p = *parts.front();
      auto f = finding("tp-divisibility", Severity::kError, g.name,
                       fmt::format("experts of {}: intermediate size {} ({}) is not divisible by "
                                   "tp = {}", g.name, p.N.value, p.N.expr, tp));
      f.node = g.name;
      f.expected = fmt::format("I % {} == 0", tp);
      f.got = fmt::format("{} % {} = {}", p.N.value, tp, p.N.value % tp);
      spec_.findings.push_back(std::move(f));
      continue;
    }

    if (quantized) {
      const IgnoreDecision d = quant_->ignore.decide_parts(g.name, g.parts);
      if (d.partial) {
        auto f = finding("ignore-mapping", Severity::kError, g.name,
                         fmt::format("{} ignores {} of the {} parts of fused module {}: a fused "
                                     "kernel runs all parts with one scheme",
                                     quant_->ignore.key, d.ignored_parts.size(), g.parts.size(), g.name));
        f.node = g.name;
        f.expected = "all parts ignored, or none";
        f.got = fmt::format("ignored: {}; quantized: {}", fmt::join(d.ignored_parts, ", "),
                            fmt::join(d.quantized_parts, ", "));
        f.hint = "list every part (q_proj, k_proj, v_proj / gate_proj, up_proj) or none";
        spec_.findings.push_back(std::move(f));
      }
      if (!d.fused_name_entry.empty() && !d.ignored) {
        auto f = finding("ignore-mapping", Severity::kWarning, g.name,
                         fmt::format("{} entry \"{}\" names fused module {}, which no checkpoint "
                                     "tensor carries: the exporter quantized its parts, while a "
                                     "loader matching fused names would load them unquantized",
                                     quant_->ignore.key, d.fused_name_entry, g.name));
        f.node = g.name;
        f.hint = fmt::format("name the parts instead: {}", fmt::join(g.parts, ", "));
        spec_.findings.push_back(std::move(f));
      }
      std::set<std::string> schemes;
      for (const auto* p : parts) schemes.insert(p->scheme);
      if (schemes.size() > 1 && !d.partial) {
        auto f = finding("fused-partition", Severity::kError, g.name,
                         fmt::format("parts of fused module {} are quantized by different "
                                     "schemes ({})", g.name, fmt::join(schemes, ", ")));
        f.node = g.name;
        spec_.findings.push_back(std::move(f));
      }
    }

    // Block grids: only the last part of a merged layer that stays whole may be ragged
    // (vLLM validate_fp8_block_shape); expert w13 halves must each fill whole blocks.
    const LinearSpec& first = *parts.front();
    if (!first.quantized || !first.weights || first.weights->strategy != Strategy::kBlock) continue;
    const std::int64_t bn = first.weights->block_n.value_or(128);
    if (experts) {
      const std::int64_t n = first.N.value;
      if ((n / tp) % bn != 0) {
        auto f = finding(tp > 1 ? "tp-divisibility" : "fused-partition", Severity::kError, g.name,
                         fmt::format("experts of {}: intermediate size per rank {} ({} / tp {}) is "
                                     "not a multiple of the {}-row weight block",
                                     g.name, n / tp, first.N.expr, tp, bn));
        f.node = g.name;
        f.expected = fmt::format("I / tp % {} == 0", bn);
        f.got = fmt::format("{} % {} = {}", n / tp, bn, (n / tp) % bn);
        spec_.findings.push_back(std::move(f));
      }
    } else if (!g.tp_split || tp == 1) {
      for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const LinearSpec& p = *parts[i];
        if (p.N.value % bn == 0) continue;
        auto f = finding("fused-partition", Severity::kError, p.name,
                         fmt::format("partition {} of merged {} has N = {} ({}), not a multiple "
                                     "of the {}-row weight block; only the last partition may "
                                     "be ragged", i, g.name, p.N.value, p.N.expr, bn));
        f.node = g.name;
        f.expected = fmt::format("N % {} == 0", bn);
        f.got = fmt::format("{} % {} = {}", p.N.value, bn, p.N.value % bn);
        spec_.findings.push_back(std::move(f));
      }
    }
  }
}

void SpecBuilder::check_ignore_entries() {
  if (quant_ == nullptr || !quant_->quantized() || quant_->ignore.entries.empty()) return;
  std::vector<std::string> modules = known_;
  for (const auto& l : spec_.linears) modules.push_back(l.name);
  std::set<std::string> fused_names;
  for (const auto& g : groups_) fused_names.insert(g.name);
  for (const auto& e : quant_->ignore.unused(modules)) {
    const IgnoreList one{quant_->ignore.key, {e}, quant_->ignore.style};
    const bool fused_only = std::any_of(fused_names.begin(), fused_names.end(),
                                        [&](const std::string& f) { return one.match(f).has_value(); });
    if (fused_only) continue;  // reported per fused module by check_groups
    auto f = finding("ignore-unused", Severity::kWarning, quant_->ignore.key,
                     fmt::format("{} entry \"{}\" matches no module of the model", quant_->ignore.key, e));
    f.got = e;
    spec_.findings.push_back(std::move(f));
  }
}

}  // namespace detail

CheckpointSpec build_checkpoint_spec(const ModelConfig& cfg, const QuantConfig* quant,
                                     SpecOptions opt) {
  if (quant == nullptr && cfg.quant) quant = &*cfg.quant;
  if (opt.tp < 1 || opt.ep < 1) {
    diag::Diagnostic d;
    d.code = "usage";
    d.message = fmt::format("tp and ep must be >= 1 (got tp={}, ep={})", opt.tp, opt.ep);
    throw diag::Error(std::move(d));
  }
  // Refuse configs whose tensor list would not fit in memory (a typo'd layer count).
  const std::int64_t experts = cfg.moe ? cfg.moe->num_experts.value : 0;
  if (cfg.num_hidden_layers.value > 100000 || experts > 100000 ||
      cfg.num_hidden_layers.value * (32 + 12 * experts) > 50'000'000) {
    diag::Diagnostic d;
    d.code = "config-value";
    d.argument = "config.num_hidden_layers";
    d.message = fmt::format("{}: {} layers x {} experts is too many tensors to enumerate",
                            cfg.file, cfg.num_hidden_layers.value, experts);
    throw diag::Error(std::move(d));
  }
  detail::SpecBuilder b(cfg, quant, opt);
  detail::declare_modules(b);
  // DeepSeek's multi-token-prediction layers follow the last decoder layer in the file;
  // inference without MTP never loads them.
  for (std::int64_t l = 0; l < cfg.num_nextn_predict_layers && l < 16; ++l)
    b.unchecked(fmt::format("model.layers.{}", cfg.num_hidden_layers.value + l));
  if (cfg.moe && opt.ep > 1 && cfg.moe->num_experts.value % opt.ep != 0) {
    auto f = detail::finding("tp-divisibility", Severity::kError, cfg.moe->num_experts.source,
                             fmt::format("{} experts ({}) cannot be split evenly over ep = {} ranks",
                                         cfg.moe->num_experts.value, cfg.moe->num_experts.source,
                                         opt.ep));
    f.expected = fmt::format("E % {} == 0", opt.ep);
    f.got = fmt::format("{} % {} = {}", cfg.moe->num_experts.value, opt.ep,
                        cfg.moe->num_experts.value % opt.ep);
    CheckpointSpec s = b.finish();
    s.findings.push_back(std::move(f));
    return s;
  }
  return b.finish();
}

}  // namespace symtrace::model
