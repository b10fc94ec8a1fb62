// Prepare pass: the fake side of each chosen variant's prepare step rewrites parameters.
#include <fmt/format.h>

#include <symtrace/graph/passes.hpp>

#include "graph/graph_impl.hpp"
#include "graph/pass_util.hpp"

namespace symtrace::graph {

namespace v2 = boost::variant2;

namespace {

Finding prepare_finding(NodeId id, std::string code, diag::Severity sev, std::string message,
                        std::string hint = {}) {
  Finding f;
  f.node = id;
  f.pass = "prepare";
  f.diag.code = std::move(code);
  f.diag.severity = sev;
  f.diag.message = std::move(message);
  f.diag.hint = std::move(hint);
  return f;
}

}  // namespace

void prepare(Graph& g) {
  Graph::Impl& im = impl_of(g);
  im.prepare_ran = true;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = im.node(id);
    if (n.kind != NodeKind::kOp || n.dead || n.poisoned) continue;
    const Selection* s = g.selection(id);
    if (!s || s->variant < 0) continue;
    const op::Variant& v = n.op->variants[static_cast<std::size_t>(s->variant)];
    if (!v.prepare) continue;
    const std::string step = prepare_label(*n.op, s->variant);
    if (auto why = prepare_inputs_problem(g, id, *v.prepare)) {
      g.add_finding(prepare_finding(id, "prepare", diag::Severity::kError,
                                    fmt::format("{} cannot run: {}", v.name, *why)));
      continue;
    }
    // Parameters this step rewrites; each may already be prepared by another node.
    std::vector<NodeId> params;
    bool shared = false, conflict = false;
    for (const std::string& r : v.prepare->rewrites) {
      NodeId p = *param_input(g, id, r);
      params.push_back(p);
      const PrepareRecord* rec = g.prepared(p);
      if (!rec) continue;
      const Node& owner = im.node(rec->by);
      if (owner.op == n.op && same_prepare(*n.op, rec->variant, s->variant)) {
        shared = true;  // the same step on the same weight: it runs once
        continue;
      }
      Finding f = prepare_finding(
          id, "prepare", diag::Severity::kError,
          fmt::format("`{}` ({}) is rewritten by two prepare steps: {} for {} and {} here", r,
                      g.name(p), prepare_label(*owner.op, rec->variant), g.label(rec->by), step),
          "a parameter is prepared once, for one variant; nodes sharing it must choose "
          "kernels that read the same prepared format");
      f.related = {rec->by, p};
      g.add_finding(std::move(f));
      conflict = true;
    }
    if (conflict || shared) continue;

    std::vector<op::Value> args = g.args(id);
    im.claim_guards(kNoNode);
    const std::size_t g0 = g.env().guards().size();
    std::vector<op::Value> prepared = args;
    auto why = apply_prepare_fake(g, id, v, prepared);
    const std::size_t g1 = g.env().guards().size();
    im.claim_guards(id);
    if (why) {
      g.add_finding(prepare_finding(id, "prepare", diag::Severity::kError,
                                    fmt::format("{}: {}", step, *why)));
      continue;
    }
    check_layout_by_shape(g, id, step, g0, g1);

    // A step that accepts its own output could be applied twice (a reload, a second
    // pass) and silently transpose back or rescale again (OPS.md §14.2, §14.10). Probe
    // under the strict guard policy so the probe records nothing.
    {
      const sym::GuardPolicy policy = g.env().guard_policy();
      g.env().set_guard_policy(sym::GuardPolicy::kStrict);
      std::vector<op::Value> again = prepared;
      auto refused = apply_prepare_fake(g, id, v, again);
      g.env().set_guard_policy(policy);
      im.claim_guards(id);
      if (!refused) {
        Finding f = prepare_finding(
            id, "prepare-twice", diag::Severity::kWarning,
            fmt::format("{} accepts its own output, so applying it twice goes unnoticed", step),
            "a prepare step must refuse a bundle already carrying its target tag (layout or "
            "scale format)");
        f.related = params;
        g.add_finding(std::move(f));
      }
    }

    for (std::size_t k = 0; k < params.size(); ++k) {
      const std::size_t arg = *n.op->schema.index_of(v.prepare->rewrites[k]);
      TensorMeta& m = im.meta({params[k], 0});
      im.prepared[params[k]] = PrepareRecord{id, s->variant, m};
      m = v2::get<TensorMeta>(prepared[arg]);
      im.dirty[params[k]] = 1;
    }
  }
}

}  // namespace symtrace::graph
