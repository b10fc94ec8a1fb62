// The deeper proof strategies behind decide(), tried when intervals, modular sets and the
// facts alone do not settle "g >= 0". Each replaces the goal by goals that imply it:
//   linear in an atom v:  g = v*q + r, v in [lo, hi]   g >= 0 <= lo*q + r >= 0 and hi*q + r >= 0
//                         (an infinite end asks q >= 0, or -q >= 0, instead)
//   quadratic in v:       g = A*v*v + B*v + C, A > 0   g >= 0 <= 4*A*C - B*B >= 0
//   two floordivs:        c*(X // k) - c*(Y // k) + r >= 0 <= X - Y >= t*k, c*t + r >= 0
//   division identities:  k*(X // k) == X - X % k, and X % k == X - k*(X // k)
// and case splits, which decide the goal in every case:
//   mod(x, m) == 0 known, m symbolic: x == m*q for a fresh q (one case)
//   min(p, q) / max(p, q): p <= q, p > q
//   x inside X // k or X % k: x == M*x' + rho for each rho (x' a fresh symbol), so the
//   divisions become polynomials; with x ≡ r (mod M) known this is a single case.
#include <algorithm>
#include <numeric>

#include <boost/container/small_vector.hpp>
#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>

#include "sym/env_impl.hpp"

namespace symtrace::sym::detail {
namespace {

constexpr int kMaxResidueCases = 16;

bool contains(Expr e, Expr atom) {
  if (e == atom) return true;
  if ((e.node()->sym_mask & atom.node()->sym_mask) != atom.node()->sym_mask) return false;
  for (Expr k : e.children())
    if (contains(k, atom)) return true;
  return false;
}

// g == a2*v*v + q*v + r with v not in a2, q, r; nullopt when v occurs otherwise.
struct Decomposed {
  Expr a2, q, r;
};
std::optional<Decomposed> decompose(Expr g, Expr v) {
  TermView t(g);
  Expr parts[3] = {Expr(t.c0()), Expr(0), Expr(0)};
  for (std::size_t i = 0; i < t.size(); ++i) {
    boost::container::small_vector<Expr, 4> rest;
    std::size_t degree = 0;
    for (Expr f : t.factors(i)) {
      if (f == v) {
        ++degree;
      } else {
        if (contains(f, v)) return std::nullopt;
        rest.push_back(f);
      }
    }
    if (degree > 2) return std::nullopt;
    parts[degree] = parts[degree] + make_term(t.coef(i), rest);
  }
  return Decomposed{parts[2], parts[1], parts[0]};
}

// The distinct atoms that are factors of g's terms.
boost::container::small_vector<Expr, 8> top_atoms(Expr g) {
  boost::container::small_vector<Expr, 8> out;
  TermView t(g);
  for (std::size_t i = 0; i < t.size(); ++i)
    for (Expr f : t.factors(i))
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  return out;
}

// First atom of the given kind anywhere in e (depth first), if any.
std::optional<Expr> find_kind(Expr e, ExprKind a, ExprKind b) {
  if (e.kind() == a || e.kind() == b) return e;
  for (Expr k : e.children())
    if (auto f = find_kind(k, a, b)) return f;
  return std::nullopt;
}

void symbols_of(Expr e, std::vector<Expr>& out) {
  if (e.is_symbol() && std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  for (Expr k : e.children()) symbols_of(k, out);
}

void division_atoms(Expr e, std::vector<Expr>& out) {
  if ((e.kind() == ExprKind::kFloorDiv || e.kind() == ExprKind::kMod) && e.children()[1].is_constant())
    out.push_back(e);
  for (Expr k : e.children()) division_atoms(k, out);
}

// g with every term containing the factor `atom` (once) mapped by f(coef*rest), the other
// terms by other(term); nullopt when atom occurs in a term twice or nested.
template <class F, class G>
std::optional<Expr> rewrite_terms(Expr g, Expr atom, F&& f, G&& other) {
  TermView t(g);
  Expr out = other(Expr(t.c0()));
  for (std::size_t i = 0; i < t.size(); ++i) {
    boost::container::small_vector<Expr, 4> rest;
    int seen = 0;
    for (Expr x : t.factors(i)) {
      if (x == atom) {
        ++seen;
      } else {
        if (contains(x, atom)) return std::nullopt;
        rest.push_back(x);
      }
    }
    if (seen > 1) return std::nullopt;
    out = out + (seen ? f(make_term(t.coef(i), rest)) : other(t.term(i)));
  }
  return out;
}

}  // namespace

// Variants of g that equal g (mod->floordiv) or B*g with B > 0 (floordiv->mod).
std::vector<Expr> division_variants(const EnvCore& env, Expr g) {
  std::vector<Expr> out;
  for (Expr a : top_atoms(g)) {
    if (a.kind() != ExprKind::kFloorDiv && a.kind() != ExprKind::kMod) continue;
    const Expr x = a.children()[0], b = a.children()[1];
    if (a.kind() == ExprKind::kMod) {  // x % b == x - b*(x // b)
      const Expr repl = x - b * floordiv(x, b);
      if (auto v = rewrite_terms(g, a, [&](Expr cr) { return cr * repl; }, [](Expr t) { return t; })) out.push_back(*v);
      continue;
    }
    const bool positive = b.is_constant() ? *b.constant() > 0 : env.proves_nonneg(b - Expr(1), 0);
    if (!positive) continue;
    // b*(x // b) == x - x % b: multiply g by b, unless every coefficient of x // b is a
    // multiple of the constant b already.
    const Expr repl = x - mod(x, b);
    bool exact = b.is_constant();
    if (exact) {
      TermView t(g);
      for (std::size_t i = 0; i < t.size() && exact; ++i)
        for (Expr f : t.factors(i))
          if (f == a && t.coef(i) % *b.constant() != 0) exact = false;
    }
    std::optional<Expr> v;
    if (exact) {
      const std::int64_t k = *b.constant();
      v = rewrite_terms(g, a, [&](Expr cr) {
            TermView c(cr);  // cr / k term by term: every coefficient is a multiple of k
            Expr q(c.c0() / k);
            for (std::size_t i = 0; i < c.size(); ++i) q = q + make_term(c.coef(i) / k, c.factors(i));
            return q * repl;
          }, [](Expr t) { return t; });
    } else {
      v = rewrite_terms(g, a, [&](Expr cr) { return cr * repl; }, [&](Expr t) { return t * b; });
    }
    if (v) out.push_back(*v);
  }
  return out;
}

bool EnvCore::proves_by_strategies(Expr g, int depth) const {
  const int d = depth - 1;
  const auto atoms = top_atoms(g);
  // Linear or quadratic in one atom (only atoms that share a term with another factor,
  // or are squared: elsewhere intervals are exact already and nothing is built).
  for (Expr v : atoms) {
    bool shares = false;
    {
      TermView t(g);
      for (std::size_t i = 0; i < t.size() && !shares; ++i) {
        auto f = t.factors(i);
        shares = f.size() > 1 && std::find(f.begin(), f.end(), v) != f.end();
      }
    }
    if (!shares) continue;
    auto parts = decompose(g, v);
    if (!parts) continue;
    if (auto a = parts->a2.constant(); a && *a == 0) {
      if (parts->q.is_constant()) continue;  // linear with a constant slope: intervals are exact
      const Interval b = tighten(bounds(v), modular(v));
      bool ok;
      if (b.lo != Interval::kNegInf && b.hi != Interval::kPosInf) {
        ok = proves_nonneg(Expr(b.lo) * parts->q + parts->r, d) && proves_nonneg(Expr(b.hi) * parts->q + parts->r, d);
      } else if (b.lo != Interval::kNegInf) {  // g = (lo*q + r) + (v - lo)*q
        ok = proves_nonneg(parts->q, d) && proves_nonneg(Expr(b.lo) * parts->q + parts->r, d);
      } else if (b.hi != Interval::kPosInf) {  // g = (hi*q + r) - (hi - v)*q
        ok = proves_nonneg(-parts->q, d) && proves_nonneg(Expr(b.hi) * parts->q + parts->r, d);
      } else {
        ok = false;
      }
      if (ok) return true;
    } else if (a && *a > 0) {
      if (proves_nonneg(Expr(4 * *a) * parts->r - parts->q * parts->q, d)) return true;
    }
  }
  // Two floordivs by the same constant with opposite coefficients (after ceil flips).
  {
    TermView t(g);
    std::vector<std::size_t> fd;
    for (std::size_t i = 0; i < t.size(); ++i) {
      auto f = t.factors(i);
      if (f.size() == 1 && f[0].kind() == ExprKind::kFloorDiv && f[0].children()[1].is_constant()) fd.push_back(i);
    }
    for (std::size_t x = 0; x < fd.size(); ++x) {
      for (std::size_t y = x + 1; y < fd.size(); ++y) {
        Expr fx = t.factors(fd[x])[0], fy = t.factors(fd[y])[0];
        const std::int64_t k = *fx.children()[1].constant();
        if (*fy.children()[1].constant() != k) continue;
        std::int64_t cx = t.coef(fd[x]), cy = t.coef(fd[y]);
        Expr px = fx.children()[0], py = fy.children()[0];
        // c*(X // k) == -c*((k - 1 - X) // k): flip one side so the signs are opposite.
        if ((cx > 0) == (cy > 0)) {
          if (cx < 0) {
            px = Expr(k - 1) - px, cx = -cx;
          } else {
            py = Expr(k - 1) - py, cy = -cy;
          }
        }
        if (cx != -cy) continue;
        const std::int64_t c = cx > 0 ? cx : cy;
        const Expr pos = cx > 0 ? px : py, neg = cx > 0 ? py : px;
        const Expr rest = g - t.term(fd[x]) - t.term(fd[y]);
        const Interval rb = bounds(rest);
        if (rb.lo == Interval::kNegInf) continue;
        // need c*t + lo(rest) >= 0, i.e. t = ceil(-lo / c)
        const std::int64_t need = -py_floordiv(rb.lo, c);
        if (proves_nonneg(pos - neg - Expr(checked_mul(need, k)), d)) return true;
      }
    }
  }
  for (Expr v : division_variants(*this, g))
    if (proves_nonneg(v, d)) return true;
  // Relaxation: a lone division or min/max atom A with c*A >= c*lo(A) (c > 0) or
  // c*A >= c*hi(A) (c < 0) is replaced by that bound, which can unblock the rest.
  {
    TermView t(g);
    Expr relaxed(t.c0());
    bool any = false;
    for (std::size_t i = 0; i < t.size(); ++i) {
      auto f = t.factors(i);
      const std::int64_t c = t.coef(i);
      if (f.size() == 1 && !f[0].is_symbol()) {
        const Interval b = tighten(bounds(f[0]), modular(f[0]));
        const std::int64_t end = c > 0 ? b.lo : b.hi;
        if (end != Interval::kNegInf && end != Interval::kPosInf) {
          relaxed = relaxed + Expr(checked_mul(c, end));
          any = true;
          continue;
        }
      }
      relaxed = relaxed + t.term(i);
    }
    if (any && proves_nonneg(relaxed, d)) return true;
  }
  return false;
}

namespace {

// Decides `goal` in a copy of env with extra facts; nullopt when the case is impossible.
template <class AddFacts, class Goal>
std::optional<Truth> in_case(const EnvCore& env, AddFacts&& add, Goal&& goal) {
  if (!env.spend()) return Truth::kUnknown;
  EnvCore child = env;
  child.facts_changed();
  try {
    add(child);
    return goal(child);
  } catch (const diag::Error& e) {
    if (e.diagnostic().code == "contradiction") return std::nullopt;
    throw;
  }
}

Truth combine(const std::vector<std::optional<Truth>>& cases) {
  std::optional<Truth> all;
  for (const auto& c : cases) {
    if (!c) continue;  // an impossible case agrees with everything
    if (*c == Truth::kUnknown) return Truth::kUnknown;
    if (all && *all != *c) return Truth::kUnknown;
    all = c;
  }
  return all.value_or(Truth::kUnknown);
}

// A fresh symbol of a case, for substitutions that introduce one.
Expr fresh_symbol(EnvCore& c, const std::string& name, const std::string& provenance) {
  const auto aux = static_cast<std::uint32_t>(c.infos.size());
  c.infos.push_back(SymbolInfo{aux, name, provenance, SymbolKind::kUnbacked, Range::unbounded(), std::nullopt});
  c.facts.symbols.push_back({Range::unbounded(), Interval{}, {}});
  const Expr q = Expr::symbol(aux, name);
  c.symbol_nodes.push_back(q.node());
  return q;
}

template <class Goal>
Truth by_cases(const EnvCore& env, Expr g, int depth, Goal&& goal) {
  if (depth <= 0) return Truth::kUnknown;
  // A symbolic divisibility fact mod(x, m) == 0 about a symbol x in g: x == m*q for a
  // fresh q (a single case), so divisions by factors of m become exact.
  for (Expr z : env.facts.zero) {
    if (z.kind() != ExprKind::kMod || z.children()[1].is_constant()) continue;
    const Expr x = z.children()[0], m = z.children()[1];
    if (!x.is_symbol() || !env.owns(x.node()) || !contains(g, x) || contains(m, x)) continue;
    return combine({in_case(env, [&](EnvCore& c) {
      const Expr q = fresh_symbol(c, fmt::format("{}/({})", x.symbol_name(), m.str()), "a divisibility fact");
      c.add_substitution(x.symbol_id(), m * q);
    }, goal)});
  }
  if (auto m = find_kind(g, ExprKind::kMin, ExprKind::kMax)) {
    const Expr p = m->children()[0], q = m->children()[1];
    return combine({in_case(env, [&](EnvCore& c) { c.add_nonneg(q - p); }, goal),
                    in_case(env, [&](EnvCore& c) { c.add_nonneg(p - q - Expr(1)); }, goal)});
  }
  std::vector<Expr> divs;
  division_atoms(g, divs);
  // The symbol whose split needs the fewest cases.
  std::optional<std::uint32_t> best;
  std::int64_t best_cases = kMaxResidueCases + 1, best_m = 0;
  for (Expr a : divs) {
    std::vector<Expr> syms;
    symbols_of(a.children()[0], syms);
    for (Expr x : syms) {
      if (!env.owns(x.node())) continue;
      const std::uint32_t id = x.symbol_id();
      std::int64_t k = 1;
      for (Expr b : divs) {
        if (contains(b.children()[0], x)) k = std::lcm(k, *b.children()[1].constant());
        if (k > (1 << 20)) break;
      }
      const ModSet known = env.facts.symbols[id].mod;
      if (known.m == 0 || k > (1 << 20)) continue;
      const std::int64_t m = std::lcm(k, known.m);
      const std::int64_t cases = m / known.m;
      if (cases < best_cases) best = id, best_cases = cases, best_m = m;
    }
  }
  if (!best) return Truth::kUnknown;
  const std::uint32_t id = *best;
  const ModSet known = env.facts.symbols[id].mod;
  std::vector<std::optional<Truth>> results;
  for (std::int64_t rho = known.r % known.m; rho < best_m; rho += known.m) {
    results.push_back(in_case(env, [&](EnvCore& c) {
      const Expr q = fresh_symbol(c, c.infos[id].name + "'", "a residue case of " + c.infos[id].name);
      c.add_substitution(id, Expr(best_m) * q + Expr(rho));
    }, goal));
    if (results.back() && *results.back() == Truth::kUnknown) return Truth::kUnknown;
  }
  return combine(results);
}

}  // namespace

Truth EnvCore::decide_nonneg_by_cases(Expr g, Effort effort) const {
  const Effort inner{effort.proof_depth, effort.split_depth - 1};
  return by_cases(*this, g, effort.split_depth, [&](const EnvCore& c) { return c.decide_nonneg(g, inner); });
}

Truth EnvCore::decide_zero_by_cases(Expr d, Effort effort) const {
  const Effort inner{effort.proof_depth, effort.split_depth - 1};
  return by_cases(*this, d, effort.split_depth, [&](const EnvCore& c) { return c.decide_zero(d, inner); });
}

}  // namespace symtrace::sym::detail
