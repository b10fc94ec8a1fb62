// sym::Cond — a boolean fact over symbolic integers, and Truth, the three-valued answer.
//
//   Cond c = eq(mod(n, 64), 0) && le(k, 8192);
//   switch (env.decide(c)) { case Truth::kTrue: ...; case Truth::kUnknown: ...; }
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <symtrace/sym/sym_int.hpp>

namespace symtrace::sym {

// kTrue: holds for every binding satisfying the facts; kFalse: for none; else kUnknown.
enum class Truth : std::uint8_t { kFalse, kTrue, kUnknown };
std::string_view truth_name(Truth t);  // "false" / "true" / "unknown"
Truth truth_not(Truth t);
Truth truth_and(Truth a, Truth b);
Truth truth_or(Truth a, Truth b);

enum class CondOp : std::uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kNot, kTrue, kFalse };

class Cond {
 public:
  // Comparison lhs OP rhs.
  Cond(CondOp op, Expr lhs, Expr rhs);
  static Cond constant(bool b);

  CondOp op() const { return op_; }
  bool is_comparison() const { return op_ <= CondOp::kGe; }
  Expr lhs() const { return lhs_; }
  Expr rhs() const { return rhs_; }
  const std::vector<Cond>& operands() const { return operands_; }  // for and/or/not

  friend Cond operator&&(Cond a, Cond b);
  friend Cond operator||(Cond a, Cond b);
  friend Cond operator!(Cond a);

  std::string str() const;  // "mod(N, 64) == 0"

 private:
  Cond() = default;
  CondOp op_ = CondOp::kTrue;
  Expr lhs_, rhs_;
  std::vector<Cond> operands_;
};

Cond eq(const SymInt& a, const SymInt& b);
Cond ne(const SymInt& a, const SymInt& b);
Cond lt(const SymInt& a, const SymInt& b);
Cond le(const SymInt& a, const SymInt& b);
Cond gt(const SymInt& a, const SymInt& b);
Cond ge(const SymInt& a, const SymInt& b);
// a % m == 0 (m > 0 constant), the common alignment rule.
Cond divisible(const SymInt& a, std::int64_t m);

}  // namespace symtrace::sym
