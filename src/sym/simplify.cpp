// Fact-dependent rewrites (ShapeEnv::simplify). Each rule, with its algebra:
//   x                    -> e               x eliminated by an equality x == e
//   (k*q + s + u) // k   -> q + s//k + j    s ≡ 0 (mod k), j*k <= u < (j+1)*k provable
//   (k*q + s + u) % k    -> s%k... -> u - j*k  same split; s ≡ 0 (mod k) drops out of the mod
//   e % k                -> r % k            e ≡ r (mod m) with k | m
//   (b*q + r) // b       -> q + r // b       b a monomial, b != 0 provable
//   (b*q + r) % b        -> r % b            b a monomial, b != 0 provable
//   r // b               -> 0               0 <= r < b provable (b > 0)
//   r % b                -> r               0 <= r < b provable (b > 0)
//   min(a, b)            -> a               a <= b provable (max: b)
// A rewrite never introduces a division by something that was not a divisor before.
#include <boost/container/small_vector.hpp>

#include "sym/env_impl.hpp"

namespace symtrace::sym {
namespace {
using detail::Interval;
using detail::TermView;

// Rewrites ask only the cheap proofs (no case splits): simplify runs inside decide.
constexpr int kDepth = 1;

bool provably_nonzero(const detail::EnvCore& env, Expr b) {
  return env.proves_nonneg(b - Expr(1), kDepth) || env.proves_nonneg(-b - Expr(1), kDepth);
}

// Terms of `a` that are provably ≡ 0 (mod k) go to s, the others (and the constant) to u.
struct Partition {
  Expr s, u;
};
Partition partition_by(const detail::EnvCore& env, Expr a, std::int64_t k) {
  TermView v(a);
  boost::container::small_vector<Expr, 8> s, u;
  for (std::size_t i = 0; i < v.size(); ++i) {
    detail::ModSet m = env.modular(v.term(i));
    const bool multiple = m.m == 0 ? m.r % k == 0 : (m.m % k == 0 && m.r % k == 0);
    (multiple ? s : u).push_back(v.term(i));
  }
  return {detail::make_sum(0, s), detail::make_sum(v.c0(), u)};
}

// j with j*k <= u < (j+1)*k for every binding, if provable.
std::optional<std::int64_t> block_of(const detail::EnvCore& env, Expr u, std::int64_t k) {
  Interval b = env.bounds(u);
  if (b.lo == Interval::kNegInf || b.hi == Interval::kPosInf) return std::nullopt;
  const std::int64_t j = py_floordiv(b.lo, k);
  if (py_floordiv(b.hi, k) != j) return std::nullopt;
  return j;
}

// a == b*q + r with q collecting the terms of a divisible by the monomial b.
struct MonoSplit {
  Expr q, r;
};
std::optional<MonoSplit> split_by_monomial(Expr a, Expr b) {
  TermView vb(b);
  if (vb.size() != 1 || vb.c0() != 0) return std::nullopt;
  const std::int64_t bc = vb.coef(0);
  auto bf = vb.factors(0);
  TermView va(a);
  Expr q, r(va.c0());
  bool any = false;
  for (std::size_t i = 0; i < va.size(); ++i) {
    auto f = va.factors(i);
    boost::container::small_vector<Expr, 4> rest;
    std::size_t j = 0;
    for (Expr x : f) {  // multiset difference f - bf; both sorted by compare()
      if (j < bf.size() && bf[j] == x) {
        ++j;
      } else {
        rest.push_back(x);
      }
    }
    if (j == bf.size() && va.coef(i) % bc == 0) {
      q = q + detail::make_term(va.coef(i) / bc, rest);
      any = true;
    } else {
      r = r + va.term(i);
    }
  }
  if (!any) return std::nullopt;
  return MonoSplit{q, r};
}

}  // namespace

Expr detail::EnvCore::simplify(Expr e) const {
  const detail::Node* n = e.node();
  switch (n->kind) {
    case ExprKind::kConstant: return e;
    case ExprKind::kSymbol: {
      if (!(facts.subst_mask & n->sym_mask) || !owns(n)) return e;
      auto it = facts.subst.find(static_cast<std::uint32_t>(n->value));
      return it == facts.subst.end() ? e : it->second;
    }
    default: break;
  }
  if (auto it = simplify_memo.find(n); it != simplify_memo.end()) return it->second;
  auto kids = e.children();
  Expr out;
  switch (n->kind) {
    case ExprKind::kAdd:
    case ExprKind::kMul: {
      // Rebuilt only when a child changed: a sum of simplified terms is already canonical.
      boost::container::small_vector<Expr, 8> done;
      bool changed = false;
      for (Expr t : kids) {
        done.push_back(simplify(t));
        changed |= done.back() != t;
      }
      if (!changed) {
        out = e;
      } else if (n->kind == ExprKind::kAdd) {
        out = Expr(n->value);
        for (Expr t : done) out = out + t;
      } else {
        out = Expr(n->value);
        for (Expr t : done) out = out * t;
      }
      break;
    }
    case ExprKind::kFloorDiv: {
      Expr a = simplify(kids[0]), b = simplify(kids[1]);
      if (auto k = b.constant(); k && *k > 0) {
        detail::Split sp = detail::split_by(a, *k);
        const std::int64_t kr = *k / sp.g;
        Partition p = partition_by(*this, sp.remainder, kr);
        if (auto j = block_of(*this, p.u, kr)) {
          out = sp.quotient + floordiv(p.s, Expr(kr)) + Expr(*j);
          break;
        }
        out = floordiv(a, b);
        break;
      }
      if (!b.is_constant() && provably_nonzero(*this, b)) {
        if (a == b) {
          out = Expr(1);
          break;
        }
        Expr q, r = a;
        if (auto s = split_by_monomial(a, b)) q = s->q, r = s->r;
        if (r == Expr(0) || (proves_nonneg(b - 1, kDepth) && proves_nonneg(r, kDepth) &&
            proves_nonneg(b - r - 1, kDepth))) {
          out = q;  // r == 0, or 0 <= r < b
          break;
        }
        out = q + floordiv(r, b);
        break;
      }
      out = floordiv(a, b);
      break;
    }
    case ExprKind::kMod: {
      Expr a = simplify(kids[0]), b = simplify(kids[1]);
      if (auto k = b.constant(); k && *k > 0) {
        detail::Split sp = detail::split_by(a, *k);
        const std::int64_t kr = *k / sp.g;
        detail::ModSet m = modular(sp.remainder);
        if (m.m % kr == 0) {  // also m == 0: remainder is ≡ m.r (mod kr) exactly
          out = Expr(checked_mul(sp.g, py_mod(m.r, kr)));
          break;
        }
        Partition p = partition_by(*this, sp.remainder, kr);
        if (auto j = block_of(*this, p.u, kr)) {
          out = (p.u - Expr(checked_mul(*j, kr))) * Expr(sp.g);
          break;
        }
        out = mod(a, b);
        break;
      }
      if (!b.is_constant() && provably_nonzero(*this, b)) {
        Expr r = a;
        if (auto s = split_by_monomial(a, b)) r = s->r;
        if (r == Expr(0) || (proves_nonneg(b - 1, kDepth) && proves_nonneg(r, kDepth) &&
            proves_nonneg(b - r - 1, kDepth))) {
          out = r;
          break;
        }
        out = mod(r, b);
        break;
      }
      out = mod(a, b);
      break;
    }
    case ExprKind::kMin:
    case ExprKind::kMax: {
      Expr a = simplify(kids[0]), b = simplify(kids[1]);
      const bool is_min = n->kind == ExprKind::kMin;
      if (proves_nonneg(b - a, kDepth)) {  // a <= b
        out = is_min ? a : b;
      } else if (proves_nonneg(a - b, kDepth)) {
        out = is_min ? b : a;
      } else {
        out = is_min ? min(a, b) : max(a, b);
      }
      break;
    }
    default: out = e;
  }
  simplify_memo.emplace(n, out);
  return out;
}

}  // namespace symtrace::sym
