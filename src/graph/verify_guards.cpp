// verify: guards that specialise the graph's input sizes.
//
// A fake that cannot prove a size equality records a guard and goes on; that is right for a
// kernel's alignment (`mod(S, 16) == 0`, checked at bind) but wrong when the equality pins an
// input size: a flattened [B*S, N] meeting [B, S, N] in a broadcasting add records
// `S == B*S`, which holds only for B == 1. The graph then "works" for the one batch size the
// test used and fails at bind for every other. Such a guard is an error on the node that
// recorded it, naming the guard, what it pins and where each symbol came from.
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "graph/graph_impl.hpp"

namespace symtrace::graph {

namespace {

using sym::Expr;
using sym::ExprKind;

// True when e is a polynomial over symbols: no floordiv / mod / min / max atom. Those mark a
// divisibility or clamping guard, which restricts sizes without pinning them.
bool polynomial(Expr e) {
  switch (e.kind()) {
    case ExprKind::kConstant:
    case ExprKind::kSymbol: return true;
    case ExprKind::kAdd:
    case ExprKind::kMul:
      for (Expr c : e.children())
        if (!polynomial(c)) return false;
      return true;
    default: return false;
  }
}

Expr with(Expr e, std::uint32_t id, Expr value) {
  return sym::substitute(e, [&](std::uint32_t s) -> std::optional<Expr> {
    if (s == id) return value;
    return std::nullopt;
  });
}

// Divides out a positive symbol that is a factor of degree one of every term:
// S - B*S == 0  <=>  1 - B == 0 when S >= 1. Degree one in x means e(2) == 2 e(1) with e(0) == 0.
Expr cancel_positive_factors(const sym::ShapeEnv& env, Expr e) {
  for (std::uint32_t id : e.free_symbols()) {
    const sym::Range r = env.info(id).range;
    if (!r.lo || *r.lo < 1) continue;
    const Expr at1 = with(e, id, 1);
    if (with(e, id, 0) == Expr(0) && with(e, id, 2) == at1 * 2) e = at1;
  }
  return e;
}

// "B = 1", "S = T*B": the input symbol a linear equality e == 0 solves for, when its
// coefficient is a unit. nullopt when no input symbol appears linearly with a unit coefficient.
std::optional<std::string> pinned(const sym::ShapeEnv& env, Expr e) {
  for (std::uint32_t id : e.free_symbols()) {
    if (env.info(id).kind != sym::SymbolKind::kInputSize) continue;
    const Expr b = with(e, id, 0);
    const Expr a = with(e, id, 1) - b;
    if (with(e, id, 2) != a * 2 + b) continue;  // not linear in this symbol
    if (a == Expr(1)) return fmt::format("{} = {}", env.info(id).name, (-b).str());
    if (a == Expr(-1)) return fmt::format("{} = {}", env.info(id).name, b.str());
  }
  return std::nullopt;
}

// The equalities a guard asserts (a conjunction asserts each of its parts).
void equalities(const sym::Cond& c, std::vector<sym::Cond>& out) {
  if (c.op() == sym::CondOp::kEq) out.push_back(c);
  if (c.op() == sym::CondOp::kAnd)
    for (const sym::Cond& part : c.operands()) equalities(part, out);
}

}  // namespace

void check_input_guards(Graph& g) {
  const sym::ShapeEnv& env = g.env();
  const std::vector<sym::Guard>& guards = env.guards();
  for (std::size_t k = 0; k < guards.size(); ++k) {
    std::vector<sym::Cond> eqs;
    equalities(guards[k].cond, eqs);
    for (const sym::Cond& c : eqs) {
      const Expr diff = c.lhs() - c.rhs();
      if (!polynomial(diff)) continue;
      std::vector<std::string> inputs;
      for (std::uint32_t id : diff.free_symbols())
        if (env.info(id).kind == sym::SymbolKind::kInputSize) inputs.push_back(env.info(id).name);
      if (inputs.empty()) continue;  // config dims only: prepare's layout check covers those
      const std::optional<std::string> pin = pinned(env, cancel_positive_factors(env, diff));
      Finding f;
      f.node = g.guard_site(k);
      f.pass = "verify";
      f.diag.code = "input-specialization";
      f.diag.message = fmt::format(
          "the guard `{}` specialises input size{} {}: the graph would hold only {}", c.str(),
          inputs.size() == 1 ? "" : "s", fmt::join(inputs, ", "),
          pin ? fmt::format("for {}", *pin) : std::string("for particular sizes"));
      f.diag.expected = "no guard pinning an input size (every batch and sequence length)";
      f.diag.got = fmt::format("guard {}", c.str());
      f.diag.proven = false;
      f.diag.notes.push_back(fmt::format("recorded by {}", guards[k].reason));
      for (std::string& line : env.provenance_notes(diff)) f.diag.notes.push_back(std::move(line));
      f.diag.hint = "an input's leading dims were most likely flattened or reshaped upstream "
                    "(e.g. [B, S, N] -> [B*S, N]); keep them in the fake's output";
      g.add_finding(std::move(f));
    }
  }
}

}  // namespace symtrace::graph
