// evaluate() with checked arithmetic, substitute(), and verify() of the canonical form.
#include <unordered_map>

#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/sym_int.hpp>

#include "sym/algebra.hpp"

namespace symtrace::sym {

std::int64_t evaluate(Expr e, const std::function<std::optional<std::int64_t>(std::uint32_t)>& f) {
  switch (e.kind()) {
    case ExprKind::kConstant: return *e.constant();
    case ExprKind::kSymbol: {
      if (auto v = f(e.symbol_id())) return *v;
      diag::fail("unbound", fmt::format("symbol {} has no value", e.symbol_name()));
    }
    case ExprKind::kAdd: {
      std::int64_t s = e.coefficient();
      for (Expr t : e.children()) s = checked_add(s, evaluate(t, f));
      return s;
    }
    case ExprKind::kMul: {
      std::int64_t p = e.coefficient();
      for (Expr t : e.children()) p = checked_mul(p, evaluate(t, f));
      return p;
    }
    case ExprKind::kFloorDiv: return py_floordiv(evaluate(e.children()[0], f), evaluate(e.children()[1], f));
    case ExprKind::kMod: return py_mod(evaluate(e.children()[0], f), evaluate(e.children()[1], f));
    case ExprKind::kMin: return std::min(evaluate(e.children()[0], f), evaluate(e.children()[1], f));
    case ExprKind::kMax: return std::max(evaluate(e.children()[0], f), evaluate(e.children()[1], f));
  }
  throw diag::InternalError("evaluate: unknown expression kind");
}

namespace detail {
// Rebuilds e bottom-up through the canonicalising constructors, after `leaf` replaced
// symbols. Unchanged subtrees are returned as they are.
Expr rebuild(Expr e, const std::function<std::optional<Expr>(std::uint32_t)>& leaf,
             std::unordered_map<const Node*, Expr>& memo) {
  switch (e.kind()) {
    case ExprKind::kConstant: return e;
    case ExprKind::kSymbol: {
      auto r = leaf(e.symbol_id());
      return r ? *r : e;
    }
    default: break;
  }
  if (auto it = memo.find(e.node()); it != memo.end()) return it->second;
  auto kids = e.children();
  Expr out;
  switch (e.kind()) {
    case ExprKind::kAdd:
    case ExprKind::kMul: {
      std::vector<Expr> done;
      bool changed = false;
      for (Expr t : kids) {
        done.push_back(rebuild(t, leaf, memo));
        changed |= done.back() != t;
      }
      if (!changed) {
        out = e;
        break;
      }
      out = Expr(e.coefficient());
      for (Expr t : done) out = e.kind() == ExprKind::kAdd ? out + t : out * t;
      break;
    }
    case ExprKind::kFloorDiv: out = floordiv(rebuild(kids[0], leaf, memo), rebuild(kids[1], leaf, memo)); break;
    case ExprKind::kMod: out = mod(rebuild(kids[0], leaf, memo), rebuild(kids[1], leaf, memo)); break;
    case ExprKind::kMin: out = min(rebuild(kids[0], leaf, memo), rebuild(kids[1], leaf, memo)); break;
    case ExprKind::kMax: out = max(rebuild(kids[0], leaf, memo), rebuild(kids[1], leaf, memo)); break;
    default: break;
  }
  memo.emplace(e.node(), out);
  return out;
}
}  // namespace detail

Expr substitute(Expr e, const std::function<std::optional<Expr>(std::uint32_t id)>& f) {
  std::unordered_map<const detail::Node*, Expr> memo;
  return detail::rebuild(e, f, memo);
}

void verify(Expr e) {
  using detail::compare;
  using detail::compare_monomials;
  auto bad = [&](const char* why) {
    throw diag::InternalError(fmt::format("non-canonical expression {}: {}", e.str(), why));
  };
  auto kids = e.children();
  for (Expr k : kids) verify(k);
  switch (e.kind()) {
    case ExprKind::kConstant:
    case ExprKind::kSymbol: if (!kids.empty()) bad("leaf with children"); break;
    case ExprKind::kMul:
      if (e.coefficient() == 0) bad("zero coefficient");
      if (kids.empty() || (kids.size() == 1 && e.coefficient() == 1)) bad("trivial product");
      for (std::size_t i = 0; i < kids.size(); ++i) {
        if (!detail::is_atom(kids[i].kind())) bad("factor is not an atom");
        if (i && compare(kids[i - 1], kids[i]) > 0) bad("factors out of order");
      }
      break;
    case ExprKind::kAdd:
      if (kids.empty() || (kids.size() == 1 && e.coefficient() == 0)) bad("trivial sum");
      for (std::size_t i = 0; i < kids.size(); ++i) {
        if (kids[i].kind() == ExprKind::kAdd || kids[i].is_constant()) bad("term is a sum or constant");
        detail::TermView a(kids[i]);
        if (i) {
          detail::TermView p(kids[i - 1]);
          if (compare_monomials(p.factors(0), a.factors(0)) >= 0) bad("terms out of order");
        }
      }
      break;
    case ExprKind::kFloorDiv:
    case ExprKind::kMod:
      if (kids.size() != 2) bad("division needs two operands");
      if (kids[1].is_constant() && *kids[1].constant() <= 1) bad("constant divisor <= 1");
      break;
    case ExprKind::kMin:
    case ExprKind::kMax:
      if (kids.size() != 2) bad("min/max needs two operands");
      if (kids[0].is_constant() || (!kids[1].is_constant() && compare(kids[0], kids[1]) >= 0))
        bad("operands out of order");
      break;
  }
}

}  // namespace symtrace::sym
