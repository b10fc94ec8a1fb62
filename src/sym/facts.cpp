// Turning assumptions into the forms the analyzers use:
//   x == e            eliminate x (union-find style: the newer symbol points at the older),
//                     x's range and divisibility move onto e
//   c*t + c0 >= 0     a bound on the single term t (a symbol's range, or term_bounds)
//   g >= 0            kept, and each term of g bounded by the others' bounds
//   mod(e, k) == r    e ≡ r (mod k), on the symbol when e is c*x + c0
//   d != 0            kept; a symbol at the edge of its range moves the edge
// Every add_* simplifies first and throws "contradiction" when the fact cannot hold.
#include <algorithm>

#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>

#include "sym/env_impl.hpp"

namespace symtrace::sym {
namespace {
using detail::Interval;
using detail::ModSet;
using detail::TermView;
using i128 = __int128;

[[noreturn]] void contradiction(const std::string& what) {
  diag::fail("contradiction", fmt::format("the fact {} contradicts what is already known", what));
}

// floor(a / b) and ceil(a / b) for b > 0, widened to 128 bits.
i128 floor_q(i128 a, i128 b) { return a / b - (a % b != 0 && a < 0 ? 1 : 0); }
i128 ceil_q(i128 a, i128 b) { return -floor_q(-a, b); }
std::int64_t clamp_lo(i128 x) {
  return x <= Interval::kNegInf ? Interval::kNegInf : x > Interval::kPosInf ? Interval::kPosInf : static_cast<std::int64_t>(x);
}
std::int64_t clamp_hi(i128 x) {
  return x >= Interval::kPosInf ? Interval::kPosInf : x < Interval::kNegInf ? Interval::kNegInf : static_cast<std::int64_t>(x);
}

// The bound c*t >= lo (lo finite) as a bound on t.
Interval term_bound_from(std::int64_t c, i128 lo) {
  if (c > 0) return {clamp_lo(ceil_q(lo, c)), Interval::kPosInf};
  return {Interval::kNegInf, clamp_hi(floor_q(-lo, -static_cast<i128>(c)))};
}

}  // namespace

void detail::EnvCore::narrow(std::uint32_t id, Interval r, ModSet s) {
  auto& f = facts.symbols[id];
  auto both = detail::intersect(f.mod, s);
  Interval range = f.range.meet(r);
  if (!both || detail::tighten(range, *both).empty())
    contradiction(fmt::format("on {} (range {}, {} mod {})", infos[id].name, range.range().str(),
                              both ? both->r : s.r, both ? both->m : s.m));
  f.mod = *both;
  f.range = range;
  infos[id].range = detail::tighten(range, f.mod).range();
  facts_changed();
}

// t = x*R in [lo, hi] with R >= 1 (every other factor positive): x has t's sign, and
// |x| <= |t|, so x >= 1 (lo >= 1), x >= 0 (lo >= 0), x <= max(hi, 0).
void detail::EnvCore::sign_of_factor(Expr t, Interval tb) {
  if (t.kind() != ExprKind::kMul) return;
  auto f = t.children();
  for (std::size_t i = 0; i < f.size(); ++i) {
    const bool repeated = (i > 0 && f[i - 1] == f[i]) || (i + 1 < f.size() && f[i + 1] == f[i]);
    if (!f[i].is_symbol() || !owns(f[i].node()) || repeated) continue;
    bool rest_positive = true;
    for (std::size_t j = 0; j < f.size() && rest_positive; ++j)
      if (j != i) rest_positive = bounds(f[j]).lo >= 1;
    if (!rest_positive) continue;
    Interval x;
    if (tb.lo >= 1) {
      x.lo = 1;
    } else if (tb.lo >= 0) {
      x.lo = 0;
    }
    if (tb.hi != Interval::kPosInf) x.hi = std::max<std::int64_t>(tb.hi, 0);
    if (x.lo != Interval::kNegInf || x.hi != Interval::kPosInf) narrow(f[i].symbol_id(), x, {});
  }
}

void detail::EnvCore::add_nonneg(Expr g) {
  g = simplify(g);
  TermView v(g);
  if (v.size() == 0) {
    if (v.c0() < 0) contradiction(fmt::format("{} >= 0", g.str()));
    return;
  }
  // Divide by the content: G*h + c0 >= 0  <=>  h + floor(c0/G) >= 0 over the integers.
  std::int64_t content = 0;
  for (std::size_t i = 0; i < v.size(); ++i) content = detail::gcd64(content, v.coef(i));
  if (content > 1) {
    Expr h = Expr(0);
    for (std::size_t i = 0; i < v.size(); ++i) h = h + detail::make_term(v.coef(i) / content, v.factors(i));
    return add_nonneg(h + Expr(py_floordiv(v.c0(), content)));
  }
  if (v.size() == 1) {  // c*t + c0 >= 0 with c == ±1
    Expr t = detail::make_term(1, v.factors(0));
    Interval b = term_bound_from(v.coef(0), -static_cast<i128>(v.c0()));
    if (t.is_symbol()) return narrow(t.symbol_id(), b, {});
    auto [it, fresh] = facts.term_bounds.try_emplace(t.node(), b);
    if (!fresh) it->second = it->second.meet(b);
    if (detail::tighten(bounds(t), modular(t)).meet(it->second).empty())
      contradiction(fmt::format("{} >= 0", g.str()));
    facts_changed();
    sign_of_factor(t, it->second);
    return;
  }
  facts.nonneg.push_back(g);
  facts_changed();
  // Each term against the others: c_i*t_i >= -c0 - sum_{j != i} hi(c_j*t_j).
  std::vector<Interval> tb(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) tb[i] = bounds(v.term(i));
  for (std::size_t i = 0; i < v.size(); ++i) {
    i128 rest = v.c0();
    bool finite = true;
    for (std::size_t j = 0; j < v.size() && finite; ++j) {
      if (j == i) continue;
      finite = tb[j].hi != Interval::kPosInf;
      rest += tb[j].hi;
    }
    if (!finite) continue;
    Expr t = detail::make_term(1, v.factors(i));
    Interval b = term_bound_from(v.coef(i), -rest);
    if (t.is_symbol()) {
      narrow(t.symbol_id(), b, {});
    } else {
      auto [it, fresh] = facts.term_bounds.try_emplace(t.node(), b);
      if (!fresh) it->second = it->second.meet(b);
    }
  }
}

void detail::EnvCore::add_div(Expr e, ModSet s) {
  e = simplify(e);
  if (s.m == 1) return;
  TermView v(e);
  if (v.size() == 0) {
    if (!detail::intersect(ModSet::exactly(v.c0()), s)) contradiction(fmt::format("{} ≡ {} (mod {})", e.str(), s.r, s.m));
    return;
  }
  if (v.size() == 1 && v.factors(0).size() == 1 && v.factors(0)[0].is_symbol()) {
    // c*x + c0 ≡ r (mod m)  =>  x ≡ (r - c0)/g * inv(c/g) (mod m/g), g = gcd(c, m)
    const std::int64_t c = v.coef(0);
    const std::uint32_t id = v.factors(0)[0].symbol_id();
    const i128 g = detail::gcd64(c, s.m);
    const i128 rhs = static_cast<i128>(s.r) - v.c0();
    if (rhs % g != 0) contradiction(fmt::format("{} ≡ {} (mod {})", e.str(), s.r, s.m));
    const i128 m = s.m / g;
    i128 a = ((c / g) % m + m) % m, x0 = 1, x1 = 0, p = a, q = m;
    while (q) {  // inverse of a modulo m
      i128 k = p / q, t = p - k * q;
      p = q, q = t;
      t = x0 - k * x1;
      x0 = x1, x1 = t;
    }
    const i128 r = ((rhs / g) % m * ((x0 % m + m) % m)) % m;
    return narrow(id, {}, detail::normalize(static_cast<std::int64_t>(m), static_cast<std::int64_t>((r + m) % m)));
  }
  for (auto& f : facts.divs) {
    if (f.e != e) continue;
    auto both = detail::intersect(f.set, s);
    if (!both) contradiction(fmt::format("{} ≡ {} (mod {})", e.str(), s.r, s.m));
    f.set = *both;
    facts_changed();
    return;
  }
  facts.divs.push_back({e, s});
  facts_changed();
}

void detail::EnvCore::add_nonzero(Expr d) {
  d = simplify(d);
  if (auto c = d.constant()) {
    if (*c == 0) contradiction("0 != 0");
    return;
  }
  TermView v(d);
  if (v.size() == 1 && v.coef(0) == 1 && v.term(0).is_symbol()) {  // x != k at an edge of x's range
    const std::uint32_t id = v.term(0).symbol_id();
    const std::int64_t k = -v.c0();
    const Interval r = detail::tighten(facts.symbols[id].range, facts.symbols[id].mod);
    if (r.lo == k && k != Interval::kPosInf) return narrow(id, {k + 1, Interval::kPosInf}, {});
    if (r.hi == k && k != Interval::kNegInf) return narrow(id, {Interval::kNegInf, k - 1}, {});
  }
  facts.nonzero.push_back(detail::primitive_part(d));
  facts_changed();
}

void detail::EnvCore::add_zero(Expr d) {
  d = detail::primitive_part(simplify(d));
  TermView v(d);
  if (v.size() == 0) {
    if (v.c0() != 0) contradiction(fmt::format("{} == 0", d.str()));
    return;
  }
  if (v.size() == 1) {
    const std::int64_t c = v.coef(0);
    if (v.c0() % c != 0) contradiction(fmt::format("{} == 0", d.str()));
    const std::int64_t value = -v.c0() / c;  // the single term equals value
    auto f = v.factors(0);
    if (f.size() == 1 && f[0].kind() == ExprKind::kMod && f[0].children()[1].is_constant()) {
      const std::int64_t k = *f[0].children()[1].constant();  // mod(e, k) == value: e ≡ value (mod k)
      if (value < 0 || value >= k) contradiction(fmt::format("{} == 0", d.str()));
      return add_div(f[0].children()[0], detail::normalize(k, value));
    }
    if (f.size() == 1 && f[0].is_symbol()) return add_substitution(f[0].symbol_id(), Expr(value));
  }
  // Solve for a symbol that appears once, alone, with coefficient ±1: prefer the newest.
  std::optional<std::size_t> pick;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v.term(i).is_symbol() && !(v.factors(i).size() == 1 && v.factors(i)[0].is_symbol())) continue;
    if (v.coef(i) != 1 && v.coef(i) != -1) continue;
    const Expr x = v.factors(i)[0];
    bool elsewhere = false;
    for (std::size_t j = 0; j < v.size() && !elsewhere; ++j) {
      if (j == i) continue;
      for (Expr f : v.factors(j)) {
        auto fs = f.free_symbols();
        elsewhere |= std::find(fs.begin(), fs.end(), x.symbol_id()) != fs.end();
      }
    }
    if (elsewhere) continue;
    if (!pick || x.symbol_id() > v.factors(*pick)[0].symbol_id()) pick = i;
  }
  if (pick) {
    const Expr x = v.factors(*pick)[0];
    // d = c*x + rest == 0  =>  x = -c*rest  (c == ±1)
    const Expr rest = d - detail::make_term(v.coef(*pick), v.factors(*pick));
    return add_substitution(x.symbol_id(), detail::scale(rest, -v.coef(*pick)));
  }
  facts.zero.push_back(d);
  facts_changed();
  add_nonneg(d);
  add_nonneg(-d);
  // the facts just added are in nonneg too (when they kept >= 2 terms); zero has them already
}

void detail::EnvCore::add_substitution(std::uint32_t id, Expr e) {
  if (auto v = e.constant()) narrow(id, Interval::point(*v), {});
  // x's own facts now constrain e.
  const SymbolFacts xf = facts.symbols[id];
  facts.subst[id] = e;
  facts.subst_mask |= 1ULL << (id & 63);
  for (auto& [other, rhs] : facts.subst) {  // keep every right side free of eliminated symbols
    if (other == id) continue;
    rhs = substitute(rhs, [&](std::uint32_t s) -> std::optional<Expr> {
      if (s == id) return e;
      return std::nullopt;
    });
  }
  facts_changed();
  for (auto& [other, rhs] : facts.subst) rhs = simplify(rhs);
  facts_changed();
  if (xf.range.lo != Interval::kNegInf) add_nonneg(e - Expr(xf.range.lo));
  if (xf.range.hi != Interval::kPosInf) add_nonneg(Expr(xf.range.hi) - e);
  if (xf.mod.m != 1) add_div(e, xf.mod);
  // Facts that mention x are restated over e.
  Facts old = facts;
  facts.nonneg.clear();
  facts.zero.clear();
  facts.nonzero.clear();
  facts.divs.clear();
  facts.term_bounds.clear();
  facts_changed();
  for (auto& [node, b] : old.term_bounds) {
    Expr t(node);
    if (b.lo != Interval::kNegInf) add_nonneg(t - Expr(b.lo));
    if (b.hi != Interval::kPosInf) add_nonneg(Expr(b.hi) - t);
  }
  for (Expr g : old.nonneg) add_nonneg(g);
  for (Expr z : old.zero) add_zero(z);
  for (Expr z : old.nonzero) add_nonzero(z);
  for (const auto& f : old.divs) add_div(f.e, f.set);
}

void detail::EnvCore::add_fact(const Cond& c) {
  switch (c.op()) {
    case CondOp::kTrue: return;
    case CondOp::kFalse: contradiction("false");
    case CondOp::kAnd:
      add_fact(c.operands()[0]);
      return add_fact(c.operands()[1]);
    case CondOp::kNot: {
      const Cond& x = c.operands()[0];
      switch (x.op()) {
        case CondOp::kEq: return add_fact(ne(x.lhs(), x.rhs()));
        case CondOp::kNe: return add_fact(eq(x.lhs(), x.rhs()));
        case CondOp::kLt: return add_fact(ge(x.lhs(), x.rhs()));
        case CondOp::kLe: return add_fact(gt(x.lhs(), x.rhs()));
        case CondOp::kGt: return add_fact(le(x.lhs(), x.rhs()));
        case CondOp::kGe: return add_fact(lt(x.lhs(), x.rhs()));
        case CondOp::kNot: return add_fact(x.operands()[0]);
        case CondOp::kOr: return add_fact(!x.operands()[0] && !x.operands()[1]);
        default: return;  // not(a and b), not(true/false): nothing usable beyond bind()
      }
    }
    case CondOp::kOr: return;  // a disjunction narrows nothing here; bind() still checks it
    default: break;
  }
  const Expr a = c.lhs(), b = c.rhs();
  switch (c.op()) {
    case CondOp::kEq: return add_zero(a - b);
    case CondOp::kNe: return add_nonzero(a - b);
    case CondOp::kLe: return add_nonneg(b - a);
    case CondOp::kLt: return add_nonneg(b - a - Expr(1));
    case CondOp::kGe: return add_nonneg(a - b);
    case CondOp::kGt: return add_nonneg(a - b - Expr(1));
    default: return;
  }
}

}  // namespace symtrace::sym
