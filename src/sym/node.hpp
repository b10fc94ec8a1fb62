// The interned node behind sym::Expr, and the interning entry points. Private to src/sym.
//
// Layout (56 bytes + 8 per child, arena-allocated, never freed):
//   kConstant  value = the integer
//   kSymbol    value = symbol id, name = its (interned) name
//   kMul       value = coefficient c != 0, kids = atoms sorted by compare(), repeats are
//              powers; canonical when c != 1 or there are >= 2 factors
//   kAdd       value = constant term, kids = terms (atoms or kMul) sorted by monomial
//              order with distinct factor lists; canonical when >= 2 terms or value != 0
//   kFloorDiv / kMod / kMin / kMax   kids = the two canonical operands
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include <symtrace/sym/expr.hpp>

namespace symtrace::sym::detail {

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

// Returns the unique node with these fields, creating it on first use. Thread-safe.
const Node* intern(ExprKind kind, std::int64_t value, std::span<const Expr> kids,
                   std::string_view name = {});

inline const Node* node_of(Expr e) { return e.node(); }

// While one is alive (per thread, the outermost counts), new nodes are temporary: they
// are freed when it ends. Only for computations whose resulting nodes are dropped (decide):
// an Expr made inside must not be used after the scope.
class ScratchScope {
 public:
  ScratchScope();
  ~ScratchScope();
  ScratchScope(const ScratchScope&) = delete;
  ScratchScope& operator=(const ScratchScope&) = delete;

 private:
  bool owner_;
};

}  // namespace symtrace::sym::detail
