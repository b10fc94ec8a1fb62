// The state behind ShapeEnv, shared by its analyzers (bounds.cpp, modular.cpp,
// simplify.cpp, decide.cpp, facts.cpp). Private to src/sym.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>

#include <boost/unordered/unordered_flat_map.hpp>
#include <vector>

#include <symtrace/sym/shape_env.hpp>

#include "sym/algebra.hpp"

namespace symtrace::sym::detail {

// A closed interval over the integers; kNegInf / kPosInf mark an unbounded end. Finite
// ends are rounded outward, so arithmetic on intervals never claims more than is true.
struct Interval {
  static constexpr std::int64_t kNegInf = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t kPosInf = std::numeric_limits<std::int64_t>::max();
  std::int64_t lo = kNegInf, hi = kPosInf;

  static Interval of(const Range& r) { return {r.lo ? *r.lo : kNegInf, r.hi ? *r.hi : kPosInf}; }
  static Interval point(std::int64_t v) { return {v, v}; }
  bool empty() const { return lo > hi; }
  bool contains(std::int64_t v) const { return lo <= v && v <= hi; }
  Interval meet(Interval o) const { return {std::max(lo, o.lo), std::min(hi, o.hi)}; }
  Range range() const {
    return {lo == kNegInf ? std::nullopt : std::optional(lo), hi == kPosInf ? std::nullopt : std::optional(hi)};
  }
};

Interval add(Interval a, Interval b);
Interval mul(Interval a, Interval b);
Interval scale(Interval a, std::int64_t k);
Interval floordiv(Interval a, Interval b);
Interval mod(Interval a, Interval b);

// e ≡ r (mod m): m == 0 means e == r exactly; m == 1 says nothing. 0 <= r < m when m > 0.
struct ModSet {
  std::int64_t m = 1, r = 0;
  static ModSet exactly(std::int64_t v) { return {0, v}; }
};
// Both facts at once (Chinese remainder); nullopt when no integer satisfies both.
std::optional<ModSet> intersect(ModSet a, ModSet b);
ModSet normalize(std::int64_t m, std::int64_t r);

// Interval narrowed to its members that are ≡ r (mod m).
Interval tighten(Interval b, ModSet s);

// d divided by the gcd of its coefficients and constant, leading coefficient positive:
// d == 0 iff primitive_part(d) == 0, and scalar multiples share one form.
Expr primitive_part(Expr d);

struct EnvCore;

// How hard decide() tries: the nesting of the algebraic strategies (prove.cpp) and of
// case splits. assume() checks new facts with the quick effort.
struct Effort {
  int proof_depth;
  int split_depth;
};
inline constexpr Effort kFullEffort{3, 2};
inline constexpr Effort kQuickEffort{1, 0};
inline constexpr int kStrategyBudget = 64;  // per top-level decide()
// Forms of g equal to g, or to B*g for a provably positive B, with one floordiv or mod
// atom rewritten by k*(x // k) == x - x % k (prove.cpp).
std::vector<Expr> division_variants(const EnvCore& env, Expr g);

struct SymbolFacts {
  Range declared;                 // as given to new_symbol / set_range (bind checks it)
  Interval range;                 // narrowed by facts
  ModSet mod;                     // combined divisibility
};

struct DivFact {
  Expr e;
  ModSet set;
};

// Every fact in a form the analyzers use. Copyable, so assume() can roll back.
struct Facts {
  std::vector<SymbolFacts> symbols;                 // by id
  std::unordered_map<std::uint32_t, Expr> subst;    // eliminated symbol -> expression
  std::uint64_t subst_mask = 0;                     // bloom of the eliminated ids
  std::unordered_map<const Node*, Interval> term_bounds;  // bounds of non-symbol terms
  std::vector<Expr> nonneg;   // g >= 0 with >= 2 terms
  std::vector<Expr> zero;     // z == 0 that no substitution expresses
  std::vector<Expr> nonzero;  // d != 0
  std::vector<DivFact> divs;  // non-symbol e ≡ r (mod m)
};

// What the analyzers read. A case split copies it (and only it) into a child.
struct EnvState {
  std::vector<SymbolInfo> infos;        // by id
  std::vector<const Node*> symbol_nodes;  // by id: the interned symbol
  Facts facts;
  // Open addressing (no allocation per entry): these fill and empty on every decide().
  mutable boost::unordered_flat_map<const Node*, Expr> simplify_memo;
  mutable boost::unordered_flat_map<const Node*, int> proof_memo;  // g -> deepest depth that failed / -1: proven
  // Strategy steps left to the decide() in progress (shared with its case splits), so a
  // large expression costs bounded time: when it runs out the answer is kUnknown.
  mutable int* budget = nullptr;
};

// The analyzers over the state, each in its own file.
struct EnvCore : EnvState {
  // Whether this symbol node is one of this env's symbols (ids are per env, so a symbol
  // of another env may share an id; its facts are not ours).
  bool owns(const Node* symbol) const {
    const auto id = static_cast<std::size_t>(symbol->value);
    return id < symbol_nodes.size() && symbol_nodes[id] == symbol;
  }
  Interval bounds(Expr e) const;          // bounds.cpp
  ModSet modular(Expr e) const;           // modular.cpp
  Expr simplify(Expr e) const;                    // simplify.cpp
  // decide.cpp: g >= 0 ? and d == 0 ?, trying as hard as `effort` says.
  Truth decide_nonneg(Expr g, Effort effort = kFullEffort) const;
  Truth decide_zero(Expr d, Effort effort = kFullEffort) const;
  // decide.cpp: is g >= 0 provable? depth 0: intervals, modular sets and the facts;
  // depth >= 1 adds the algebraic strategies of prove.cpp, depth >= 2 the case splits.
  bool proves_nonneg(Expr g, int depth) const;
  bool proves_by_strategies(Expr g, int depth) const;   // prove.cpp
  Truth decide_zero_by_cases(Expr d, Effort effort) const;    // prove.cpp
  Truth decide_nonneg_by_cases(Expr g, Effort effort) const;  // prove.cpp
  Truth decide(const Cond& c, Effort effort = kFullEffort) const;  // decide.cpp
  // Spends one step of the budget; false when none is left.
  bool spend() const {
    if (!budget) return true;
    return --*budget >= 0;
  }
  // facts.cpp: add one simplified fact; throw diag::Error "contradiction" when impossible.
  void add_fact(const Cond& c);
  void add_zero(Expr d);
  void add_nonneg(Expr g);
  void add_nonzero(Expr d);
  void add_div(Expr e, ModSet s);
  void add_substitution(std::uint32_t id, Expr e);
  void narrow(std::uint32_t id, Interval r, ModSet s);
  void sign_of_factor(Expr t, Interval tb);
  void facts_changed() const {
    simplify_memo.clear();
    proof_memo.clear();
  }
};

}  // namespace symtrace::sym::detail

namespace symtrace::sym {
struct ShapeEnv::Impl : detail::EnvCore {
  std::map<std::string, std::uint32_t, std::less<>> by_name;
  std::vector<Cond> assumed;  // as given, checked again by bind()
  std::vector<Guard> guards;
  GuardPolicy policy = GuardPolicy::kRecord;
};
}  // namespace symtrace::sym
