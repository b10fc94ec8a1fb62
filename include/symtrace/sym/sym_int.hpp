// sym::SymInt — a size that is either a plain int64 or a symbolic Expr.
//
// Most dims of a real model are constants, so the int path stays a plain integer and
// allocates nothing; arithmetic promotes to Expr only when a symbolic operand appears,
// and an Expr that folds to a constant demotes back. Comparisons are *not* bool-valued
// operators: build a Cond (sym::eq(a, b)) and ask a ShapeEnv to decide it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <symtrace/sym/expr.hpp>

namespace symtrace::sym {

class SymInt {
 public:
  constexpr SymInt() = default;  // 0
  constexpr SymInt(std::int64_t v) : value_(v) {}  // NOLINT(google-explicit-constructor)
  constexpr SymInt(int v) : value_(v) {}           // NOLINT(google-explicit-constructor)
  SymInt(Expr e);                                   // NOLINT(google-explicit-constructor)

  bool is_concrete() const noexcept { return expr_ == nullptr; }
  bool is_symbolic() const noexcept { return expr_ != nullptr; }
  // The int value; throws diag::InternalError when symbolic. Use maybe_value() to ask.
  std::int64_t value() const;
  std::optional<std::int64_t> maybe_value() const noexcept;
  Expr expr() const;  // an Expr for both cases (constants are interned too)

  // Structural identity: same int, or same interned Expr. Not a decision.
  bool identical(const SymInt& o) const noexcept {
    return expr_ == o.expr_ && (expr_ != nullptr || value_ == o.value_);
  }

  friend SymInt operator+(const SymInt& a, const SymInt& b);
  friend SymInt operator-(const SymInt& a, const SymInt& b);
  friend SymInt operator*(const SymInt& a, const SymInt& b);
  friend SymInt operator-(const SymInt& a);
  SymInt& operator+=(const SymInt& b) { return *this = *this + b; }
  SymInt& operator-=(const SymInt& b) { return *this = *this - b; }
  SymInt& operator*=(const SymInt& b) { return *this = *this * b; }

  std::string str() const;

 private:
  std::int64_t value_ = 0;
  const detail::Node* expr_ = nullptr;  // null: concrete
};

SymInt floordiv(const SymInt& a, const SymInt& b);
SymInt mod(const SymInt& a, const SymInt& b);
SymInt ceildiv(const SymInt& a, const SymInt& b);
SymInt min(const SymInt& a, const SymInt& b);
SymInt max(const SymInt& a, const SymInt& b);

// Checked int64 arithmetic (throws diag::Error code "overflow").
std::int64_t checked_add(std::int64_t a, std::int64_t b);
std::int64_t checked_mul(std::int64_t a, std::int64_t b);
std::int64_t py_floordiv(std::int64_t a, std::int64_t b);  // throws on b == 0
std::int64_t py_mod(std::int64_t a, std::int64_t b);

}  // namespace symtrace::sym
