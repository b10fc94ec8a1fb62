// verify: re-propagation of changed metas, parameter checks, kernel checks.
#include <algorithm>

#include <fmt/format.h>

#include <symtrace/graph/passes.hpp>

#include "graph/fake_run.hpp"
#include "graph/pass_util.hpp"
#include "graph/verify_checks.hpp"

namespace symtrace::graph {

void check_input_guards(Graph& g);  // verify_guards.cpp

namespace {

bool same_meta(const TensorMeta& a, const TensorMeta& b) {
  return a.identical(b) && a.layout == b.layout && a.scale_fmt == b.scale_fmt;
}

std::string ports_str(const std::vector<Port>& ports) {
  std::string s;
  for (const Port& p : ports) {
    if (!s.empty()) s += ", ";
    s += p.present ? p.meta.str() : "None";
  }
  return s;
}

// Re-runs a node whose inputs changed. Returns true when its outputs changed.
bool repropagate(Graph& g, NodeId id) {
  Graph::Impl& im = impl_of(g);
  Node& n = im.node(id);
  const std::vector<op::Value> args = g.args(id);
  im.claim_guards(kNoNode);
  FakeOutcome out = run_fake(*n.op, args, g.env());
  im.claim_guards(id);
  if (out.error) {
    out.error->notes.insert(out.error->notes.begin(),
                            "this call traced cleanly; it fails on the prepared parameters");
    g.add_finding(fake_finding(g, id, std::move(*out.error), "verify"));
    n.poisoned = true;
    return true;
  }
  bool same = out.ports.size() == n.outputs.size();
  for (std::size_t i = 0; same && i < out.ports.size(); ++i)
    same = out.ports[i].present == n.outputs[i].present &&
           (!out.ports[i].present || same_meta(out.ports[i].meta, n.outputs[i].meta));
  if (same) return false;
  Finding f;
  f.node = id;
  f.pass = "verify";
  f.diag.code = "fake-mismatch";
  f.diag.message = "the outputs changed when the parameters were prepared; preparation must "
                   "not change what an op computes";
  f.diag.expected = ports_str(n.outputs);
  f.diag.got = ports_str(out.ports);
  for (const Input& in : n.inputs)
    if (const PrepareRecord* rec = g.prepared(in.value.node)) f.related.push_back(rec->by);
  g.add_finding(std::move(f));
  n.outputs = std::move(out.ports);
  return true;
}

void check_kernel(Graph& g, NodeId id) {
  Graph::Impl& im = impl_of(g);
  const Node& n = im.node(id);
  const op::OpDef& def = *n.op;
  const Selection& s = im.selections[id];
  const int vi = s.variant;
  const std::string kernel = g.kernel_name(id);

  // A parameter prepared for one variant, read by another (OPS.md §13 rule 2).
  bool unprepared = false;
  for (const Input& in : n.inputs) {
    const PrepareRecord* rec = g.prepared(in.value.node);
    if (!rec) continue;
    const Node& owner = im.node(rec->by);
    if (owner.op == &def && same_prepare(def, rec->variant, vi)) continue;
    Finding f;
    f.node = id;
    f.pass = "verify";
    f.diag.code = "applicability";
    f.diag.argument = def.schema.args[in.arg].name;
    f.diag.message = fmt::format("`{}` was prepared by {} for {}, but this node runs {}",
                                 def.schema.args[in.arg].name,
                                 prepare_label(*owner.op, rec->variant), g.label(rec->by), kernel);
    f.diag.expected = fmt::format("{} {} (what {} reads)", rec->original.str(),
                                  tensor::scale_format_name(rec->original.scale_fmt), kernel);
    const TensorMeta& now = g.meta(in.value);
    f.diag.got = fmt::format("{} {}", now.str(), tensor::scale_format_name(now.scale_fmt));
    f.diag.hint = "kernel selection and the prepare step that rewrote this parameter disagree; "
                  "choose kernels that read the same prepared format (OPS.md §14.6)";
    f.related = {std::min(rec->by, in.value.node), std::max(rec->by, in.value.node)};
    g.add_finding(std::move(f));
  }
  if (vi < 0) return;
  const op::Variant& v = def.variants[static_cast<std::size_t>(vi)];
  std::vector<op::Value> args = g.args(id);
  if (v.prepare) {
    for (const std::string& r : v.prepare->rewrites)
      if (auto p = param_input(g, id, r); !p || !g.prepared(*p)) unprepared = true;
    if (unprepared && !im.prepare_ran) {
      // Before the prepare pass: judge the metas the prepare step will produce.
      if (auto why = apply_prepare_fake(g, id, v, args)) {
        Finding f;
        f.node = id;
        f.pass = "verify";
        f.diag.code = "applicability";
        f.diag.message = fmt::format("{} was chosen but {}", v.name, *why);
        g.add_finding(std::move(f));
        return;
      }
    } else if (unprepared) {
      Finding f;
      f.node = id;
      f.pass = "verify";
      f.diag.code = "prepare";
      f.diag.message = fmt::format("{} needs its prepare step, which did not run for this node",
                                   v.name);
      g.add_finding(std::move(f));
      return;
    }
  }
  im.claim_guards(kNoNode);
  Applicability a = decide_rule(g, id, v, args);
  im.claim_guards(id);
  if (a.truth == sym::Truth::kTrue) return;
  Finding f;
  f.node = id;
  f.pass = "verify";
  f.diag.code = "applicability";
  f.diag.message = fmt::format("{} is chosen, but its rule does not hold for the metas it will "
                               "read", v.name);
  f.diag.expected = v.rule.empty() ? "its rule" : v.rule;
  f.diag.got = a.reason;
  f.diag.proven = a.truth == sym::Truth::kFalse;
  for (const Input& in : n.inputs)
    if (const PrepareRecord* rec = g.prepared(in.value.node)) {
      f.related.push_back(rec->by);
      f.diag.notes.push_back(fmt::format("`{}` was rewritten by {} for {}",
                                         def.schema.args[in.arg].name,
                                         prepare_label(*im.node(rec->by).op, rec->variant),
                                         g.label(rec->by)));
    }
  std::sort(f.related.begin(), f.related.end());
  f.related.erase(std::unique(f.related.begin(), f.related.end()), f.related.end());
  f.diag.hint = "nothing falls back at run time: the chosen kernel must accept what it reads "
                "(OPS.md §13)";
  g.add_finding(std::move(f));
}

}  // namespace

std::size_t verify(Graph& g) {
  Graph::Impl& im = impl_of(g);
  std::erase_if(im.findings, [](const Finding& f) { return f.pass == "verify"; });
  std::vector<std::uint8_t> touched(g.size(), 0);
  for (NodeId id = 0; id < g.size(); ++id) {
    Node& n = im.node(id);
    if (n.kind != NodeKind::kOp || n.dead || n.poisoned) continue;
    bool changed = false, poisoned_input = false;
    for (const Input& in : n.inputs) {
      changed = changed || im.dirty[in.value.node];
      poisoned_input = poisoned_input || im.node(in.value.node).poisoned;
    }
    if (poisoned_input) {
      n.poisoned = true;  // an earlier node failed after preparation: no cascade
      continue;
    }
    if (!changed) continue;
    touched[id] = 1;
    if (repropagate(g, id)) im.dirty[id] = 1;
  }
  std::fill(im.dirty.begin(), im.dirty.end(), 0);

  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = im.node(id);
    if (n.kind == NodeKind::kParameter && !n.dead) check_parameter(g, id);
  }
  check_input_guards(g);

  if (!im.selections.empty()) {
    for (NodeId id = 0; id < g.size(); ++id) {
      const Node& n = im.node(id);
      if (n.kind != NodeKind::kOp || n.dead || n.poisoned || id >= im.selections.size()) continue;
      const Selection& s = im.selections[id];
      if (s.kind == SelectionKind::kNone || s.kind == SelectionKind::kRefused) continue;
      bool prepared_input = false;
      for (const Input& in : n.inputs) prepared_input = prepared_input || g.prepared(in.value.node);
      const bool has_prepare =
          s.variant >= 0 && n.op->variants[static_cast<std::size_t>(s.variant)].prepare;
      if (touched[id] || prepared_input || has_prepare || s.kind == SelectionKind::kForced)
        check_kernel(g, id);
    }
  }
  return g.count(diag::Severity::kError);
}

std::size_t run_pipeline(Graph& g, const SelectOptions& options) {
  select_kernels(g, options);
  prepare(g);
  verify(g);
  eliminate_dead_code(g);
  return g.count(diag::Severity::kError);
}

}  // namespace symtrace::graph
