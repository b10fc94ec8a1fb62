// Modular analysis (as TVM's ModularSet): for every expression a pair (m, r) with
// e ≡ r (mod m) for all bindings satisfying the facts. Sums and products combine as
//   (m1,r1) + (m2,r2) = (gcd(m1,m2), r1+r2)
//   (m1,r1) * (m2,r2) = (gcd(m1*m2, m1*r2, m2*r1), r1*r2)
// and arithmetic that would leave int64 falls back to (1, 0), which claims nothing.
#include "sym/env_impl.hpp"

namespace symtrace::sym::detail {
namespace {

using i128 = __int128;
constexpr i128 kLimit = static_cast<i128>(1) << 62;  // moduli stay far from overflow

i128 gcd128(i128 a, i128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  // 64-bit steps while both fit: 128-bit division is a library call (measured ~3% of a
  // batch run before this fast path).
  if ((a >> 63) == 0 && (b >> 63) == 0) {
    std::uint64_t x = static_cast<std::uint64_t>(a), y = static_cast<std::uint64_t>(b);
    while (y) {
      const std::uint64_t t = x % y;
      x = y;
      y = t;
    }
    return x;
  }
  while (b) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

ModSet make(i128 m, i128 r) {
  if (m < 0) m = -m;
  if (m == 0) {
    if (r > INT64_MAX || r < INT64_MIN) return {};
    return ModSet::exactly(static_cast<std::int64_t>(r));
  }
  if (m >= kLimit) return {};
  const auto m64 = static_cast<std::int64_t>(m);
  std::int64_t r64;
  if (r >= INT64_MIN && r <= INT64_MAX) {
    r64 = static_cast<std::int64_t>(r) % m64;
  } else {
    r64 = static_cast<std::int64_t>(r % m);
  }
  if (r64 < 0) r64 += m64;
  return {m64, r64};
}

ModSet mod_add(ModSet a, ModSet b) { return make(gcd128(a.m, b.m), static_cast<i128>(a.r) + b.r); }
ModSet mod_mul(ModSet a, ModSet b) {
  const i128 m = gcd128(gcd128(static_cast<i128>(a.m) * b.m, static_cast<i128>(a.m) * b.r),
                        static_cast<i128>(b.m) * a.r);
  return make(m, static_cast<i128>(a.r) * b.r);
}
// The set of either operand (min/max pick one of them).
ModSet mod_either(ModSet a, ModSet b) {
  return make(gcd128(gcd128(a.m, b.m), static_cast<i128>(a.r) - b.r), a.r);
}

}  // namespace

ModSet normalize(std::int64_t m, std::int64_t r) { return make(m, r); }

std::optional<ModSet> intersect(ModSet a, ModSet b) {
  if (a.m == 0 || b.m == 0) {
    if (a.m == 0 && b.m == 0) return a.r == b.r ? std::optional(a) : std::nullopt;
    ModSet exact = a.m == 0 ? a : b, set = a.m == 0 ? b : a;
    if (((static_cast<i128>(exact.r) - set.r) % set.m) != 0) return std::nullopt;
    return exact;
  }
  // x = a.r + a.m*t ≡ b.r (mod b.m)  =>  a.m*t ≡ b.r - a.r (mod b.m)
  const i128 g = gcd128(a.m, b.m);
  const i128 diff = static_cast<i128>(b.r) - a.r;
  if (diff % g != 0) return std::nullopt;
  const i128 lcm = static_cast<i128>(a.m) / g * b.m;
  if (lcm >= kLimit) return a.m >= b.m ? a : b;  // keep the stronger fact alone: still sound
  // inverse of (a.m/g) modulo (b.m/g) by extended Euclid
  i128 m1 = a.m / g, m2 = b.m / g, x0 = 1, x1 = 0, p = m1, q = m2;
  while (q) {
    i128 k = p / q, t = p - k * q;
    p = q, q = t;
    t = x0 - k * x1;
    x0 = x1, x1 = t;
  }
  i128 t = (diff / g) % m2 * (x0 % m2) % m2;
  return make(lcm, a.r + a.m * t);
}

}  // namespace symtrace::sym::detail

namespace symtrace::sym {
using detail::ModSet;

ModSet detail::EnvCore::modular(Expr e) const {
  const detail::Node* n = e.node();
  ModSet out;
  switch (n->kind) {
    case ExprKind::kConstant: return ModSet::exactly(n->value);
    case ExprKind::kSymbol: {
      if (!owns(n)) return {};
      return facts.symbols[static_cast<std::size_t>(n->value)].mod;
    }
    case ExprKind::kAdd:
      out = ModSet::exactly(n->value);
      for (Expr t : e.children()) out = detail::mod_add(out, modular(t));
      break;
    case ExprKind::kMul:
      out = ModSet::exactly(n->value);
      for (Expr f : e.children()) out = detail::mod_mul(out, modular(f));
      break;
    case ExprKind::kFloorDiv: {
      auto k = e.children()[1].constant();
      ModSet a = modular(e.children()[0]);
      // a = m*t + r with k | m: a // k == (m/k)*t + r // k
      if (k && *k > 0 && a.m % *k == 0 && a.m != 0) out = detail::make(a.m / *k, a.r / *k);
      else if (k && *k > 0 && a.m == 0) out = ModSet::exactly(py_floordiv(a.r, *k));
      break;
    }
    case ExprKind::kMod: {
      ModSet a = modular(e.children()[0]), b = modular(e.children()[1]);
      // a % b == a - b*q: ≡ a modulo anything dividing both a's and b's modulus and b's residue.
      if (b.m == 0 && b.r > 0 && a.m % b.r == 0)
        out = ModSet::exactly(a.m == 0 ? py_mod(a.r, b.r) : a.r % b.r);  // k | m: exactly r mod k
      else
        out = detail::make(detail::gcd128(detail::gcd128(a.m, b.m), b.r), a.r);
      break;
    }
    case ExprKind::kMin:
    case ExprKind::kMax: out = detail::mod_either(modular(e.children()[0]), modular(e.children()[1])); break;
  }
  for (const auto& f : facts.divs) {
    if (f.e != e) continue;
    if (auto both = detail::intersect(out, f.set)) out = *both;
  }
  return out;
}

}  // namespace symtrace::sym
