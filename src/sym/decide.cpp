// decide(): True / False / Unknown, never a wrong True or False. Every comparison becomes
// "g >= 0" or "d == 0" over the canonical difference, after the fact-dependent simplify.
// g >= 0 is proven from, in order of cost:
//   1. a lower bound of g >= 0: intervals, narrowed by g's modular set;
//   2. g == c1*f1 + ... + ck*fk + h with facts fi >= 0, ci > 0 and a lower bound of h >= 0
//      (a short search over facts sharing a monomial with what is left);
//   3. the algebraic strategies of prove.cpp (depth-limited);
//   4. case splits (prove.cpp), each case decided by this same procedure.
// False is "-g - 1 >= 0 proven"; d == 0 is decided by exact forms, modular sets,
// equality facts and the two inequalities.
#include <boost/container/small_vector.hpp>
#include <symtrace/diag/diagnostic.hpp>

#include "sym/env_impl.hpp"

namespace symtrace::sym {
namespace {
using detail::Interval;
using detail::TermView;

constexpr int kFactDepth = 3;     // at most this many facts combined
constexpr int kFactVisits = 48;   // and this many candidate combinations tried

// c > 0 with h - c*f cancelling a monomial of h, if any.
std::optional<std::int64_t> cancelling_multiple(Expr h, Expr f) {
  TermView vh(h), vf(f);
  for (std::size_t i = 0; i < vf.size(); ++i) {
    for (std::size_t j = 0; j < vh.size(); ++j) {
      if (detail::compare_monomials(vf.factors(i), vh.factors(j)) != 0) continue;
      const std::int64_t cf = vf.coef(i), ch = vh.coef(j);
      if (ch % cf == 0 && ch / cf > 0) return ch / cf;
    }
  }
  return std::nullopt;
}

struct FactSearch {
  const detail::EnvCore& env;
  int visits = 0;

  bool nonneg(Expr h, int depth) {
    if (detail::tighten(env.bounds(h), env.modular(h)).lo >= 0) return true;
    if (depth == kFactDepth) return false;
    auto try_fact = [&](Expr f) {
      if (++visits > kFactVisits) return false;
      auto c = cancelling_multiple(h, f);
      return c && nonneg(h - Expr(*c) * f, depth + 1);
    };
    for (Expr f : env.facts.nonneg)
      if (try_fact(f)) return true;
    for (Expr z : env.facts.zero)
      if (try_fact(z) || try_fact(-z)) return true;
    return false;
  }
};

}  // namespace

namespace detail {

// A symbol that occurs in g only as one term c*x, with x unbounded both ways and in no
// fact: g then takes values of both signs (x is free), so no proof can succeed.
bool has_free_symbol(const EnvCore& env, Expr g) {
  TermView t(g);
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto f = t.factors(i);
    if (f.size() != 1 || !f[0].is_symbol()) continue;
    const auto id = f[0].symbol_id();
    if (!env.owns(f[0].node())) continue;
    const Interval r = env.facts.symbols[id].range;
    if (r.lo != Interval::kNegInf || r.hi != Interval::kPosInf) continue;
    const std::uint64_t bit = f[0].node()->sym_mask;
    bool elsewhere = false;
    for (std::size_t j = 0; j < t.size() && !elsewhere; ++j)
      if (j != i) elsewhere = (t.term(j).node()->sym_mask & bit) != 0;
    auto mentions = [&](Expr e) { return (e.node()->sym_mask & bit) != 0; };
    for (Expr e : env.facts.nonneg) elsewhere = elsewhere || mentions(e);
    for (Expr e : env.facts.zero) elsewhere = elsewhere || mentions(e);
    for (Expr e : env.facts.nonzero) elsewhere = elsewhere || mentions(e);
    for (const auto& d : env.facts.divs) elsewhere = elsewhere || mentions(d.e);
    for (const auto& [node, b] : env.facts.term_bounds) elsewhere = elsewhere || (node->sym_mask & bit) != 0;
    for (const auto& [x, e] : env.facts.subst) elsewhere = elsewhere || mentions(e);
    if (!elsewhere) return true;  // a bloom hit counts as "elsewhere": only ever too careful
  }
  return false;
}

// Sign and content normal form, so scalar multiples of a fact compare by pointer.
Expr primitive_part(Expr d) {
  TermView v(d);
  if (v.size() == 0) return d;
  std::int64_t g = v.c0();
  for (std::size_t i = 0; i < v.size(); ++i) g = gcd64(g, v.coef(i));
  if (v.coef(0) < 0) g = -g;
  if (g == 1) return d;
  boost::container::small_vector<Expr, 8> terms;
  for (std::size_t i = 0; i < v.size(); ++i) terms.push_back(make_term(v.coef(i) / g, v.factors(i)));
  return make_sum(v.c0() / g, terms);
}

bool EnvCore::proves_nonneg(Expr g, int depth) const {
  g = simplify(g);
  if (auto c = g.constant()) return *c >= 0;
  const Interval b = tighten(bounds(g), modular(g));
  if (b.lo >= 0) return true;
  if (b.hi < 0) return false;
  if ((!facts.nonneg.empty() || !facts.zero.empty()) && FactSearch{*this}.nonneg(g, 0)) return true;
  if (depth <= 0) return false;
  if (auto it = proof_memo.find(g.node()); it != proof_memo.end()) {
    if (it->second < 0) return true;
    if (it->second >= depth) return false;
  }
  if (!spend()) return false;
  const bool ok = proves_by_strategies(g, depth);
  proof_memo[g.node()] = ok ? -1 : depth;
  return ok;
}

Truth EnvCore::decide_nonneg(Expr g, Effort effort) const {
  g = simplify(g);
  if (auto c = g.constant()) return *c >= 0 ? Truth::kTrue : Truth::kFalse;
  const Interval b = tighten(bounds(g), modular(g));
  if (b.lo >= 0) return Truth::kTrue;
  if (b.hi < 0) return Truth::kFalse;
  if (has_free_symbol(*this, g)) return Truth::kUnknown;
  if (proves_nonneg(g, effort.proof_depth)) return Truth::kTrue;
  if (proves_nonneg(-g - Expr(1), effort.proof_depth)) return Truth::kFalse;  // g <= -1
  return decide_nonneg_by_cases(g, effort);
}

Truth EnvCore::decide_zero(Expr d, Effort effort) const {
  d = simplify(d);
  if (auto c = d.constant()) return *c == 0 ? Truth::kTrue : Truth::kFalse;
  const ModSet m = modular(d);
  if (m.m == 0) return m.r == 0 ? Truth::kTrue : Truth::kFalse;
  if (m.r != 0) return Truth::kFalse;  // d ≡ r != 0 (mod m)
  const Interval b = tighten(bounds(d), m);
  if (!b.contains(0)) return Truth::kFalse;
  if (b.lo == 0 && b.hi == 0) return Truth::kTrue;
  if (!facts.zero.empty() || !facts.nonzero.empty()) {
    const Expr p = primitive_part(d);
    for (Expr z : facts.zero)
      if (z == p) return Truth::kTrue;
    for (Expr z : facts.nonzero)
      if (z == p) return Truth::kFalse;
  }
  if (has_free_symbol(*this, d)) return Truth::kUnknown;  // d != 0 somewhere; the modular set said d == 0 may hold
  for (Expr v : division_variants(*this, d))  // v == d or v == B*d with B > 0
    if (simplify(v) == Expr(0)) return Truth::kTrue;
  if (proves_nonneg(d, effort.proof_depth) && proves_nonneg(-d, effort.proof_depth)) return Truth::kTrue;
  if (proves_nonneg(d - Expr(1), effort.proof_depth) || proves_nonneg(-d - Expr(1), effort.proof_depth)) return Truth::kFalse;
  return decide_zero_by_cases(d, effort);
}

Truth EnvCore::decide(const Cond& c, Effort effort) const {
  int steps = kStrategyBudget;
  if (!budget) {  // the outermost call owns the budget
    budget = &steps;
    struct Reset {
      const EnvCore* env;
      ~Reset() { env->budget = nullptr; }
    } reset{this};
    return decide(c, effort);
  }
  switch (c.op()) {
    case CondOp::kTrue: return Truth::kTrue;
    case CondOp::kFalse: return Truth::kFalse;
    case CondOp::kNot: return truth_not(decide(c.operands()[0], effort));
    case CondOp::kAnd: {
      const Truth a = decide(c.operands()[0], effort);
      return a == Truth::kFalse ? a : truth_and(a, decide(c.operands()[1], effort));
    }
    case CondOp::kOr: {
      const Truth a = decide(c.operands()[0], effort);
      return a == Truth::kTrue ? a : truth_or(a, decide(c.operands()[1], effort));
    }
    default: break;
  }
  try {
    const Expr a = c.lhs(), b = c.rhs();
    switch (c.op()) {
      case CondOp::kEq: return decide_zero(a - b, effort);
      case CondOp::kNe: return truth_not(decide_zero(a - b, effort));
      case CondOp::kLe: return decide_nonneg(b - a, effort);
      case CondOp::kLt: return decide_nonneg(b - a - Expr(1), effort);
      case CondOp::kGe: return decide_nonneg(a - b, effort);
      case CondOp::kGt: return decide_nonneg(a - b - Expr(1), effort);
      default: break;
    }
  } catch (const diag::Error& e) {
    // A difference or bound that leaves int64 proves nothing either way.
    if (e.diagnostic().code == "overflow") return Truth::kUnknown;
    throw;
  }
  return Truth::kUnknown;
}

}  // namespace detail
}  // namespace symtrace::sym
