// Context-free rules for the atoms floordiv, mod, min and max. Each rule holds for every
// binding where the original is defined; rules that need facts live in simplify.cpp.
// Divisors are only rewritten when constant, so a division by a symbolic zero survives.
#include <algorithm>
#include <array>
#include <string>

#include <boost/container/small_vector.hpp>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/sym_int.hpp>

#include "sym/algebra.hpp"

namespace symtrace::sym {
using detail::make_sum;
using detail::make_term;
using detail::TermView;

namespace {

[[noreturn]] void division_by_zero(std::string_view op, Expr a) {
  diag::fail("division-by-zero", std::string(op) + "(" + a.str() + ", 0): division by zero");
}

bool positive_constant(Expr e) { return e.is_constant() && *e.constant() > 0; }

}  // namespace

namespace detail {
Split split_by(Expr a, std::int64_t k) {
  TermView v(a);
  boost::container::small_vector<Expr, 8> q, r;
  std::int64_t g = k;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::int64_t c = v.coef(i);
    if (c / k != 0) q.push_back(make_term(c / k, v.factors(i)));
    if (c % k != 0) g = detail::gcd64(g, c % k);
  }
  g = detail::gcd64(g, v.c0() % k);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::int64_t c = v.coef(i) % k;
    if (c != 0) r.push_back(make_term(c / g, v.factors(i), v.term(i)));
  }
  return {make_sum(v.c0() / k, q), make_sum(v.c0() % k / g, r), g};
}
}  // namespace detail

Expr floordiv(Expr a, Expr b) {
  if (!b.is_constant()) return Expr(detail::intern(ExprKind::kFloorDiv, 0, std::array{a, b}));
  const std::int64_t k = *b.constant();
  if (k == 0) division_by_zero("floordiv", a);
  if (a.is_constant()) return Expr(py_floordiv(*a.constant(), k));
  if (k == 1) return a;
  if (k < 0) return floordiv(-a, Expr(checked_mul(k, -1)));  // a // k == (-a) // (-k)
  if (a.kind() == ExprKind::kFloorDiv && positive_constant(a.children()[1])) {
    // (x // k1) // k == x // (k1*k) for positive k1, k; skipped if k1*k leaves int64.
    std::int64_t k1 = *a.children()[1].constant();
    if (k1 <= INT64_MAX / k) return floordiv(a.children()[0], Expr(k1 * k));
  }
  if (a.kind() == ExprKind::kMod && positive_constant(a.children()[1]) &&
      *a.children()[1].constant() <= k)
    return Expr(0);  // 0 <= x % k1 < k1 <= k
  detail::Split s = detail::split_by(a, k);
  const std::int64_t kr = k / s.g;
  if (s.remainder.is_constant()) return s.quotient + Expr(py_floordiv(*s.remainder.constant(), kr));
  return s.quotient + Expr(detail::intern(ExprKind::kFloorDiv, 0, std::array{s.remainder, Expr(kr)}));
}

Expr mod(Expr a, Expr b) {
  if (!b.is_constant()) {
    if (a == b) return Expr(0);  // b % b == 0 wherever defined
    return Expr(detail::intern(ExprKind::kMod, 0, std::array{a, b}));
  }
  const std::int64_t k = *b.constant();
  if (k == 0) division_by_zero("mod", a);
  if (a.is_constant()) return Expr(py_mod(*a.constant(), k));
  if (k == 1 || k == -1) return Expr(0);
  if (k < 0) return -mod(-a, Expr(checked_mul(k, -1)));  // a % k == -((-a) % -k)
  if (a.kind() == ExprKind::kMod && positive_constant(a.children()[1])) {
    std::int64_t k1 = *a.children()[1].constant();
    if (k1 % k == 0) return mod(a.children()[0], b);  // (x % (m*k)) % k == x % k
    if (k1 <= k) return a;                            // 0 <= x % k1 < k1 <= k
  }
  detail::Split s = detail::split_by(a, k);
  const std::int64_t kr = k / s.g;
  if (s.remainder.is_constant()) return Expr(checked_mul(s.g, py_mod(*s.remainder.constant(), kr)));
  // mod(g*r, g*kr) == g * mod(r, kr) for g > 0
  return detail::scale(Expr(detail::intern(ExprKind::kMod, 0, std::array{s.remainder, Expr(kr)})),
                       s.g);
}

Expr ceildiv(Expr a, Expr b) { return -floordiv(-a, b); }

namespace {
Expr min_max(ExprKind kind, Expr a, Expr b) {
  const bool is_min = kind == ExprKind::kMin;
  if (a == b) return a;
  if (a.is_constant() && b.is_constant())
    return is_min ? std::min(a, b, [](Expr x, Expr y) { return *x.constant() < *y.constant(); })
                  : std::max(a, b, [](Expr x, Expr y) { return *x.constant() < *y.constant(); });
  {
    TermView va(a), vb(b);
    bool same_terms = va.size() == vb.size();
    for (std::size_t i = 0; same_terms && i < va.size(); ++i) same_terms = va.term(i) == vb.term(i);
    if (same_terms) return (va.c0() < vb.c0()) == is_min ? a : b;  // differ by a constant
    // min(x + c1, y + c2) == min(x + c1 - c, y + c2 - c) + c with c = min(c1, c2): the
    // canonical form keeps the smaller constant offset at 0.
    const std::int64_t c = std::min(va.c0(), vb.c0());
    if (c != 0) return min_max(kind, a - Expr(c), b - Expr(c)) + Expr(c);
  }
  // Operands in structural order, except that a constant goes last: min(a, 10).
  if (a.is_constant() || (!b.is_constant() && detail::compare(a, b) > 0)) std::swap(a, b);
  return Expr(detail::intern(kind, 0, std::array{a, b}));
}
}  // namespace

Expr min(Expr a, Expr b) { return min_max(ExprKind::kMin, a, b); }
Expr max(Expr a, Expr b) { return min_max(ExprKind::kMax, a, b); }

}  // namespace symtrace::sym
