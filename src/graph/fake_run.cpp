// Fake calls for the graph and the findings made of their failures.
#include "graph/fake_run.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace symtrace::graph {

namespace v2 = boost::variant2;

namespace {

diag::Diagnostic mismatch(const op::OpDef& def, std::string message) {
  diag::Diagnostic d;
  d.code = "fake-mismatch";
  d.op = def.name;
  d.message = std::move(message);
  d.hint = "the fake impl must return one value per schema return (OPS.md §0 fake rule)";
  return d;
}

bool well_formed(const TensorMeta& m) { return m.sizes.size() == m.strides.size(); }

}  // namespace

std::vector<Port> poisoned_ports(const op::OpDef& def) {
  std::vector<Port> ports;
  for (const op::ReturnSpec& r : def.schema.returns)
    if (r.type != op::ArgType::kTensorList) ports.push_back(Port{TensorMeta{}, true});
  return ports;
}

FakeOutcome run_fake(const op::OpDef& def, std::span<const op::Value> args, sym::ShapeEnv& env) {
  FakeOutcome out;
  op::Outputs values;
  try {
    op::FakeContext cx{env, def.name};
    values = def.fake(op::Args(def.schema, args), cx);
  } catch (const diag::Error& e) {
    out.error = e.diagnostic();
    if (out.error->op.empty()) out.error->op = def.name;
  } catch (const diag::InternalError&) {
    throw;
  } catch (const std::exception& e) {
    diag::Diagnostic d;
    d.code = "fake-exception";
    d.op = def.name;
    d.message = fmt::format("the fake impl threw: {}", e.what());
    out.error = std::move(d);
  }
  if (out.error) {
    out.ports = poisoned_ports(def);
    return out;
  }
  const auto& returns = def.schema.returns;
  if (values.size() != returns.size()) {
    out.error = mismatch(def, fmt::format("the fake returned {} values, the schema declares {}",
                                          values.size(), returns.size()));
    out.ports = poisoned_ports(def);
    return out;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const op::Value& v = values[i];
    const op::ReturnSpec& r = returns[i];
    bool ok = true;
    if (v2::holds_alternative<op::None>(v)) {
      ok = r.optional;
      out.ports.push_back(Port{TensorMeta{}, false});
    } else if (r.type == op::ArgType::kTensor) {
      const auto* m = v2::get_if<TensorMeta>(&v);
      ok = m && well_formed(*m);
      if (ok) out.ports.push_back(Port{*m, true});
    } else if (r.type == op::ArgType::kTensorList) {
      const auto* l = v2::get_if<std::vector<TensorMeta>>(&v);
      ok = l != nullptr && out.list_return < 0;
      if (ok) {
        out.list_return = static_cast<std::int16_t>(i);
        for (const TensorMeta& m : *l) {
          ok = ok && well_formed(m);
          out.ports.push_back(Port{m, true});
        }
      }
    } else {
      out.ports.push_back(Port{TensorMeta{}, false});  // scalar returns carry no tensor
    }
    if (!ok) {
      out.error = mismatch(def, fmt::format("output {} is {}, the schema declares {}", i,
                                            op::value_str(v),
                                            op::type_str(r.type, r.optional, r.fixed_len)));
      out.ports = poisoned_ports(def);
      out.list_return = -1;
      return out;
    }
  }
  return out;
}

namespace {

// If the op producing `v` turned its activation's leading dims into a different number
// of dims with the same product ([B, S] -> [B*S]), the description of that change.
struct Flattening {
  NodeId producer = kNoNode;
  std::string input_name;
  TensorMeta input;
  SymShape lead_in, lead_out;
};

std::optional<Flattening> flattening(const Graph& g, ValueRef v) {
  const Node& p = g.node(v.node);
  if (p.kind != NodeKind::kOp || p.poisoned || p.inputs.empty()) return std::nullopt;
  const Input& first = p.inputs.front();
  const TensorMeta& in = g.meta(first.value);
  const TensorMeta& out = g.meta(v);
  if (in.dim() < 2 || out.dim() < 1 || in.dim() == out.dim()) return std::nullopt;
  SymShape lead_in(in.sizes.begin(), in.sizes.end() - 1);
  SymShape lead_out(out.sizes.begin(), out.sizes.end() - 1);
  sym::SymInt prod_in = 1, prod_out = 1;
  for (const sym::SymInt& s : lead_in) prod_in *= s;
  for (const sym::SymInt& s : lead_out) prod_out *= s;
  if (!prod_in.identical(prod_out)) return std::nullopt;
  return Flattening{v.node, p.op->schema.args[first.arg].name, in, std::move(lead_in),
                    std::move(lead_out)};
}

void add_symbols(sym::Expr& acc, const TensorMeta& m) {
  for (const sym::SymInt& s : m.sizes)
    if (s.is_symbolic()) acc = acc + s.expr();
}

}  // namespace

Finding fake_finding(const Graph& g, NodeId id, diag::Diagnostic d, std::string pass) {
  const Node& n = g.node(id);
  Finding f;
  f.node = id;
  f.pass = std::move(pass);
  sym::Expr symbols;  // a sum of every blamed symbolic dim: one provenance call lists them
  bool blamed_any = false;
  for (const Input& in : n.inputs) {
    const std::string& arg = n.op->schema.args[in.arg].name;
    const TensorMeta& m = g.meta(in.value);
    if (auto flat = flattening(g, in.value)) {
      const Node& p = g.node(flat->producer);
      d.notes.push_back(fmt::format(
          "`{}` {} comes from {} --> {}, which turned the leading dims {} of its input `{}` {} "
          "into {}{}",
          arg, m.shape_str(), g.label(flat->producer), g.location(flat->producer),
          tensor::shape_str(flat->lead_in), flat->input_name, flat->input.shape_str(),
          tensor::shape_str(flat->lead_out),
          p.op->is_view ? "" : " (OPS.md §0 shape rule: leading dims are carried through)"));
      if (d.expected.empty() && d.got.empty()) {
        SymShape want = flat->lead_in;
        want.push_back(m.sizes.back());
        d.argument = arg;
        d.expected = tensor::shape_str(want);
        d.got = m.shape_str();
      }
      f.related.push_back(flat->producer);
      add_symbols(symbols, flat->input);
      add_symbols(symbols, m);
      blamed_any = true;
    } else if (!d.argument.empty() && d.argument == arg) {
      f.related.push_back(in.value.node);
      add_symbols(symbols, m);
      blamed_any = true;
    }
  }
  if (!blamed_any)
    for (const Input& in : n.inputs) add_symbols(symbols, g.meta(in.value));
  if (d.notes.empty() || blamed_any) {
    for (std::string& line : g.env().provenance_notes(symbols)) {
      bool seen = false;
      for (const std::string& have : d.notes) seen = seen || have == line;
      if (!seen) d.notes.push_back(std::move(line));
    }
  }
  std::sort(f.related.begin(), f.related.end());
  f.related.erase(std::unique(f.related.begin(), f.related.end()), f.related.end());
  f.diag = std::move(d);
  return f;
}

}  // namespace symtrace::graph
