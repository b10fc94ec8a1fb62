// Interval analysis: a sound range for every expression under the facts. Sums and
// products use interval arithmetic (monotone over each operand); floordiv is monotone in
// the dividend and, for a divisor of fixed sign, extreme at the corners of the box.
#include <algorithm>

#include "sym/env_impl.hpp"

namespace symtrace::sym::detail {
namespace {

using i128 = __int128;
constexpr i128 kInf = static_cast<i128>(1) << 100;

i128 ext_lo(std::int64_t v) { return v == Interval::kNegInf ? -kInf : v; }
i128 ext_hi(std::int64_t v) { return v == Interval::kPosInf ? kInf : v; }
bool infinite(i128 x) { return x >= kInf / 2 || x <= -kInf / 2; }
// Rounding outward: a lower end only moves down, an upper end only up.
std::int64_t round_lo(i128 x) {
  if (x <= Interval::kNegInf) return Interval::kNegInf;
  return x > Interval::kPosInf ? Interval::kPosInf : static_cast<std::int64_t>(x);
}
std::int64_t round_hi(i128 x) {
  if (x >= Interval::kPosInf) return Interval::kPosInf;
  return x < Interval::kNegInf ? Interval::kNegInf : static_cast<std::int64_t>(x);
}
i128 ext_mul(i128 a, i128 b) {
  if (a == 0 || b == 0) return 0;
  if (infinite(a) || infinite(b)) return ((a < 0) != (b < 0)) ? -kInf : kInf;
  return a * b;  // |a|, |b| <= 2^63: fits in 127 bits
}
i128 floor_div(i128 a, i128 b) {  // b != 0, both finite
  i128 q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}
// floor(x / y) at a corner of the box, y > 0; an infinite x dominates (outward).
i128 corner_floordiv(i128 x, i128 y) {
  if (infinite(x)) return x < 0 ? -kInf : kInf;
  if (infinite(y)) return x < 0 ? -1 : 0;
  return floor_div(x, y);
}
Interval negate(Interval a) {
  return {round_lo(-ext_hi(a.hi)), round_hi(-ext_lo(a.lo))};
}
i128 max_abs(Interval a) { return std::max(-ext_lo(a.lo), ext_hi(a.hi)); }

}  // namespace

Interval add(Interval a, Interval b) {
  return {round_lo(ext_lo(a.lo) + ext_lo(b.lo)), round_hi(ext_hi(a.hi) + ext_hi(b.hi))};
}

Interval mul(Interval a, Interval b) {
  const i128 c[4] = {ext_mul(ext_lo(a.lo), ext_lo(b.lo)), ext_mul(ext_lo(a.lo), ext_hi(b.hi)),
                     ext_mul(ext_hi(a.hi), ext_lo(b.lo)), ext_mul(ext_hi(a.hi), ext_hi(b.hi))};
  return {round_lo(*std::min_element(c, c + 4)), round_hi(*std::max_element(c, c + 4))};
}

Interval scale(Interval a, std::int64_t k) { return mul(a, Interval::point(k)); }

Interval floordiv(Interval a, Interval b) {
  if (a.empty() || b.empty()) return {1, 0};  // no value at all (an impossible case)
  if (b.hi < 0) return floordiv(negate(a), negate(b));  // a // b == (-a) // (-b)
  if (b.lo <= 0) {  // a divisor of either sign: |a // b| <= |a| for |b| >= 1
    const i128 m = max_abs(a);
    return {round_lo(-m), round_hi(m)};
  }
  const i128 c[4] = {corner_floordiv(ext_lo(a.lo), ext_lo(b.lo)), corner_floordiv(ext_lo(a.lo), ext_hi(b.hi)),
                     corner_floordiv(ext_hi(a.hi), ext_lo(b.lo)), corner_floordiv(ext_hi(a.hi), ext_hi(b.hi))};
  return {round_lo(*std::min_element(c, c + 4)), round_hi(*std::max_element(c, c + 4))};
}

Interval mod(Interval a, Interval b) {
  if (a.empty() || b.empty()) return {1, 0};
  if (b.lo > 0) {  // 0 <= a % b < b
    if (b.lo == b.hi && !infinite(ext_lo(a.lo)) && !infinite(ext_hi(a.hi)) &&
        floor_div(a.lo, b.lo) == floor_div(a.hi, b.lo)) {
      const i128 base = floor_div(a.lo, b.lo) * b.lo;  // a stays in one block: a % b == a - base
      return {round_lo(a.lo - base), round_hi(a.hi - base)};
    }
    i128 hi = ext_hi(b.hi) - 1;
    if (a.lo >= 0) hi = std::min(hi, ext_hi(a.hi));  // 0 <= a % b <= a
    return {0, round_hi(hi)};
  }
  if (b.hi < 0) return negate(mod(negate(a), negate(b)));  // a % b == -((-a) % (-b))
  const i128 m = max_abs(b) - 1;
  return {round_lo(-m), round_hi(m)};
}

Interval tighten(Interval b, ModSet s) {
  if (s.m == 0) return b.meet(Interval::point(s.r));
  if (s.m == 1) return b;
  const i128 m = s.m, r = s.r;
  if (b.lo != Interval::kNegInf) {
    i128 lo = b.lo + ((r - b.lo) % m + m) % m;  // smallest value >= lo that is ≡ r
    b.lo = round_lo(lo);
  }
  if (b.hi != Interval::kPosInf) {
    i128 hi = b.hi - ((b.hi - r) % m + m) % m;  // largest value <= hi that is ≡ r
    b.hi = round_hi(hi);
  }
  return b;
}

}  // namespace symtrace::sym::detail

namespace symtrace::sym {
using detail::Interval;

Interval detail::EnvCore::bounds(Expr e) const {
  const detail::Node* n = e.node();
  Interval out;
  switch (n->kind) {
    case ExprKind::kConstant: return Interval::point(n->value);
    case ExprKind::kSymbol: {
      if (!owns(n)) return {};
      const auto& f = facts.symbols[static_cast<std::size_t>(n->value)];
      return detail::tighten(f.range, f.mod);
    }
    case ExprKind::kAdd: {
      out = Interval::point(n->value);
      for (Expr t : e.children()) out = detail::add(out, bounds(t));
      return out;
    }
    case ExprKind::kMul: {
      out = Interval::point(n->value);
      auto f = e.children();
      for (std::size_t i = 0; i < f.size(); ++i) {
        Interval b = bounds(f[i]);
        if (i + 1 < f.size() && f[i + 1] == f[i]) {  // x*x >= 0: square, not a product
          Interval sq = detail::mul(b, b);
          if (b.lo >= 0 || b.hi <= 0) {
            b = sq;
          } else {
            b = {0, sq.hi};
          }
          ++i;
        }
        out = detail::mul(out, b);
      }
      if (!facts.term_bounds.empty()) {
        Expr mono = detail::make_term(1, f);
        if (auto it = facts.term_bounds.find(mono.node()); it != facts.term_bounds.end())
          out = out.meet(detail::scale(it->second, n->value));
      }
      return out;
    }
    case ExprKind::kFloorDiv: out = detail::floordiv(bounds(e.children()[0]), bounds(e.children()[1])); break;
    case ExprKind::kMod: out = detail::mod(bounds(e.children()[0]), bounds(e.children()[1])); break;
    case ExprKind::kMin: {
      Interval a = bounds(e.children()[0]), b = bounds(e.children()[1]);
      out = {std::min(a.lo, b.lo), std::min(a.hi, b.hi)};
      break;
    }
    case ExprKind::kMax: {
      Interval a = bounds(e.children()[0]), b = bounds(e.children()[1]);
      out = {std::max(a.lo, b.lo), std::max(a.hi, b.hi)};
      break;
    }
  }
  if (!facts.term_bounds.empty()) {
    if (auto it = facts.term_bounds.find(n); it != facts.term_bounds.end()) out = out.meet(it->second);
  }
  return out;
}

}  // namespace symtrace::sym
