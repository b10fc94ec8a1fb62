// SymInt arithmetic (int fast path, Expr otherwise) and checked int64 helpers.
#include <symtrace/sym/sym_int.hpp>

#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::sym {

std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) diag::fail("overflow", fmt::format("{} + {} overflows int64", a, b));
  return r;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) diag::fail("overflow", fmt::format("{} * {} overflows int64", a, b));
  return r;
}

std::int64_t py_floordiv(std::int64_t a, std::int64_t b) {
  if (b == 0) diag::fail("division-by-zero", fmt::format("floordiv({}, 0): division by zero", a));
  if (b == -1) return checked_mul(a, -1);  // INT64_MIN // -1 leaves int64
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t py_mod(std::int64_t a, std::int64_t b) {
  if (b == 0) diag::fail("division-by-zero", fmt::format("mod({}, 0): division by zero", a));
  if (b == -1) return 0;
  std::int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

SymInt::SymInt(Expr e) {
  if (auto c = e.constant()) {
    value_ = *c;
  } else {
    expr_ = e.node();
  }
}

std::int64_t SymInt::value() const {
  if (expr_) throw diag::InternalError("SymInt::value() of symbolic " + str());
  return value_;
}
std::optional<std::int64_t> SymInt::maybe_value() const noexcept {
  if (expr_) return std::nullopt;
  return value_;
}
Expr SymInt::expr() const { return expr_ ? Expr(expr_) : Expr(value_); }
std::string SymInt::str() const { return expr_ ? Expr(expr_).str() : std::to_string(value_); }

SymInt operator+(const SymInt& a, const SymInt& b) {
  if (!a.expr_ && !b.expr_) return checked_add(a.value_, b.value_);
  return SymInt(a.expr() + b.expr());
}
SymInt operator-(const SymInt& a, const SymInt& b) {
  if (!a.expr_ && !b.expr_) {
    std::int64_t r;
    if (__builtin_sub_overflow(a.value_, b.value_, &r))
      diag::fail("overflow", fmt::format("{} - {} overflows int64", a.value_, b.value_));
    return r;
  }
  return SymInt(a.expr() - b.expr());
}
SymInt operator*(const SymInt& a, const SymInt& b) {
  if (!a.expr_ && !b.expr_) return checked_mul(a.value_, b.value_);
  return SymInt(a.expr() * b.expr());
}
SymInt operator-(const SymInt& a) {
  if (!a.expr_) return checked_mul(a.value_, -1);
  return SymInt(-a.expr());
}

SymInt floordiv(const SymInt& a, const SymInt& b) {
  if (a.is_concrete() && b.is_concrete()) return py_floordiv(a.value(), b.value());
  return SymInt(floordiv(a.expr(), b.expr()));
}
SymInt mod(const SymInt& a, const SymInt& b) {
  if (a.is_concrete() && b.is_concrete()) return py_mod(a.value(), b.value());
  return SymInt(mod(a.expr(), b.expr()));
}
SymInt ceildiv(const SymInt& a, const SymInt& b) {
  if (a.is_concrete() && b.is_concrete()) return -SymInt(py_floordiv(checked_mul(a.value(), -1), b.value()));
  return SymInt(ceildiv(a.expr(), b.expr()));
}
SymInt min(const SymInt& a, const SymInt& b) {
  if (a.is_concrete() && b.is_concrete()) return std::min(a.value(), b.value());
  return SymInt(min(a.expr(), b.expr()));
}
SymInt max(const SymInt& a, const SymInt& b) {
  if (a.is_concrete() && b.is_concrete()) return std::max(a.value(), b.value());
  return SymInt(max(a.expr(), b.expr()));
}

}  // namespace symtrace::sym
