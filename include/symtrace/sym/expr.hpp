// sym::Expr — an immutable, hash-consed symbolic integer expression.
//
//   Expr b = env.new_symbol("batch", "input x dim 0");
//   Expr e = b * 4 + floordiv(b * 64, 32);      // canonicalised at construction: 6*batch
//   assert(e == b * 6);                          // pointer comparison
//
// Canonical form: a sum of integer-coefficient monomials over atoms
//   e = c0 + sum_i c_i * prod_j atom_ij^p_ij
// where an atom is a symbol or floordiv(a,b), mod(a,b), min(a,b), max(a,b) of canonical
// arguments. Structurally equal expressions are the same node (interned), so == and hash
// are O(1). Division and modulo follow Python: floor toward -inf, mod takes the divisor's
// sign. Constant arithmetic that leaves int64 throws diag::Error (code "overflow").
// Interning is process-wide and thread-safe; nodes live until process exit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace symtrace::sym {

namespace detail {
struct Node;  // made by the interning table in src/sym; laid out at the end of this header
}

enum class ExprKind : std::uint8_t {
  kConstant,  // an int64
  kSymbol,    // a named symbol
  kAdd,       // sum of terms (canonical: constant + coefficient*monomial ...)
  kMul,       // coefficient * product of atom powers
  kFloorDiv,  // floordiv(a, b), b != 0
  kMod,       // mod(a, b), b != 0
  kMin,
  kMax,
};

class Expr {
 public:
  Expr();  // the constant 0
  Expr(std::int64_t value);  // NOLINT(google-explicit-constructor): constants mix freely
  Expr(int value) : Expr(static_cast<std::int64_t>(value)) {}  // NOLINT: Expr(0) is not a null node

  // A fresh symbol node. Usually made through ShapeEnv::new_symbol, which also records
  // facts; two symbols with the same id are the same node.
  static Expr symbol(std::uint32_t id, std::string_view name);

  ExprKind kind() const;
  bool is_constant() const { return kind() == ExprKind::kConstant; }
  bool is_symbol() const { return kind() == ExprKind::kSymbol; }
  std::optional<std::int64_t> constant() const;  // set when is_constant()
  std::uint32_t symbol_id() const;               // requires is_symbol()
  std::string_view symbol_name() const;          // requires is_symbol()

  // Immediate children in canonical order (terms of a sum, factors of a product,
  // the two operands of floordiv/mod/min/max). Constants and symbols have none.
  std::span<const Expr> children() const;
  // For kMul: the integer coefficient; for kAdd: the constant term; otherwise 0/1.
  std::int64_t coefficient() const;

  // Ids of every symbol occurring in the expression, sorted, unique.
  std::vector<std::uint32_t> free_symbols() const;

  std::size_t hash() const noexcept;
  const detail::Node* node() const noexcept { return node_; }
  explicit Expr(const detail::Node* n) : node_(n) {}

  friend bool operator==(Expr a, Expr b) noexcept { return a.node_ == b.node_; }

  friend Expr operator+(Expr a, Expr b);
  friend Expr operator-(Expr a, Expr b);
  friend Expr operator*(Expr a, Expr b);
  friend Expr operator-(Expr a);
  Expr& operator+=(Expr b) { return *this = *this + b; }
  Expr& operator-=(Expr b) { return *this = *this - b; }
  Expr& operator*=(Expr b) { return *this = *this * b; }

  // Readable form: "batch*seq + 4", "floordiv(hidden, 128)".
  std::string str() const;

 private:
  const detail::Node* node_;
};

// Python-semantics division family. Division by the constant 0 throws diag::Error
// (code "division-by-zero").
Expr floordiv(Expr a, Expr b);
Expr mod(Expr a, Expr b);
Expr ceildiv(Expr a, Expr b);  // defined as -floordiv(-a, b)
Expr min(Expr a, Expr b);
Expr max(Expr a, Expr b);

// Substitute symbols (by id) and re-canonicalise.
Expr substitute(Expr e, const std::function<std::optional<Expr>(std::uint32_t id)>& f);

// Evaluate with every symbol bound (by id); checked arithmetic, throws diag::Error on
// overflow, division by zero or an unbound symbol.
std::int64_t evaluate(Expr e, const std::function<std::optional<std::int64_t>(std::uint32_t id)>& f);

// Checks the canonical-form invariants (see the top of this header and src/sym/node.hpp);
// throws diag::InternalError naming the broken one. For tests.
void verify(Expr e);

// Memory held by the interning table (for benchmarks: bytes per node).
struct InternStats {
  std::size_t nodes = 0;
  std::size_t bytes = 0;
};
InternStats intern_stats();

namespace detail {
// The interned node. Its layout is here only so that Expr's accessors inline; nodes are
// made and owned by the interning table in src/sym (see src/sym/node.hpp):
//   kConstant value = the integer;  kSymbol value = id, name = its name
//   kMul value = coefficient, kids = atom factors;  kAdd value = constant, kids = terms
//   kFloorDiv / kMod / kMin / kMax  kids = the two operands
struct Node {
  std::uint64_t hash;      // structural and deterministic (no pointers): equal across runs
  std::uint64_t sym_mask;  // bit (id % 64) set for every symbol below: a cheap "might contain"
  std::int64_t value;
  const Expr* kids;
  const char* name;  // symbols only
  std::uint32_t n;   // number of kids
  std::uint32_t name_len;
  ExprKind kind;

  std::span<const Expr> children() const { return {kids, n}; }
  std::string_view symbol_name() const { return {name, name_len}; }
};
}  // namespace detail

inline ExprKind Expr::kind() const { return node_->kind; }
inline std::optional<std::int64_t> Expr::constant() const {
  if (node_->kind != ExprKind::kConstant) return std::nullopt;
  return node_->value;
}
inline std::span<const Expr> Expr::children() const { return node_->children(); }
inline std::int64_t Expr::coefficient() const {
  switch (node_->kind) {
    case ExprKind::kMul:
    case ExprKind::kAdd: return node_->value;
    case ExprKind::kConstant: return 0;
    default: return 1;
  }
}
inline std::size_t Expr::hash() const noexcept { return node_->hash; }

}  // namespace symtrace::sym

template <>
struct std::hash<symtrace::sym::Expr> {
  std::size_t operator()(symtrace::sym::Expr e) const noexcept { return e.hash(); }
};
