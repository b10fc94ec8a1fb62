// Tracer: model code -> graph nodes, fake errors -> findings.
#include <symtrace/graph/tracer.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <symtrace/ops.hpp>

#include "graph/fake_run.hpp"

namespace symtrace::graph {

namespace v2 = boost::variant2;

namespace {
thread_local Tracer* g_current = nullptr;
}

// --- Traced ----------------------------------------------------------------------------

Tracer& Traced::tracer() const {
  if (!tracer_) throw diag::InternalError("use of an empty graph::Traced handle");
  return *tracer_;
}

const TensorMeta& Traced::meta() const { return tracer().graph().meta(ref_); }

bool Traced::poisoned() const { return tracer().graph().node(ref_.node).poisoned; }

sym::SymInt Traced::size(std::int64_t d) const {
  if (poisoned()) return 1;
  return meta().size(d);
}

// --- Tracer ----------------------------------------------------------------------------

Tracer::Tracer(Graph& g, const op::Registry& registry)
    : graph_(&g), registry_(&registry), previous_(g_current) {
  g_current = this;
}

Tracer::Tracer(Graph& g) : Tracer(g, ops::registry()) {}

Tracer::~Tracer() { g_current = previous_; }

Tracer* Tracer::current() { return g_current; }

sym::ShapeEnv& Tracer::env() { return graph_->env(); }

sym::SymInt Tracer::symbol(std::string name, std::string provenance, sym::SymbolKind kind,
                           sym::Range range) {
  return env().new_symbol(std::move(name), std::move(provenance), kind, range);
}

sym::SymInt Tracer::config(std::string name, std::int64_t value, std::string provenance) {
  sym::Expr e = env().new_symbol(name, fmt::format("{} = {}", provenance, value),
                                 sym::SymbolKind::kConfig, sym::Range::size());
  graph_->set_config_value(std::move(name), value);
  return e;
}

Traced Tracer::input(std::string name, SymShape sizes, DType dtype, symtrace::SourceLocation loc) {
  return input(std::move(name), TensorMeta::contiguous(std::move(sizes), dtype), loc);
}

Traced Tracer::input(std::string name, TensorMeta meta, symtrace::SourceLocation loc) {
  return {this, {graph_->add_input(std::move(name), std::move(meta), module_path(), loc), 0}};
}

Traced Tracer::parameter(std::string name, TensorMeta meta, ParamInfo info,
                         symtrace::SourceLocation loc) {
  return {this,
          {graph_->add_parameter(std::move(name), std::move(meta), info, module_path(), loc), 0}};
}

Traced Tracer::weight(std::string name, SymShape sizes, DType dtype, WeightLayout layout,
                      symtrace::SourceLocation loc) {
  TensorMeta m = TensorMeta::contiguous(std::move(sizes), dtype);
  m.layout = layout;
  return parameter(std::move(name), std::move(m), ParamInfo{.role = ParamRole::kWeight}, loc);
}

Traced Tracer::scale(std::string name, const Traced& weight, SymShape sizes, ParamInfo info,
                     ScaleFormat fmt, DType dtype, symtrace::SourceLocation loc) {
  TensorMeta m = TensorMeta::contiguous(std::move(sizes), dtype);
  m.scale_fmt = fmt;
  info.weight = weight.ref().node;
  if (info.role == ParamRole::kOther || info.role == ParamRole::kWeight)
    info.role = ParamRole::kWeightScale;
  return parameter(std::move(name), std::move(m), info, loc);
}

Traced Tracer::state(std::string name, TensorMeta meta, symtrace::SourceLocation loc) {
  return {this, {graph_->add_state(std::move(name), std::move(meta), module_path(), loc), 0}};
}

void Tracer::output(std::string name, const Traced& value, symtrace::SourceLocation loc) {
  graph_->add_output(std::move(name), value.ref(), loc);
}

namespace {

// Schema index of a positional or named argument (nullopt: binding will report it).
std::optional<std::size_t> positional_index(const op::Schema& s, std::size_t i) {
  std::size_t seen = 0;
  for (std::size_t k = 0; k < s.args.size(); ++k) {
    if (s.args[k].kwarg_only) break;
    if (seen++ == i) return k;
  }
  return std::nullopt;
}

}  // namespace

std::vector<Traced> Tracer::call_all(std::string_view op_name, std::vector<Arg> args,
                                     std::vector<NamedArg> named, symtrace::SourceLocation loc) {
  const op::OpDef& def = registry_->get(op_name);
  const op::Schema& schema = def.schema;
  Graph::Impl& im = impl_of(*graph_);

  std::vector<Input> inputs;
  bool poisoned = false;
  auto convert = [&](const Arg& a, std::optional<std::size_t> index) -> op::Value {
    auto ref = [&](const Traced& t, std::uint16_t pos) {
      if (&t.tracer().graph() != graph_)
        throw diag::InternalError(fmt::format("{}: argument traced into another graph", op_name));
      poisoned = poisoned || t.poisoned();
      if (index) inputs.push_back(Input{static_cast<std::uint16_t>(*index), pos, t.ref()});
    };
    switch (a.kind()) {
      case Arg::Kind::kTensor:
        ref(a.tensor(), 0);
        return a.tensor().meta();
      case Arg::Kind::kTensorList: {
        std::vector<TensorMeta> metas;
        metas.reserve(a.list().size());
        for (std::size_t p = 0; p < a.list().size(); ++p) {
          ref(a.list()[p], static_cast<std::uint16_t>(p));
          metas.push_back(a.list()[p].meta());
        }
        return metas;
      }
      case Arg::Kind::kValue: return a.value();
    }
    return op::None{};
  };
  std::vector<op::Value> positional;
  positional.reserve(args.size());
  for (std::size_t i = 0; i < args.size(); ++i)
    positional.push_back(convert(args[i], positional_index(schema, i)));
  std::vector<std::pair<std::string, op::Value>> named_values;
  named_values.reserve(named.size());
  for (NamedArg& a : named) {
    op::Value v = convert(a.value, schema.index_of(a.name));
    named_values.emplace_back(std::move(a.name), std::move(v));
  }
  std::sort(inputs.begin(), inputs.end(), [](const Input& a, const Input& b) {
    return a.arg != b.arg ? a.arg < b.arg : a.pos < b.pos;
  });

  std::vector<op::Value> bound;
  std::optional<diag::Diagnostic> error;
  try {
    bound = op::bind_args(schema, std::move(positional), named_values);
  } catch (const diag::Error& e) {
    error = e.diagnostic();
    if (error->op.empty()) error->op = def.name;
  }

  std::vector<Attr> attrs;
  FakeOutcome outcome;
  if (!error) {
    if (poisoned) {
      outcome.ports = poisoned_ports(def);
    } else {
      im.claim_guards(kNoNode);
      outcome = run_fake(def, bound, env());
      error = std::move(outcome.error);
    }
    // The non-tensor arguments stay on the node (after the fake has read them).
    for (std::size_t k = 0; k < bound.size(); ++k) {
      const op::ArgType t = schema.args[k].type;
      if (t == op::ArgType::kTensor) continue;
      if (t == op::ArgType::kTensorList) {
        attrs.push_back(Attr{static_cast<std::uint16_t>(k), std::vector<TensorMeta>{}});
        continue;
      }
      if (!v2::holds_alternative<op::None>(bound[k]))
        attrs.push_back(Attr{static_cast<std::uint16_t>(k), std::move(bound[k])});
    }
  } else {
    inputs.clear();  // arguments that did not bind cannot be wired to the schema
    outcome.ports = poisoned_ports(def);
  }

  const bool failed = poisoned || error.has_value();
  NodeId id = graph_->add_op(def, std::move(inputs), std::move(attrs), std::move(outcome.ports),
                             module_path(), loc, failed);
  im.node(id).list_returns = outcome.list_return;
  im.claim_guards(id);
  if (error) graph_->add_finding(fake_finding(*graph_, id, std::move(*error), "trace"));

  std::vector<Traced> out;
  const Node& n = im.node(id);
  out.reserve(n.outputs.size());
  for (std::size_t p = 0; p < n.outputs.size(); ++p)
    out.push_back(n.outputs[p].present ? Traced(this, {id, static_cast<std::uint16_t>(p)})
                                       : Traced());
  return out;
}

Traced Tracer::call(std::string_view op, std::vector<Arg> args, std::vector<NamedArg> named,
                    symtrace::SourceLocation loc) {
  std::vector<Traced> out = call_all(op, std::move(args), std::move(named), loc);
  if (out.size() != 1 || !out[0].valid())
    throw diag::InternalError(fmt::format("Tracer::call('{}'): the op has {} outputs; use "
                                          "call_all", op, out.size()));
  return out[0];
}

// --- scopes ----------------------------------------------------------------------------

Tracer::Scope Tracer::scope(std::string_view name) {
  std::uint32_t saved = module_;
  std::string_view base = impl_of(*graph_).modules[module_];
  std::string path = base.empty() ? std::string(name) : fmt::format("{}.{}", base, name);
  module_ = impl_of(*graph_).intern_module(path);
  return Scope(this, saved);
}

Tracer::Scope::~Scope() {
  if (tracer_) tracer_->module_ = saved_;
}

std::string_view Tracer::module_path() const { return impl_of(*graph_).modules[module_]; }

}  // namespace symtrace::graph
