// Helpers shared by the selection, prepare and verify passes.
#include "graph/pass_util.hpp"

#include <fmt/format.h>

namespace symtrace::graph {

namespace v2 = boost::variant2;

std::optional<NodeId> param_input(const Graph& g, NodeId id, std::string_view arg) {
  const Node& n = g.node(id);
  auto index = n.op->schema.index_of(arg);
  if (!index) return std::nullopt;
  for (const Input& in : n.inputs)
    if (in.arg == *index && g.node(in.value.node).kind == NodeKind::kParameter)
      return in.value.node;
  return std::nullopt;
}

bool same_prepare(const op::OpDef& def, int a, int b) {
  if (a == b) return true;
  if (a < 0 || b < 0) return false;
  const auto& pa = def.variants[static_cast<std::size_t>(a)].prepare;
  const auto& pb = def.variants[static_cast<std::size_t>(b)].prepare;
  return pa && pb && pa->name == pb->name;
}

std::string prepare_label(const op::OpDef& def, int variant) {
  if (variant < 0) return def.name + ".reference";
  const op::Variant& v = def.variants[static_cast<std::size_t>(variant)];
  return v.prepare && !v.prepare->name.empty() ? v.prepare->name : v.name + ".prepare";
}

std::optional<std::string> prepare_inputs_problem(const Graph& g, NodeId id,
                                                  const op::Prepare& p) {
  const Node& n = g.node(id);
  for (const std::string& r : p.rewrites) {
    auto index = n.op->schema.index_of(r);
    const Input* found = nullptr;
    for (const Input& in : n.inputs)
      if (index && in.arg == *index) found = &in;
    if (!found) return fmt::format("its prepare step rewrites `{}`, which is not given", r);
    const Node& src = g.node(found->value.node);
    if (src.kind != NodeKind::kParameter)
      return fmt::format("its prepare step rewrites `{}`, which is not a parameter (it comes from "
                         "{}); prepare runs once at load, on weights only",
                         r, g.label(found->value.node));
  }
  return std::nullopt;
}

std::optional<std::string> apply_prepare_fake(Graph& g, NodeId id, const op::Variant& v,
                                              std::vector<op::Value>& args) {
  const op::OpDef& def = *g.node(id).op;
  op::Outputs out;
  try {
    op::FakeContext cx{g.env(), def.name};
    out = v.prepare->fake(op::Args(def.schema, args), cx);
  } catch (const diag::Error& e) {
    return fmt::format("its prepare step refuses: {}", e.diagnostic().message.empty()
                                                           ? std::string(e.what())
                                                           : e.diagnostic().message);
  }
  if (out.size() != v.prepare->rewrites.size())
    return fmt::format("its prepare step returned {} metas for {} rewritten arguments",
                       out.size(), v.prepare->rewrites.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (!v2::holds_alternative<TensorMeta>(out[k]))
      return fmt::format("its prepare step returned {} for `{}`", op::value_str(out[k]),
                         v.prepare->rewrites[k]);
    args[*def.schema.index_of(v.prepare->rewrites[k])] = std::move(out[k]);
  }
  return std::nullopt;
}

Applicability decide_rule(Graph& g, NodeId id, const op::Variant& v,
                          const std::vector<op::Value>& metas) {
  if (!v.applicable) return Applicability::yes();
  const op::OpDef& def = *g.node(id).op;
  try {
    Applicability a = v.applicable(op::Args(def.schema, metas), g.env());
    if (a.truth != sym::Truth::kTrue && a.reason.empty())
      a.reason = fmt::format("rule `{}` is {}", v.rule, sym::truth_name(a.truth));
    return a;
  } catch (const diag::Error& e) {
    return Applicability::no(e.diagnostic().message.empty() ? std::string(e.what())
                                                            : e.diagnostic().message);
  }
}

void orphan_guards_finding(Graph& g, NodeId id, const std::string& variant, std::size_t g0,
                           std::size_t g1) {
  Finding f;
  f.node = id;
  f.pass = "select";
  f.diag.code = "guard";
  f.diag.severity = diag::Severity::kWarning;
  f.diag.message = fmt::format("{} recorded guards and was then refused; they are still "
                               "checked at bind", variant);
  for (std::size_t k = g0; k < g1; ++k)
    f.diag.notes.push_back(fmt::format("guard {}: {}", g.env().guards()[k].cond.str(),
                                       g.env().guards()[k].reason));
  f.diag.hint = "a rule should record guards only when it returns true";
  g.add_finding(std::move(f));
}

std::vector<std::string> provenance(const Graph& g,
                                    std::initializer_list<const SymShape*> shapes) {
  sym::Expr acc;
  for (const SymShape* s : shapes)
    for (const sym::SymInt& d : *s)
      if (d.is_symbolic()) acc = acc + d.expr();
  return g.env().provenance_notes(acc);
}

bool same_dim(const Graph& g, const sym::SymInt& a, const sym::SymInt& b, bool& proven_false) {
  if (a.identical(b)) return true;
  sym::Truth t = g.env().decide(sym::eq(a, b));
  if (t == sym::Truth::kFalse) proven_false = true;
  return t == sym::Truth::kTrue;
}

// A guard equating two different dims ("N == K") recorded while preparing weights means
// the step chose a layout by comparing shapes — wrong whenever the dims coincide.
void check_layout_by_shape(Graph& g, NodeId id, const std::string& step, std::size_t g0,
                           std::size_t g1) {
  for (std::size_t k = g0; k < g1; ++k) {
    const sym::Guard& guard = g.env().guards()[k];
    const sym::Cond& c = guard.cond;
    if (c.op() != sym::CondOp::kEq && c.op() != sym::CondOp::kNe) continue;
    sym::Expr diff = c.lhs() - c.rhs();
    if (diff.free_symbols().size() < 2) continue;
    Finding f;
    f.node = id;
    f.pass = "prepare";
    f.diag.code = "layout";
    f.diag.message =
        fmt::format("{} decides a layout by comparing shapes: it needs `{}`", step, c.str());
    f.diag.hint = "layout is decided by the tag (NK / KN), never by shape: shapes cannot tell "
                  "[N, K] from [K, N] when N == K (OPS.md §0 weight layout rule, §14.3)";
    f.diag.expected = "a decision by layout tag";
    f.diag.got = fmt::format("guard {}", c.str());
    f.diag.proven = false;
    for (std::string& line : g.env().provenance_notes(diff)) f.diag.notes.push_back(std::move(line));
    g.add_finding(std::move(f));
  }
}

}  // namespace symtrace::graph
