// Graph: node storage, names, module paths, reading helpers.
#include <algorithm>

#include <fmt/format.h>

#include "graph/graph_impl.hpp"

namespace symtrace::graph {

namespace v2 = boost::variant2;

std::string_view node_kind_name(NodeKind k) {
  switch (k) {
    case NodeKind::kInput: return "input";
    case NodeKind::kParameter: return "parameter";
    case NodeKind::kState: return "state";
    case NodeKind::kOp: return "op";
    case NodeKind::kOutput: return "output";
  }
  return "?";
}

std::string_view param_role_name(ParamRole r) {
  switch (r) {
    case ParamRole::kWeight: return "weight";
    case ParamRole::kWeightScale: return "weight_scale";
    case ParamRole::kInputScale: return "input_scale";
    case ParamRole::kZeroPoint: return "zero_point";
    case ParamRole::kGlobalScale: return "global_scale";
    case ParamRole::kOther: return "other";
  }
  return "?";
}

std::string_view granularity_name(Granularity g) {
  switch (g) {
    case Granularity::kNone: return "none";
    case Granularity::kTensor: return "per-tensor";
    case Granularity::kChannel: return "per-channel";
    case Granularity::kToken: return "per-token";
    case Granularity::kBlock: return "block";
    case Granularity::kGroup: return "group";
  }
  return "?";
}

std::string_view selection_kind_name(SelectionKind k) {
  switch (k) {
    case SelectionKind::kNone: return "none";
    case SelectionKind::kVariant: return "variant";
    case SelectionKind::kReference: return "reference";
    case SelectionKind::kFallback: return "fallback";
    case SelectionKind::kRefused: return "refused";
    case SelectionKind::kForced: return "forced";
  }
  return "?";
}

ParamInfo per_tensor(ParamRole role) {
  return ParamInfo{.role = role, .granularity = Granularity::kTensor};
}
ParamInfo per_channel(ParamRole role) {
  return ParamInfo{.role = role, .granularity = Granularity::kChannel};
}
ParamInfo block(std::int64_t bn, std::int64_t bk, ParamRole role) {
  return ParamInfo{.role = role, .granularity = Granularity::kBlock, .block_n = bn, .block_k = bk};
}
ParamInfo group(std::int64_t g, ParamRole role) {
  return ParamInfo{.role = role, .granularity = Granularity::kGroup, .group = g};
}

std::string location_str(const symtrace::SourceLocation& loc) {
  std::string_view file = loc.file_name();
  if (file.empty()) return {};
  // Keep the last two path components: stable across checkouts, still findable.
  std::size_t cut = file.rfind('/');
  if (cut != std::string_view::npos && cut > 0) {
    std::size_t prev = file.rfind('/', cut - 1);
    if (prev != std::string_view::npos) file = file.substr(prev + 1);
  }
  return fmt::format("{}:{}", file, loc.line());
}

// --- Impl ------------------------------------------------------------------------------

std::uint32_t Graph::Impl::intern_module(std::string_view path) {
  auto it = module_index.find(path);
  if (it != module_index.end()) return it->second;
  auto id = static_cast<std::uint32_t>(modules.size());
  modules.emplace_back(path);
  module_index.emplace(std::string(path), id);
  return id;
}

std::uint32_t Graph::Impl::intern_name(std::string name) {
  auto id = static_cast<std::uint32_t>(names.size());
  names.push_back(std::move(name));
  return id;
}

void Graph::Impl::claim_guards(NodeId site) {
  const std::size_t n = env.guards().size();
  while (guard_sites.size() < n) guard_sites.push_back(site);
}

NodeId Graph::Impl::add_node(Node n) {
  const auto id = static_cast<NodeId>(boost::add_vertex(std::move(n), adj));
  dirty.push_back(0);
  ++live;
  return id;
}

void Graph::Impl::add_edges(NodeId consumer) {
  for (const Input& in : node(consumer).inputs)
    boost::add_edge(in.value.node, consumer, EdgeProp{in.arg, in.pos, in.value.port}, adj);
}

// --- Graph -----------------------------------------------------------------------------

Graph::Graph() : impl_(std::make_unique<Impl>(sym::ShapeEnv())) {}
Graph::Graph(sym::ShapeEnv env) : impl_(std::make_unique<Impl>(std::move(env))) {}
Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;

sym::ShapeEnv& Graph::env() { return impl_->env; }
const sym::ShapeEnv& Graph::env() const { return impl_->env; }

namespace {

[[noreturn]] void duplicate_name(NodeKind k, const std::string& name) {
  diag::Diagnostic d;
  d.code = "graph";
  d.argument = name;
  d.message = fmt::format("a graph {} named '{}' already exists", node_kind_name(k), name);
  throw diag::Error(std::move(d));
}

}  // namespace

static NodeId add_named(Graph::Impl& im, NodeKind kind, std::string name, TensorMeta meta,
                        std::string_view module, symtrace::SourceLocation loc) {
  if (im.by_name.contains(std::pair(kind, name))) duplicate_name(kind, name);
  Node n;
  n.kind = kind;
  n.module = im.intern_module(module);
  n.name = im.intern_name(name);
  n.loc = loc;
  n.outputs.push_back(Port{std::move(meta), true});
  NodeId id = im.add_node(std::move(n));
  im.by_name.emplace(std::pair(kind, std::move(name)), id);
  return id;
}

NodeId Graph::add_input(std::string name, TensorMeta meta, std::string_view module,
                        symtrace::SourceLocation loc) {
  return add_named(*impl_, NodeKind::kInput, std::move(name), std::move(meta), module, loc);
}

NodeId Graph::add_parameter(std::string name, TensorMeta meta, ParamInfo info,
                            std::string_view module, symtrace::SourceLocation loc) {
  if (info.weight != kNoNode) {
    if (info.weight >= size() || node(info.weight).kind != NodeKind::kParameter)
      throw diag::InternalError(fmt::format("parameter '{}' names node {} as its weight, which "
                                            "is not a parameter", name, info.weight));
  }
  NodeId id = add_named(*impl_, NodeKind::kParameter, std::move(name), std::move(meta), module, loc);
  impl_->node(id).param = static_cast<std::int32_t>(impl_->params.size());
  impl_->params.push_back(info);
  return id;
}

NodeId Graph::add_state(std::string name, TensorMeta meta, std::string_view module,
                        symtrace::SourceLocation loc) {
  return add_named(*impl_, NodeKind::kState, std::move(name), std::move(meta), module, loc);
}

NodeId Graph::add_op(const op::OpDef& op, std::vector<Input> inputs, std::vector<Attr> attrs,
                     std::vector<Port> outputs, std::string_view module, symtrace::SourceLocation loc,
                     bool poisoned) {
  for (const Input& in : inputs) {
    if (in.value.node >= size() || in.value.port >= node(in.value.node).outputs.size() ||
        !node(in.value.node).outputs[in.value.port].present)
      throw diag::InternalError(fmt::format("{}: input refers to a value that does not exist",
                                            op.name));
  }
  Node n;
  n.kind = NodeKind::kOp;
  n.poisoned = poisoned;
  n.module = impl_->intern_module(module);
  n.loc = loc;
  n.op = &op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  n.outputs = std::move(outputs);
  NodeId id = impl_->add_node(std::move(n));
  impl_->add_edges(id);
  return id;
}

NodeId Graph::add_output(std::string name, ValueRef value, symtrace::SourceLocation loc) {
  if (value.node >= size() || value.port >= node(value.node).outputs.size() ||
      !node(value.node).outputs[value.port].present)
    throw diag::InternalError(fmt::format("output '{}' refers to a value that does not exist",
                                          name));
  if (impl_->by_name.contains(std::pair(NodeKind::kOutput, name)))
    duplicate_name(NodeKind::kOutput, name);
  Node n;
  n.kind = NodeKind::kOutput;
  n.module = node(value.node).module;
  n.name = impl_->intern_name(name);
  n.loc = loc;
  n.poisoned = node(value.node).poisoned;
  n.inputs.push_back(Input{0, 0, value});
  NodeId id = impl_->add_node(std::move(n));
  impl_->add_edges(id);
  impl_->by_name.emplace(std::pair(NodeKind::kOutput, std::move(name)), id);
  return id;
}

void Graph::set_config_value(std::string symbol, std::int64_t value) {
  impl_->config_values[std::move(symbol)] = value;
}

const std::map<std::string, std::int64_t, std::less<>>& Graph::config_values() const {
  return impl_->config_values;
}

std::size_t Graph::size() const { return boost::num_vertices(impl_->adj); }
std::size_t Graph::live_size() const { return impl_->live; }
std::size_t Graph::edge_count() const { return boost::num_edges(impl_->adj); }

const Node& Graph::node(NodeId id) const {
  if (id >= size()) throw diag::InternalError(fmt::format("no node {}", id));
  return impl_->node(id);
}

const TensorMeta& Graph::meta(ValueRef v) const {
  const Node& n = node(v.node);
  if (v.port >= n.outputs.size() || !n.outputs[v.port].present)
    throw diag::InternalError(fmt::format("node {} has no output {}", v.node, v.port));
  return n.outputs[v.port].meta;
}

const ParamInfo* Graph::param(NodeId id) const {
  const Node& n = node(id);
  return n.param < 0 ? nullptr : &impl_->params[static_cast<std::size_t>(n.param)];
}

std::string_view Graph::module(NodeId id) const { return impl_->modules[node(id).module]; }
std::string_view Graph::name(NodeId id) const { return impl_->names[node(id).name]; }

std::string Graph::op_name(NodeId id) const {
  const Node& n = node(id);
  return n.op ? n.op->name : std::string(node_kind_name(n.kind));
}

std::string Graph::location(NodeId id) const { return location_str(node(id).loc); }

std::string Graph::label(NodeId id) const {
  const Node& n = node(id);
  if (n.kind == NodeKind::kOp) {
    std::string_view m = module(id);
    return m.empty() ? n.op->name : fmt::format("{} ({})", m, n.op->name);
  }
  return fmt::format("{} {}", node_kind_name(n.kind), name(id));
}

std::vector<NodeId> Graph::consumers(NodeId id) const {
  std::vector<NodeId> out;
  for (auto [it, end] = boost::out_edges(id, impl_->adj); it != end; ++it) {
    auto t = static_cast<NodeId>(boost::target(*it, impl_->adj));
    if (!impl_->node(t).dead && (out.empty() || out.back() != t)) out.push_back(t);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<NodeId> Graph::nodes_of_kind(NodeKind k) const {
  std::vector<NodeId> out;
  for (NodeId i = 0; i < size(); ++i)
    if (impl_->node(i).kind == k && !impl_->node(i).dead) out.push_back(i);
  return out;
}

std::optional<NodeId> Graph::find(NodeKind k, std::string_view name) const {
  auto it = impl_->by_name.find(std::pair(k, std::string(name)));
  if (it == impl_->by_name.end()) return std::nullopt;
  return it->second;
}

std::vector<NodeId> Graph::at(std::string_view module) const {
  std::vector<NodeId> out;
  auto it = impl_->module_index.find(module);
  if (it == impl_->module_index.end()) return out;
  for (NodeId i = 0; i < size(); ++i) {
    const Node& n = impl_->node(i);
    if (n.kind == NodeKind::kOp && !n.dead && n.module == it->second) out.push_back(i);
  }
  return out;
}

std::vector<op::Value> Graph::args(NodeId id) const {
  const Node& n = node(id);
  if (n.kind != NodeKind::kOp) throw diag::InternalError("Graph::args of a non-op node");
  std::vector<op::Value> v(n.op->schema.args.size());  // None by default
  for (const Attr& a : n.attrs) v[a.arg] = a.value;
  for (const Input& in : n.inputs) {
    const TensorMeta& m = meta(in.value);
    if (n.op->schema.args[in.arg].type == op::ArgType::kTensorList) {
      auto* list = v2::get_if<std::vector<TensorMeta>>(&v[in.arg]);
      if (!list) v[in.arg] = std::vector<TensorMeta>{}, list = v2::get_if<std::vector<TensorMeta>>(&v[in.arg]);
      if (list->size() <= in.pos) list->resize(in.pos + 1);
      (*list)[in.pos] = m;
    } else {
      v[in.arg] = m;
    }
  }
  return v;
}

std::string Graph::kernel_name(NodeId id) const {
  const Node& n = node(id);
  if (!n.op) return {};
  const Selection* s = selection(id);
  if (!s || s->kind == SelectionKind::kNone || s->kind == SelectionKind::kRefused) return {};
  if (s->variant < 0) return n.op->name + ".reference";
  return n.op->variants[static_cast<std::size_t>(s->variant)].name;
}

const std::vector<Finding>& Graph::findings() const { return impl_->findings; }

std::size_t Graph::count(diag::Severity s) const {
  return static_cast<std::size_t>(std::count_if(impl_->findings.begin(), impl_->findings.end(),
                                                [s](const Finding& f) { return f.diag.severity == s; }));
}

void Graph::add_finding(Finding f) {
  if (f.node != kNoNode && f.node < size()) {
    if (f.diag.node.empty()) f.diag.node = std::string(module(f.node));
    if (f.diag.op.empty()) f.diag.op = node(f.node).op ? node(f.node).op->name : label(f.node);
    if (f.diag.location.empty()) f.diag.location = location(f.node);
  }
  impl_->findings.push_back(std::move(f));
}

const Selection* Graph::selection(NodeId id) const {
  if (id >= impl_->selections.size()) return nullptr;
  return &impl_->selections[id];
}

const PrepareRecord* Graph::prepared(NodeId param) const {
  auto it = impl_->prepared.find(param);
  return it == impl_->prepared.end() ? nullptr : &it->second;
}

NodeId Graph::guard_site(std::size_t guard_index) const {
  return guard_index < impl_->guard_sites.size() ? impl_->guard_sites[guard_index] : kNoNode;
}

void Graph::force_kernel(NodeId id, std::string_view kernel) {
  const Node& n = node(id);
  if (n.kind != NodeKind::kOp) throw diag::InternalError("force_kernel on a non-op node");
  std::int16_t index = -2;
  if (kernel == n.op->name + ".reference") index = -1;
  for (std::size_t i = 0; i < n.op->variants.size(); ++i)
    if (n.op->variants[i].name == kernel) index = static_cast<std::int16_t>(i);
  if (index == -2) {
    diag::Diagnostic d;
    d.code = "unknown-kernel";
    d.node = std::string(module(id));
    d.op = n.op->name;
    d.message = fmt::format("op '{}' has no kernel named '{}'", n.op->name, kernel);
    throw diag::Error(std::move(d));
  }
  if (impl_->selections.size() < size()) impl_->selections.resize(size());
  Selection& s = impl_->selections[id];
  s = Selection{};
  s.kind = SelectionKind::kForced;
  s.variant = index;
}

}  // namespace symtrace::graph
