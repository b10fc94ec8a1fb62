// Kernel selection: the chosen variant per node and why every earlier one was refused.
#include <array>

#include <fmt/format.h>

#include <symtrace/graph/passes.hpp>

#include "graph/graph_impl.hpp"
#include "graph/pass_util.hpp"

namespace symtrace::graph {

namespace {

// A parameter claimed by a prepare step: later nodes must read it the same way.
struct Claim {
  NodeId by = kNoNode;
  std::int16_t variant = -1;
};

// Which instruction sets this CPU (and SYMTRACE_ISA) offers, asked once per pass: CPUID
// traps to the hypervisor on a VM and cost ~4 us per variant per node when asked each time.
struct IsaCache {
  std::array<std::int8_t, 8> known{-1, -1, -1, -1, -1, -1, -1, -1};
  bool operator()(op::Isa isa) {
    auto& k = known[static_cast<std::size_t>(isa) % known.size()];
    if (k < 0) k = op::cpu_supports(isa) ? 1 : 0;
    return k == 1;
  }
};

// Judges one variant for a node. Returns kTrue with no reason when it applies.
// `prepare_guards` receives the range of env guards its prepare step recorded.
Applicability judge(Graph& g, NodeId id, std::size_t vi, const std::vector<op::Value>& args,
                    const std::map<NodeId, Claim>& claims, const SelectOptions& options,
                    IsaCache& isa, std::pair<std::size_t, std::size_t>& prepare_guards) {
  Graph::Impl& im = impl_of(g);
  const Node& n = im.node(id);
  const op::OpDef& def = *n.op;
  const op::Variant& v = def.variants[vi];
  if (options.check_isa && !isa(v.isa))
    return Applicability::no(fmt::format("needs {}; this CPU (or SYMTRACE_ISA) offers {}",
                                         op::isa_name(v.isa), op::isa_name(tensor::best_isa())));
  // A parameter prepared for another variant reads differently (OPS.md §13 rule 2).
  for (const Input& in : n.inputs) {
    auto it = claims.find(in.value.node);
    if (it == claims.end()) continue;
    const Node& owner = im.node(it->second.by);
    if (owner.op != &def ? true : !same_prepare(def, it->second.variant, static_cast<int>(vi)))
      return Applicability::no(fmt::format(
          "`{}` is prepared by {} for {}; {} would read a format it was not prepared for",
          def.schema.args[in.arg].name, prepare_label(*owner.op, it->second.variant),
          g.label(it->second.by), v.name));
  }
  std::vector<op::Value> judged;
  const std::vector<op::Value>* metas = &args;
  if (v.prepare) {
    if (auto why = prepare_inputs_problem(g, id, *v.prepare)) return Applicability::no(*why);
    judged = args;
    prepare_guards.first = g.env().guards().size();
    auto why = apply_prepare_fake(g, id, v, judged);
    prepare_guards.second = g.env().guards().size();
    if (why) return Applicability::no(*why);
    metas = &judged;
  }
  return decide_rule(g, id, v, *metas);
}

}  // namespace

void select_kernels(Graph& g, const SelectOptions& options) {
  Graph::Impl& im = impl_of(g);
  if (!im.prepared.empty()) {
    diag::Diagnostic d;
    d.code = "pass-order";
    d.message = "select_kernels after prepare: parameters already carry prepared layouts";
    throw diag::Error(std::move(d));
  }
  im.selections.resize(g.size());
  std::map<NodeId, Claim> claims;
  IsaCache isa;
  auto claim = [&](NodeId id, int vi) {
    const Node& n = im.node(id);
    if (vi < 0 || !n.op->variants[static_cast<std::size_t>(vi)].prepare) return;
    for (const std::string& r : n.op->variants[static_cast<std::size_t>(vi)].prepare->rewrites)
      if (auto p = param_input(g, id, r)) claims.emplace(*p, Claim{id, static_cast<std::int16_t>(vi)});
  };
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = im.node(id);
    if (n.kind != NodeKind::kOp || n.dead) continue;
    Selection& s = im.selections[id];
    if (s.kind == SelectionKind::kForced) {
      claim(id, s.variant);
      continue;
    }
    s = Selection{};
    if (n.poisoned) continue;
    const op::OpDef& def = *n.op;
    if (def.variants.empty()) {
      s.kind = SelectionKind::kReference;
      continue;
    }
    const std::vector<op::Value> args = g.args(id);
    for (std::size_t vi = 0; vi < def.variants.size(); ++vi) {
      im.claim_guards(kNoNode);
      const std::size_t g0 = g.env().guards().size();
      std::pair<std::size_t, std::size_t> prepare_guards{0, 0};
      Applicability a = judge(g, id, vi, args, claims, options, isa, prepare_guards);
      const std::size_t g1 = g.env().guards().size();
      im.claim_guards(id);
      if (a.truth == sym::Truth::kTrue) {
        s.kind = SelectionKind::kVariant;
        s.variant = static_cast<std::int16_t>(vi);
        for (std::size_t k = g0; k < g1; ++k) s.guards.push_back(static_cast<std::uint32_t>(k));
        claim(id, static_cast<int>(vi));
        check_layout_by_shape(g, id, prepare_label(def, static_cast<int>(vi)), prepare_guards.first,
                              prepare_guards.second);
        break;
      }
      s.rejected.push_back(Rejection{static_cast<std::uint16_t>(vi), a.truth, std::move(a.reason)});
      if (g1 > g0) orphan_guards_finding(g, id, def.variants[vi].name, g0, g1);
    }
    if (s.kind != SelectionKind::kNone) continue;
    s.kind = options.allow_reference_fallback ? SelectionKind::kFallback : SelectionKind::kRefused;
    s.variant = -1;
    Finding f;
    f.node = id;
    f.pass = "select";
    f.diag.code = "applicability";
    f.diag.severity = options.allow_reference_fallback ? diag::Severity::kWarning
                                                        : diag::Severity::kError;
    f.diag.message = fmt::format(
        "no kernel variant of {} supports this call{}", def.name,
        options.allow_reference_fallback ? "; it falls back to the reference kernel" : "");
    for (const Rejection& r : s.rejected)
      f.diag.notes.push_back(fmt::format("{}: {} ({})", def.variants[r.variant].name,
                                         r.reason.empty() ? "refused" : r.reason,
                                         sym::truth_name(r.truth)));
    f.diag.hint = "a variant must be proven to apply (or guarded) at trace time; nothing falls "
                  "back at run time (OPS.md §13 rule 1)";
    g.add_finding(std::move(f));
  }
}

}  // namespace symtrace::graph
