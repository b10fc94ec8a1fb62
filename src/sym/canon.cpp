// Expr construction and the polynomial part of the canonical form: + - * over sums of
// monomials. Every result is interned, so structurally equal results are one pointer.
#include <algorithm>
#include <array>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/sym_int.hpp>

#include "sym/algebra.hpp"

namespace symtrace::sym {
using detail::Node;
using detail::TermView;

namespace {
constexpr std::int64_t kSmallLo = -128, kSmallHi = 1024;

// Small constants are looked up in a table: constants are the most common Expr made.
const std::array<const Node*, kSmallHi - kSmallLo + 1>& small_constants() {
  static const auto table = [] {
    std::array<const Node*, kSmallHi - kSmallLo + 1> t{};
    for (std::int64_t v = kSmallLo; v <= kSmallHi; ++v)
      t[static_cast<std::size_t>(v - kSmallLo)] = detail::intern(ExprKind::kConstant, v, {});
    return t;
  }();
  return table;
}

const Node* constant_node(std::int64_t v) {
  if (v >= kSmallLo && v <= kSmallHi) return small_constants()[static_cast<std::size_t>(v - kSmallLo)];
  return detail::intern(ExprKind::kConstant, v, {});
}
}  // namespace

Expr::Expr() : node_(constant_node(0)) {}
Expr::Expr(std::int64_t value) : node_(constant_node(value)) {}

Expr Expr::symbol(std::uint32_t id, std::string_view name) {
  if (name.empty()) throw diag::InternalError("a symbol needs a name");
  return Expr(detail::intern(ExprKind::kSymbol, id, {}, name));
}

std::uint32_t Expr::symbol_id() const {
  if (node_->kind != ExprKind::kSymbol) throw diag::InternalError("symbol_id() of a non-symbol");
  return static_cast<std::uint32_t>(node_->value);
}
std::string_view Expr::symbol_name() const {
  if (node_->kind != ExprKind::kSymbol) throw diag::InternalError("symbol_name() of a non-symbol");
  return node_->symbol_name();
}
std::vector<std::uint32_t> Expr::free_symbols() const {
  std::vector<std::uint32_t> out;
  auto walk = [&](auto&& self, Expr e) -> void {
    if (e.is_symbol()) out.push_back(e.symbol_id());
    for (Expr k : e.children()) self(self, k);
  };
  walk(walk, *this);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace detail {

namespace {
int rank(ExprKind k) {
  switch (k) {
    case ExprKind::kConstant: return 0;
    case ExprKind::kSymbol: return 1;
    case ExprKind::kFloorDiv: return 2;
    case ExprKind::kMod: return 3;
    case ExprKind::kMin: return 4;
    case ExprKind::kMax: return 5;
    case ExprKind::kMul: return 6;
    case ExprKind::kAdd: return 7;
  }
  return 8;
}
int cmp_int(std::int64_t a, std::int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

int compare_lex(std::span<const Expr> f, std::span<const Expr> g) {
  const std::size_t n = std::min(f.size(), g.size());
  for (std::size_t i = 0; i < n; ++i)
    if (int c = compare(f[i], g[i])) return c;
  return cmp_int(static_cast<std::int64_t>(f.size()), static_cast<std::int64_t>(g.size()));
}
}  // namespace

int compare(Expr a, Expr b) {
  if (a == b) return 0;
  const Node* x = a.node();
  const Node* y = b.node();
  if (int c = cmp_int(rank(x->kind), rank(y->kind))) return c;
  switch (x->kind) {
    case ExprKind::kConstant: return cmp_int(x->value, y->value);
    case ExprKind::kSymbol:
      if (int c = cmp_int(x->value, y->value)) return c;
      return x->symbol_name().compare(y->symbol_name()) < 0 ? -1 : 1;
    case ExprKind::kMul:
      if (int c = compare_monomials(x->children(), y->children())) return c;
      return cmp_int(x->value, y->value);
    default:
      if (int c = compare_lex(x->children(), y->children())) return c;
      return cmp_int(x->value, y->value);
  }
}

int compare_monomials(std::span<const Expr> f, std::span<const Expr> g) {
  if (f.size() != g.size()) return f.size() > g.size() ? -1 : 1;
  return compare_lex(f, g);
}

Expr make_term(std::int64_t coef, std::span<const Expr> factors, Expr hint) {
  if (coef == 0) return Expr(0);
  if (factors.empty()) return Expr(coef);
  if (coef == 1 && factors.size() == 1) return factors[0];
  if (hint.kind() == ExprKind::kMul && hint.node()->value == coef) return hint;
  return Expr(intern(ExprKind::kMul, coef, factors));
}

Expr make_sum(std::int64_t c0, std::span<const Expr> terms) {
  if (terms.empty()) return Expr(c0);
  if (terms.size() == 1 && c0 == 0) return terms[0];
  return Expr(intern(ExprKind::kAdd, c0, terms));
}

std::int64_t gcd64(std::int64_t a, std::int64_t b) {
  std::uint64_t x = a < 0 ? 0 - static_cast<std::uint64_t>(a) : static_cast<std::uint64_t>(a);
  std::uint64_t y = b < 0 ? 0 - static_cast<std::uint64_t>(b) : static_cast<std::uint64_t>(b);
  while (y) {
    std::uint64_t t = x % y;
    x = y;
    y = t;
  }
  if (x > static_cast<std::uint64_t>(INT64_MAX)) diag::fail("overflow", "gcd of -2^63 overflows int64");
  return static_cast<std::int64_t>(x);
}

Expr add_scaled(Expr a, Expr b, std::int64_t k) {
  if (k == 0 || b == Expr(0)) return a;
  if (a.is_constant() && b.is_constant())
    return Expr(checked_add(*a.constant(), checked_mul(k, *b.constant())));
  TermView va(a), vb(b);
  boost::container::small_vector<Expr, 8> out;
  std::size_t i = 0, j = 0;
  while (i < va.size() || j < vb.size()) {
    int c = i == va.size() ? 1 : j == vb.size() ? -1 : compare_monomials(va.factors(i), vb.factors(j));
    if (c < 0) {
      out.push_back(va.term(i++));
    } else if (c > 0) {
      out.push_back(k == 1 ? vb.term(j) : make_term(checked_mul(k, vb.coef(j)), vb.factors(j)));
      ++j;
    } else {
      std::int64_t coef = checked_add(va.coef(i), checked_mul(k, vb.coef(j)));
      if (coef != 0) out.push_back(make_term(coef, va.factors(i), va.term(i)));
      ++i, ++j;
    }
  }
  return make_sum(checked_add(va.c0(), checked_mul(k, vb.c0())), out);
}

Expr scale(Expr e, std::int64_t k) {
  if (k == 1) return e;
  if (k == 0) return Expr(0);
  TermView v(e);
  boost::container::small_vector<Expr, 8> out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(make_term(checked_mul(k, v.coef(i)), v.factors(i)));
  return make_sum(checked_mul(k, v.c0()), out);
}

namespace {
// A product term under construction: coefficient and sorted factor multiset.
struct RawTerm {
  std::int64_t coef;
  std::vector<Expr> factors;
};

Expr multiply(Expr a, Expr b) {
  TermView va(a), vb(b);
  std::vector<RawTerm> prods;
  prods.reserve((va.size() + 1) * (vb.size() + 1));
  auto add_prod = [&](std::int64_t ca, std::span<const Expr> fa, std::int64_t cb,
                      std::span<const Expr> fb) {
    std::int64_t c = checked_mul(ca, cb);
    if (c == 0) return;
    RawTerm t{c, {}};
    t.factors.resize(fa.size() + fb.size());
    std::merge(fa.begin(), fa.end(), fb.begin(), fb.end(), t.factors.begin(),
               [](Expr x, Expr y) { return compare(x, y) < 0; });
    prods.push_back(std::move(t));
  };
  const std::int64_t ca0 = va.c0(), cb0 = vb.c0();
  for (std::size_t i = 0; i < va.size(); ++i) {
    for (std::size_t j = 0; j < vb.size(); ++j)
      add_prod(va.coef(i), va.factors(i), vb.coef(j), vb.factors(j));
    add_prod(va.coef(i), va.factors(i), cb0, {});
  }
  for (std::size_t j = 0; j < vb.size(); ++j) add_prod(ca0, {}, vb.coef(j), vb.factors(j));
  std::int64_t c0 = checked_mul(ca0, cb0);
  std::sort(prods.begin(), prods.end(), [](const RawTerm& x, const RawTerm& y) {
    return compare_monomials(x.factors, y.factors) < 0;
  });
  boost::container::small_vector<Expr, 8> out;
  for (std::size_t i = 0; i < prods.size();) {
    std::int64_t coef = 0;
    std::size_t j = i;
    for (; j < prods.size() && compare_monomials(prods[i].factors, prods[j].factors) == 0; ++j)
      coef = checked_add(coef, prods[j].coef);
    if (coef != 0) out.push_back(make_term(coef, prods[i].factors));
    i = j;
  }
  return make_sum(c0, out);
}
}  // namespace

}  // namespace detail

Expr operator+(Expr a, Expr b) { return detail::add_scaled(a, b, 1); }
Expr operator-(Expr a, Expr b) { return detail::add_scaled(a, b, -1); }
Expr operator-(Expr a) { return detail::scale(a, -1); }
Expr operator*(Expr a, Expr b) {
  if (a.is_constant()) return detail::scale(b, *a.constant());
  if (b.is_constant()) return detail::scale(a, *b.constant());
  return detail::multiply(a, b);
}

}  // namespace symtrace::sym
