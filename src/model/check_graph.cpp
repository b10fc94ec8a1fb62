// check_graph: the traced graph of a checkpoint's config, its headers bound to the graph's
// parameters, the passes run, and the kernel of every node with the reason it was chosen.
#include <symtrace/model/check_graph.hpp>

#include <algorithm>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace symtrace::model {

namespace {

using graph::Graph;
using graph::NodeId;
using graph::NodeKind;
using graph::SelectionKind;

// Concrete sizes of a parameter: config symbols take their bound values (a parameter's
// sizes never involve B or S). nullopt when a dim cannot be evaluated.
std::optional<std::vector<std::int64_t>> concrete(const Graph& g, const tensor::SymShape& sizes) {
  const sym::ShapeEnv& env = g.env();
  const auto& values = g.config_values();
  std::vector<std::int64_t> out;
  try {
    for (const sym::SymInt& d : sizes) {
      if (d.is_concrete()) {
        out.push_back(d.value());
        continue;
      }
      out.push_back(sym::evaluate(d.expr(), [&](std::uint32_t id) -> std::optional<std::int64_t> {
        const sym::SymbolInfo& s = env.info(id);
        if (auto it = values.find(s.name); it != values.end()) return it->second;
        return s.hint;
      }));
    }
  } catch (const diag::Error&) {
    return std::nullopt;
  }
  return out;
}

std::vector<std::int64_t> without_unit_dims(const std::vector<std::int64_t>& s) {
  std::vector<std::int64_t> out;
  for (std::int64_t d : s)
    if (d != 1) out.push_back(d);
  return out;
}

std::string shape_str(const std::vector<std::int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

bool plain_float(tensor::DType d) {
  using tensor::DType;
  return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16 || d == DType::kF64;
}

// The loader's rule (load_params.hpp): an unquantized float weight (linear, norm, embedding,
// bias) is converted to the traced float dtype once at load; quantized codes and scales are
// read as stored.
bool loader_converts(const graph::ParamInfo& info, const TensorInfo& header, tensor::DType traced) {
  const bool plain_role = info.role == graph::ParamRole::kWeight || info.role == graph::ParamRole::kOther;
  return plain_role && plain_float(header.dtype) && plain_float(traced);
}

bool reads_weight(const Graph& g, NodeId id) {
  for (const graph::Input& in : g.node(id).inputs) {
    const graph::ParamInfo* p = g.param(in.value.node);
    if (p != nullptr && p->role == graph::ParamRole::kWeight) return true;
  }
  return false;
}

bool reads_parameter(const Graph& g, NodeId id) {
  for (const graph::Input& in : g.node(id).inputs)
    if (g.node(in.value.node).kind == NodeKind::kParameter) return true;
  return false;
}

std::string selection_reason(const Graph& g, NodeId id, const graph::Selection& s) {
  const op::OpDef& def = *g.node(id).op;
  switch (s.kind) {
    case SelectionKind::kVariant: {
      const op::Variant& v = def.variants[static_cast<std::size_t>(s.variant)];
      std::string why = v.rule.empty() ? std::string("always applies") : v.rule;
      std::vector<std::string> guards;
      for (std::uint32_t k : s.guards) guards.push_back(g.env().guards()[k].cond.str());
      if (!guards.empty()) why += fmt::format("; under guard {}", fmt::join(guards, " and "));
      return why;
    }
    case SelectionKind::kReference: return "the only kernel (no fast variant)";
    case SelectionKind::kFallback: return "every fast variant refused; reference fallback";
    case SelectionKind::kRefused: return "every fast variant refused; no fallback allowed";
    case SelectionKind::kForced: return "forced";
    case SelectionKind::kNone: break;
  }
  return "not selected: its fake failed";
}

// d / parts, with the provenance saying so; nullopt when it does not divide.
std::optional<ConfigDim> split(const ConfigDim& d, std::int64_t parts) {
  if (d.value % parts != 0) return std::nullopt;
  return ConfigDim{d.value / parts, fmt::format("{} / tp", d.source)};
}

// The header's shape as one rank holds it: the spec's shard shape of a tensor stored whole.
// nullptr when the spec has no whole shard (a split reported as tp-divisibility).
const std::vector<std::int64_t>* rank_shape(const TensorInfo& h, const ExpectedTensor* e, bool shards) {
  if (!shards || e == nullptr || h.shape != e->shape()) return &h.shape;
  return e->shard_shape.empty() ? nullptr : &e->shard_shape;
}

}  // namespace

std::optional<ModelConfig> rank_config(const ModelConfig& cfg, std::int64_t tp, std::int64_t ep,
                                       std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<ModelConfig> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  ModelConfig r = cfg;
  if (tp == 1) return r;
  auto heads = split(cfg.num_attention_heads, tp);
  if (!heads) return fail(fmt::format("{} = {} attention heads do not split over tp = {}",
                                      cfg.num_attention_heads.source, cfg.num_attention_heads.value, tp));
  r.num_attention_heads = *heads;
  if (cfg.num_key_value_heads.value >= tp) {
    auto kv = split(cfg.num_key_value_heads, tp);
    if (!kv) return fail(fmt::format("{} = {} kv heads do not split over tp = {}",
                                     cfg.num_key_value_heads.source, cfg.num_key_value_heads.value, tp));
    r.num_key_value_heads = *kv;
  } else if (tp % cfg.num_key_value_heads.value != 0) {
    return fail(fmt::format("{} = {} kv heads cannot be replicated evenly over tp = {}",
                            cfg.num_key_value_heads.source, cfg.num_key_value_heads.value, tp));
  } else {
    r.num_key_value_heads = {1, fmt::format("{} replicated (one per rank)", cfg.num_key_value_heads.source)};
  }
  auto inter = split(cfg.intermediate_size, tp);
  if (!inter) return fail(fmt::format("{} = {} does not split over tp = {}", cfg.intermediate_size.source,
                                      cfg.intermediate_size.value, tp));
  r.intermediate_size = *inter;
  if (r.moe && ep == 1) {  // with ep > 1 ranks hold whole experts
    auto mi = split(cfg.moe->intermediate_size, tp);
    if (!mi) return fail(fmt::format("{} = {} does not split over tp = {}",
                                     cfg.moe->intermediate_size.source, cfg.moe->intermediate_size.value, tp));
    r.moe->intermediate_size = *mi;
  }
  return r;
}

std::vector<KernelChoice> kernel_choices(const Graph& g) {
  std::vector<KernelChoice> out;
  for (NodeId id = 0; id < g.size(); ++id) {
    const graph::Node& n = g.node(id);
    if (n.kind != NodeKind::kOp || n.dead) continue;
    const graph::Selection* s = g.selection(id);
    if (s == nullptr) continue;
    KernelChoice k;
    k.id = id;
    k.node = std::string(g.module(id));
    k.op = n.op->name;
    k.kernel = s->kind == SelectionKind::kNone ? std::string("none") : g.kernel_name(id);
    k.reason = selection_reason(g, id, *s);
    for (const graph::Rejection& r : s->rejected)
      k.refused.push_back(fmt::format("{}: {}", n.op->variants[r.variant].name,
                                      r.reason.empty() ? std::string("refused") : r.reason));
    k.reads_weight = reads_weight(g, id);
    k.has_choice = !n.op->variants.empty();
    out.push_back(std::move(k));
  }
  return out;
}

std::size_t bind_headers(Graph& g, const CheckpointSpec& spec, const SafetensorsCheckpoint& ckpt,
                         const std::set<std::string, std::less<>>& already_reported, bool shards) {
  std::size_t added = 0;
  for (NodeId id : g.nodes_of_kind(NodeKind::kParameter)) {
    if (g.node(id).dead) continue;
    const std::string name(g.name(id));
    const TensorInfo* h = ckpt.find(name);
    if (h == nullptr || already_reported.contains(name)) continue;  // missing: the tensor list's
    const tensor::TensorMeta& m = g.meta({id, 0});
    const graph::ParamInfo& info = *g.param(id);
    const ExpectedTensor* e = spec.find(name);
    auto finding = [&](std::string code, std::string expected, std::string got, std::string msg) {
      graph::Finding f;
      f.node = id;
      f.pass = "bind";
      f.diag.code = std::move(code);
      f.diag.node = e != nullptr ? e->module : name.substr(0, name.rfind('.'));
      f.diag.op = "parameter";
      f.diag.argument = name;
      f.diag.expected = std::move(expected);
      f.diag.got = std::move(got);
      f.diag.message = std::move(msg);
      sym::Expr acc;
      for (const sym::SymInt& s : m.sizes)
        if (s.is_symbolic()) acc = acc + s.expr();
      f.diag.notes = g.env().provenance_notes(acc);
      f.diag.notes.push_back(fmt::format("in {}", ckpt.file_of(name).name()));
      g.add_finding(std::move(f));
      ++added;
    };
    const auto traced = concrete(g, m.sizes);
    if (!traced) {
      finding("shape", m.shape_str(), h->shape_str(),
              fmt::format("{}: the traced shape {} does not evaluate under the config's values",
                          name, m.shape_str()));
      continue;
    }
    const std::vector<std::int64_t>* shard = rank_shape(*h, e, shards);
    if (shard == nullptr) continue;
    const std::vector<std::int64_t>& stored = *shard;
    if (*traced != stored && without_unit_dims(*traced) != without_unit_dims(stored)) {
      const bool sharded = stored != h->shape;
      finding("shape", fmt::format("{} = {}", m.shape_str(), shape_str(*traced)),
              sharded ? fmt::format("{} (a rank's shard of {})", shape_str(stored), h->shape_str())
                      : h->shape_str(),
              fmt::format("{}: the graph's parameter is {} but the checkpoint stores {}{}", name,
                          shape_str(*traced), sharded ? shape_str(stored) + " per rank" : h->shape_str(),
                          e != nullptr && (sharded ? e->shard_shape : e->shape()) == *traced
                              ? std::string()
                              : " (the graph and the format's spec disagree: a builder bug)"));
      continue;
    }
    if (h->dtype != m.dtype && !loader_converts(info, *h, m.dtype))
      finding("dtype", std::string(tensor::name(m.dtype)), h->dtype_code,
              fmt::format("{}: the graph's {} reads {} but the checkpoint stores {}; {} are not "
                          "converted at load", name, graph::param_role_name(info.role),
                          tensor::name(m.dtype), h->dtype_code,
                          plain_float(h->dtype) && plain_float(m.dtype) ? "scales"
                                                                        : "quantized or integer tensors"));
  }
  return added;
}

diag::Diagnostic to_diagnostic(const Graph& g, const graph::Finding& f) {
  diag::Diagnostic d = f.diag;
  for (NodeId r : f.related) d.notes.push_back(fmt::format("related: {}", g.label(r)));
  return d;
}

GraphCheck check_graph(const ModelConfig& cfg, const CheckpointSpec& spec,
                       const SafetensorsCheckpoint& ckpt, const GraphCheckOptions& opt) {
  auto stage = [&](std::string_view s) {
    if (opt.progress) opt.progress(s);
  };
  std::optional<ModelConfig> rank;
  std::optional<CheckpointSpec> rank_spec;
  std::string why_not;
  if (opt.tp > 1) {
    rank = rank_config(cfg, opt.tp, opt.ep, &why_not);
    if (rank) rank_spec = build_checkpoint_spec(*rank);
  }
  stage(rank ? "tracing one tensor-parallel rank's graph" : "tracing the model graph");
  BuiltModel built = rank ? build_model_graph(*rank, *rank_spec, opt.build)
                          : build_model_graph(cfg, spec, opt.build);
  GraphCheck r{std::move(built.graph), std::move(built.findings), {}, opt.tp > 1 && rank.has_value()};
  if (opt.tp > 1 && !rank) {
    diag::Diagnostic d;
    d.code = "tp-graph";
    d.severity = diag::Severity::kNote;
    d.message = fmt::format("the per-rank graph for tp = {} is not traced ({}); kernels are chosen "
                            "for the whole model, the split is checked by tp-divisibility", opt.tp,
                            why_not);
    r.findings.push_back(std::move(d));
  }
  stage("binding safetensors headers to parameters");
  bind_headers(r.graph, spec, ckpt, opt.already_reported, r.per_rank);
  stage("selecting kernels, preparing, verifying");
  graph::run_pipeline(r.graph, opt.select);
  // A checkpoint tensor the spec requires that no live node reads would be loaded and ignored.
  for (const ExpectedTensor& t : spec.tensors) {
    if (t.optional || ckpt.find(t.name) == nullptr || spec.unchecked(t.name)) continue;
    const auto p = r.graph.find(NodeKind::kParameter, t.name);
    if (p && !r.graph.node(*p).dead) continue;
    diag::Diagnostic d;
    d.code = "unbound-tensor";
    d.severity = diag::Severity::kWarning;
    d.node = t.module;
    d.argument = t.name;
    d.message = fmt::format("{}: the checkpoint holds this {} but no node of the traced graph "
                            "reads it", t.name, role_name(t.role));
    d.hint = "a runner built from this graph would load it and ignore it";
    r.findings.push_back(std::move(d));
  }
  for (const graph::Finding& f : r.graph.findings()) {
    diag::Diagnostic d = to_diagnostic(r.graph, f);
    // A reference fallback of a node that reads no parameter (routing arithmetic, an
    // elementwise op in a dtype without a fast kernel) says nothing about the checkpoint: a
    // note (--strict shows it); the kernel table still lists the reference kernel.
    if (f.pass == "select" && d.code == "applicability" && d.severity == diag::Severity::kWarning &&
        f.node != graph::kNoNode && !reads_parameter(r.graph, f.node)) {
      d.severity = diag::Severity::kNote;
      d.notes.push_back("a note, not a warning: this node reads no checkpoint tensor");
    }
    r.findings.push_back(std::move(d));
  }
  r.kernels = kernel_choices(r.graph);
  return r;
}

}  // namespace symtrace::model
