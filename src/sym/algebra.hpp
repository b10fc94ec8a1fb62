// Private helpers shared by the canonicalising constructors (canon.cpp, division.cpp),
// the printer and the analyzers: the structural order and an allocation-free view of an
// expression as  c0 + sum_i coef_i * prod(factors_i).
#pragma once

#include <cstdint>
#include <span>

#include <symtrace/sym/expr.hpp>

#include "sym/node.hpp"

namespace symtrace::sym::detail {

// A total, deterministic order on canonical expressions (no pointer comparisons, so the
// printed order of terms is the same in every run). Symbols order by id, then name.
int compare(Expr a, Expr b);

// Monomial order for the terms of a sum: higher degree first, then lexicographic.
int compare_monomials(std::span<const Expr> f, std::span<const Expr> g);

inline bool is_atom(ExprKind k) {
  return k != ExprKind::kConstant && k != ExprKind::kAdd && k != ExprKind::kMul;
}

// c0 + sum coef(i) * prod factors(i), without allocating. Not copyable: a lone atom's
// factor list points into the view itself.
class TermView {
 public:
  explicit TermView(Expr e) : self_(e) {
    const Node* n = e.node();
    if (n->kind == ExprKind::kConstant) {
      c0_ = n->value;
    } else if (n->kind == ExprKind::kAdd) {
      c0_ = n->value;
      terms_ = n->kids;
      count_ = n->n;
    } else {
      terms_ = &self_;
      count_ = 1;
    }
  }
  TermView(const TermView&) = delete;
  TermView& operator=(const TermView&) = delete;

  std::int64_t c0() const { return c0_; }
  std::size_t size() const { return count_; }
  Expr term(std::size_t i) const { return terms_[i]; }
  std::int64_t coef(std::size_t i) const {
    const Node* n = terms_[i].node();
    return n->kind == ExprKind::kMul ? n->value : 1;
  }
  std::span<const Expr> factors(std::size_t i) const {
    const Node* n = terms_[i].node();
    return n->kind == ExprKind::kMul ? n->children() : std::span<const Expr>(&terms_[i], 1);
  }

 private:
  Expr self_;
  std::int64_t c0_ = 0;
  const Expr* terms_ = nullptr;
  std::size_t count_ = 0;
};

// coef * prod(factors) as a canonical term; `hint` is reused when it already is that term.
Expr make_term(std::int64_t coef, std::span<const Expr> factors, Expr hint = Expr());
// c0 + sum(terms), the terms already canonical and in monomial order with distinct factors.
Expr make_sum(std::int64_t c0, std::span<const Expr> terms);

// a + k*b, the workhorse of + and -.
Expr add_scaled(Expr a, Expr b, std::int64_t k);
Expr scale(Expr e, std::int64_t k);

// a == k*q + g*r where r's coefficients and constant are smaller than k/g in magnitude
// (truncated), so floordiv(a, k) == q + floordiv(r, k/g) and mod(a, k) == g*mod(r, k/g).
// k > 0.
struct Split {
  Expr quotient;
  Expr remainder;
  std::int64_t g;
};
Split split_by(Expr a, std::int64_t k);

std::int64_t gcd64(std::int64_t a, std::int64_t b);  // of absolute values; gcd(0, 0) == 0

}  // namespace symtrace::sym::detail
