// The interning entry points behind sym::Expr. Private to src/sym. detail::Node itself is
// laid out in expr.hpp (so that Expr's accessors inline); its invariants:
//
// (56 bytes + 8 per child, arena-allocated; nodes of the shared table live for the
// process, those made inside a ScratchScope until it ends):
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
