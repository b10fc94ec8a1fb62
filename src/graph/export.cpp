// Graph export: readable dump, Graphviz DOT, JSON (schema: docs/graph.md).
#include <symtrace/graph/export.hpp>

#include <fmt/format.h>

#include "graph/graph_impl.hpp"
#include "graph/json_util.hpp"

namespace symtrace::graph {

namespace v2 = boost::variant2;

namespace {

bool shown(const Node& n, const ExportOptions& o) {
  if (n.dead && !o.include_dead) return false;
  return o.include_params || n.kind != NodeKind::kParameter;
}

std::string ref_str(ValueRef v) {
  return v.port == 0 ? fmt::format("%{}", v.node) : fmt::format("%{}.{}", v.node, v.port);
}

// Arguments in schema order: tensors as %ids, the rest as values.
std::string call_args(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  const auto& args = n.op->schema.args;
  std::vector<std::string> parts(args.size());
  for (const Attr& a : n.attrs)
    if (args[a.arg].type != op::ArgType::kTensorList) parts[a.arg] = op::value_str(a.value);
  std::vector<std::vector<std::string>> lists(args.size());
  for (const Input& in : n.inputs) {
    if (args[in.arg].type == op::ArgType::kTensorList) {
      lists[in.arg].push_back(ref_str(in.value));
    } else {
      parts[in.arg] = ref_str(in.value);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string p = parts[i];
    if (args[i].type == op::ArgType::kTensorList) p = fmt::format("[{}]", fmt::join(lists[i], ", "));
    if (p.empty()) p = "None";
    if (args[i].kwarg_only) p = fmt::format("{}={}", args[i].name, p);
    if (i) out += ", ";
    out += p;
  }
  return out;
}

std::string outputs_str(const Node& n) {
  std::vector<std::string> parts;
  for (const Port& p : n.outputs) parts.push_back(p.present ? p.meta.str() : "None");
  if (parts.size() == 1) return parts[0];
  return fmt::format("({})", fmt::join(parts, ", "));
}

// Highest severity of the findings on a node (kNote + 1: none).
int worst(const Graph& g, NodeId id) {
  int w = static_cast<int>(diag::Severity::kNote) + 1;
  for (const Finding& f : g.findings())
    if (f.node == id) w = std::min(w, static_cast<int>(f.diag.severity));
  return w;
}

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void json_meta(std::string& out, const TensorMeta& m) {
  std::vector<std::string> sizes, strides;
  for (const auto& s : m.sizes) sizes.push_back(s.str());
  for (const auto& s : m.strides) strides.push_back(s.str());
  out += "{\"dtype\":";
  json_string(out, tensor::name(m.dtype));
  out += ",\"sizes\":" + json_strings(sizes) + ",\"strides\":" + json_strings(strides);
  out += ",\"storage_offset\":" + json_quote(m.storage_offset.str());
  out += ",\"layout\":" + json_quote(tensor::weight_layout_name(m.layout));
  out += ",\"scale_fmt\":" + json_quote(tensor::scale_format_name(m.scale_fmt)) + "}";
}

}  // namespace

std::string dump(const Graph& g, const ExportOptions& o) {
  std::string out;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (!shown(n, o)) continue;
    std::string line;
    switch (n.kind) {
      case NodeKind::kOp: {
        line = fmt::format("%{} = {}({}) : {}", id, n.op->name, call_args(g, id), outputs_str(n));
        if (!g.module(id).empty()) line += fmt::format("  {}", g.module(id));
        if (std::string k = g.kernel_name(id); !k.empty()) line += fmt::format("  [{}]", k);
        break;
      }
      case NodeKind::kOutput:
        line = fmt::format("%{} = output {} = {}", id, g.name(id), ref_str(n.inputs[0].value));
        break;
      case NodeKind::kParameter: {
        const ParamInfo* p = g.param(id);
        line = fmt::format("%{} = parameter {} : {}", id, g.name(id), n.outputs[0].meta.str());
        if (p->role != ParamRole::kOther) line += fmt::format("  ({}", param_role_name(p->role));
        if (p->weight != kNoNode) line += fmt::format(" of %{}", p->weight);
        if (p->granularity != Granularity::kNone)
          line += fmt::format(", {}", granularity_name(p->granularity));
        if (p->role != ParamRole::kOther) line += ")";
        if (const PrepareRecord* r = g.prepared(id))
          line += fmt::format("  prepared by %{} from {}", r->by, r->original.str());
        break;
      }
      default:
        line = fmt::format("%{} = {} {} : {}", id, node_kind_name(n.kind), g.name(id),
                           n.outputs[0].meta.str());
    }
    if (n.poisoned) line += "  !poisoned";
    if (n.dead) line += "  !dead";
    out += line;
    out += '\n';
  }
  return out;
}

std::string to_dot(const Graph& g, const ExportOptions& o) {
  std::string out = "digraph symtrace {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n"
                    "  edge [fontname=\"monospace\", fontsize=10];\n";
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (!shown(n, o)) continue;
    std::string label;
    std::string attrs;
    if (n.kind == NodeKind::kOp) {
      label = g.module(id).empty() ? n.op->name : fmt::format("{}\n{}", g.module(id), n.op->name);
      if (std::string k = g.kernel_name(id); !k.empty()) label += fmt::format("\n[{}]", k);
    } else {
      label = fmt::format("{} {}", node_kind_name(n.kind), g.name(id));
      if (n.kind != NodeKind::kOutput)
        label += fmt::format("\n{}", n.outputs[0].meta.str());
      attrs = n.kind == NodeKind::kParameter ? ", shape=note" : ", shape=ellipse";
    }
    const int w = worst(g, id);
    if (w == static_cast<int>(diag::Severity::kError)) {
      attrs += ", style=filled, fillcolor=\"#ffb3b3\", color=\"#cc0000\", penwidth=2";
    } else if (w == static_cast<int>(diag::Severity::kWarning)) {
      attrs += ", style=filled, fillcolor=\"#ffe0a0\"";
    } else if (n.poisoned) {
      attrs += ", style=dashed";
    }
    if (w <= static_cast<int>(diag::Severity::kNote)) {
      std::string tip;
      for (const Finding& f : g.findings())
        if (f.node == id)
          tip += fmt::format("{}[{}] {} ", diag::severity_name(f.diag.severity), f.diag.code,
                             f.diag.message);
      attrs += fmt::format(", tooltip=\"{}\"", dot_escape(tip));
    }
    out += fmt::format("  n{} [label=\"{}\"{}];\n", id, dot_escape(label), attrs);
  }
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (!shown(n, o)) continue;
    for (const Input& in : n.inputs) {
      if (!shown(g.node(in.value.node), o)) continue;
      const Port& p = g.node(in.value.node).outputs[in.value.port];
      std::string label = p.present ? p.meta.str() : "";
      if (n.kind == NodeKind::kOp && n.op->schema.args.size() > 1)
        label = fmt::format("{}: {}", n.op->schema.args[in.arg].name, label);
      out += fmt::format("  n{} -> n{} [label=\"{}\"];\n", in.value.node, id, dot_escape(label));
    }
  }
  return out + "}\n";
}

std::string to_json(const Graph& g, const ExportOptions& o) {
  std::string out = "{\"version\":1,\"symbols\":[";
  bool first = true;
  for (const sym::SymbolInfo* s : g.env().symbols()) {
    if (!first) out += ',';
    first = false;
    out += fmt::format("{{\"id\":{},\"name\":{},\"provenance\":{},\"kind\":{},\"range\":{}", s->id,
                       json_quote(s->name), json_quote(s->provenance),
                       json_quote(sym::symbol_kind_name(s->kind)), json_quote(s->range.str()));
    auto cv = g.config_values().find(s->name);
    if (cv != g.config_values().end()) out += fmt::format(",\"value\":{}", cv->second);
    out += '}';
  }
  out += "],\"nodes\":[";
  first = true;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (!shown(n, o)) continue;
    if (!first) out += ',';
    first = false;
    out += fmt::format("{{\"id\":{},\"kind\":{},\"name\":{},\"module\":{},\"op\":{},\"location\":{}",
                       id, json_quote(node_kind_name(n.kind)), json_quote(g.name(id)),
                       json_quote(g.module(id)), n.op ? json_quote(n.op->name) : "null",
                       json_quote(g.location(id)));
    out += fmt::format(",\"dead\":{},\"poisoned\":{},\"inputs\":[", n.dead, n.poisoned);
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      const Input& in = n.inputs[i];
      out += fmt::format("{}{{\"arg\":{},\"pos\":{},\"node\":{},\"port\":{}}}", i ? "," : "",
                         n.op ? json_quote(n.op->schema.args[in.arg].name) : "null", in.pos,
                         in.value.node, in.value.port);
    }
    out += "],\"attrs\":{";
    bool first_attr = true;
    for (const Attr& a : n.attrs) {
      if (n.op->schema.args[a.arg].type == op::ArgType::kTensorList) continue;
      out += fmt::format("{}{}:{}", first_attr ? "" : ",", json_quote(n.op->schema.args[a.arg].name),
                         json_quote(op::value_str(a.value)));
      first_attr = false;
    }
    out += "},\"outputs\":[";
    for (std::size_t i = 0; i < n.outputs.size(); ++i) {
      if (i) out += ',';
      if (n.outputs[i].present) json_meta(out, n.outputs[i].meta);
      else out += "null";
    }
    out += ']';
    if (const ParamInfo* p = g.param(id)) {
      out += fmt::format(",\"param\":{{\"role\":{},\"weight\":{},\"granularity\":{}",
                         json_quote(param_role_name(p->role)),
                         p->weight == kNoNode ? "null" : std::to_string(p->weight),
                         json_quote(granularity_name(p->granularity)));
      if (p->granularity == Granularity::kBlock) out += fmt::format(",\"block\":[{},{}]", p->block_n, p->block_k);
      if (p->granularity == Granularity::kGroup) out += fmt::format(",\"group\":{}", p->group);
      out += '}';
      if (const PrepareRecord* r = g.prepared(id)) {
        out += fmt::format(",\"prepared\":{{\"by\":{},\"step\":", r->by);
        const Node& owner = g.node(r->by);
        json_string(out, r->variant < 0 ? std::string()
                                        : owner.op->variants[static_cast<std::size_t>(r->variant)].name);
        out += ",\"original\":";
        json_meta(out, r->original);
        out += '}';
      }
    }
    if (const Selection* s = g.selection(id); s && n.kind == NodeKind::kOp) {
      out += fmt::format(",\"kernel\":{{\"name\":{},\"selection\":{},\"rejected\":[",
                         json_quote(g.kernel_name(id)), json_quote(selection_kind_name(s->kind)));
      for (std::size_t i = 0; i < s->rejected.size(); ++i) {
        const Rejection& r = s->rejected[i];
        out += fmt::format("{}{{\"kernel\":{},\"truth\":{},\"reason\":{}}}", i ? "," : "",
                           json_quote(n.op->variants[r.variant].name),
                           json_quote(sym::truth_name(r.truth)), json_quote(r.reason));
      }
      out += fmt::format("],\"guards\":[{}]}}", fmt::join(s->guards, ","));
    }
    out += '}';
  }
  out += "],\"guards\":[";
  const auto& guards = g.env().guards();
  for (std::size_t i = 0; i < guards.size(); ++i) {
    const NodeId site = g.guard_site(i);
    out += fmt::format("{}{{\"cond\":{},\"reason\":{},\"node\":{}}}", i ? "," : "",
                       json_quote(guards[i].cond.str()), json_quote(guards[i].reason),
                       site == kNoNode ? "null" : std::to_string(site));
  }
  out += fmt::format("],\"errors\":{},\"warnings\":{},\"findings\":", g.count(diag::Severity::kError),
                     g.count(diag::Severity::kWarning));
  write_findings(out, g);
  return out + "}";
}

}  // namespace symtrace::graph
