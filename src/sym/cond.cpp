// Cond construction, printing and the three-valued connectives.
#include <symtrace/sym/cond.hpp>

#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::sym {

std::string_view truth_name(Truth t) {
  switch (t) {
    case Truth::kFalse: return "false";
    case Truth::kTrue: return "true";
    case Truth::kUnknown: return "unknown";
  }
  return "unknown";
}

Truth truth_not(Truth t) {
  if (t == Truth::kTrue) return Truth::kFalse;
  if (t == Truth::kFalse) return Truth::kTrue;
  return Truth::kUnknown;
}
Truth truth_and(Truth a, Truth b) {
  if (a == Truth::kFalse || b == Truth::kFalse) return Truth::kFalse;
  if (a == Truth::kTrue && b == Truth::kTrue) return Truth::kTrue;
  return Truth::kUnknown;
}
Truth truth_or(Truth a, Truth b) { return truth_not(truth_and(truth_not(a), truth_not(b))); }

Cond::Cond(CondOp op, Expr lhs, Expr rhs) : op_(op), lhs_(lhs), rhs_(rhs) {
  if (op > CondOp::kGe) throw diag::InternalError("Cond(op, lhs, rhs) needs a comparison");
}

Cond Cond::constant(bool b) {
  Cond c;
  c.op_ = b ? CondOp::kTrue : CondOp::kFalse;
  return c;
}

Cond operator&&(Cond a, Cond b) {
  if (a.op_ == CondOp::kTrue || b.op_ == CondOp::kFalse) return b;
  if (b.op_ == CondOp::kTrue || a.op_ == CondOp::kFalse) return a;
  Cond c;
  c.op_ = CondOp::kAnd;
  c.operands_ = {std::move(a), std::move(b)};
  return c;
}
Cond operator||(Cond a, Cond b) {
  if (a.op_ == CondOp::kFalse || b.op_ == CondOp::kTrue) return b;
  if (b.op_ == CondOp::kFalse || a.op_ == CondOp::kTrue) return a;
  Cond c;
  c.op_ = CondOp::kOr;
  c.operands_ = {std::move(a), std::move(b)};
  return c;
}
Cond operator!(Cond a) {
  if (a.op_ == CondOp::kTrue || a.op_ == CondOp::kFalse) return Cond::constant(a.op_ == CondOp::kFalse);
  Cond c;
  c.op_ = CondOp::kNot;
  c.operands_ = {std::move(a)};
  return c;
}

namespace {
std::string_view op_text(CondOp op) {
  switch (op) {
    case CondOp::kEq: return "==";
    case CondOp::kNe: return "!=";
    case CondOp::kLt: return "<";
    case CondOp::kLe: return "<=";
    case CondOp::kGt: return ">";
    case CondOp::kGe: return ">=";
    default: return "?";
  }
}
}  // namespace

std::string Cond::str() const {
  switch (op_) {
    case CondOp::kTrue: return "true";
    case CondOp::kFalse: return "false";
    case CondOp::kNot: return fmt::format("not ({})", operands_[0].str());
    case CondOp::kAnd:
    case CondOp::kOr: {
      auto part = [](const Cond& c) {
        return c.is_comparison() || c.op_ == CondOp::kNot ? c.str() : fmt::format("({})", c.str());
      };
      return fmt::format("{} {} {}", part(operands_[0]), op_ == CondOp::kAnd ? "and" : "or",
                         part(operands_[1]));
    }
    default: return fmt::format("{} {} {}", lhs_.str(), op_text(op_), rhs_.str());
  }
}

Cond eq(const SymInt& a, const SymInt& b) { return Cond(CondOp::kEq, a.expr(), b.expr()); }
Cond ne(const SymInt& a, const SymInt& b) { return Cond(CondOp::kNe, a.expr(), b.expr()); }
Cond lt(const SymInt& a, const SymInt& b) { return Cond(CondOp::kLt, a.expr(), b.expr()); }
Cond le(const SymInt& a, const SymInt& b) { return Cond(CondOp::kLe, a.expr(), b.expr()); }
Cond gt(const SymInt& a, const SymInt& b) { return Cond(CondOp::kGt, a.expr(), b.expr()); }
Cond ge(const SymInt& a, const SymInt& b) { return Cond(CondOp::kGe, a.expr(), b.expr()); }
Cond divisible(const SymInt& a, std::int64_t m) {
  if (m <= 0) throw diag::InternalError("divisible(a, m) needs m > 0");
  return Cond(CondOp::kEq, mod(a.expr(), Expr(m)), Expr(0));
}

}  // namespace symtrace::sym
