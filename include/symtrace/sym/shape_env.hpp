// sym::ShapeEnv — the facts about symbols, decisions under them, guards, and binding.
//
//   ShapeEnv env;
//   Expr B = env.new_symbol("B", "input x dim 0");
//   Expr H = env.new_symbol("hidden", "config.hidden_size", SymbolKind::kConfig);
//   env.assume(divisible(H, 128));
//   env.decide(eq(mod(H * B, 64), 0));         // Truth::kTrue
//   env.require(le(B, 4096), "kernel tile limit");  // Unknown -> recorded guard
//   Bindings b = env.bind({{"B", 8}, {"hidden", 4096}});  // checks facts and guards
//
// decide() never answers a wrong kTrue/kFalse: kTrue means "for every binding that
// satisfies the recorded facts", kFalse "for none". It uses interval bounds, modular
// (divisibility) sets and canonical-form differences, after substituting equalities.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/sym/cond.hpp>
#include <symtrace/sym/expr.hpp>

namespace symtrace::sym {

enum class SymbolKind : std::uint8_t {
  kInputSize,  // a size of a graph input (batch, sequence)
  kConfig,     // a value from a model config (hidden_size), usually bound at load
  kUnbacked,   // data-dependent (tokens routed to an expert)
};
std::string_view symbol_kind_name(SymbolKind k);

// Closed integer interval; nullopt ends are unbounded.
struct Range {
  std::optional<std::int64_t> lo, hi;
  static Range size() { return {1, std::nullopt}; }  // default for sizes: [1, inf)
  static Range unbounded() { return {}; }
  static Range exactly(std::int64_t v) { return {v, v}; }
  bool contains(std::int64_t v) const { return (!lo || v >= *lo) && (!hi || v <= *hi); }
  std::string str() const;  // "[1, inf)"
};

struct SymbolInfo {
  std::uint32_t id = 0;
  std::string name;
  std::string provenance;  // "input x dim 0", "config.hidden_size", "tokens routed to expert 3"
  SymbolKind kind = SymbolKind::kInputSize;
  Range range = Range::size();
  std::optional<std::int64_t> hint;  // a known example value (config value), for messages
};

// A fact recorded by require() when it could not be decided at trace time.
struct Guard {
  Cond cond;
  std::string reason;  // why it is needed ("block_fp8_gemm.deepgemm: N % 64 == 0")
};

enum class GuardPolicy { kRecord, kStrict };

class Bindings {
 public:
  std::optional<std::int64_t> get(std::uint32_t id) const;
  void set(std::uint32_t id, std::int64_t v);
  std::size_t size() const { return values_.size(); }

 private:
  std::vector<std::optional<std::int64_t>> values_;  // by symbol id
};

class ShapeEnv {
 public:
  ShapeEnv();
  ~ShapeEnv();
  ShapeEnv(const ShapeEnv&) = delete;
  ShapeEnv& operator=(const ShapeEnv&) = delete;
  ShapeEnv(ShapeEnv&&) noexcept;
  ShapeEnv& operator=(ShapeEnv&&) noexcept;

  // --- symbols ---------------------------------------------------------------------------
  // A new symbol. Names must be unique within the env (diag::Error otherwise).
  Expr new_symbol(std::string name, std::string provenance,
                  SymbolKind kind = SymbolKind::kInputSize, Range range = Range::size());
  // The symbol of that name, or nullopt.
  std::optional<Expr> find_symbol(std::string_view name) const;
  const SymbolInfo& info(std::uint32_t id) const;
  const SymbolInfo& info(Expr symbol) const { return info(symbol.symbol_id()); }
  std::vector<const SymbolInfo*> symbols() const;
  // "E = 128 from config.num_experts" lines for every symbol in e (for diagnostics).
  std::vector<std::string> provenance_notes(Expr e) const;
  // A known example value (a config's value) that provenance_notes() shows; not a fact.
  void set_hint(Expr symbol, std::int64_t value);

  // --- facts -----------------------------------------------------------------------------
  // Adds a fact: comparisons (equalities substitute via union-find; bounds narrow ranges;
  // mod(x, m) == r records divisibility) and conjunctions of them. Throws diag::Error
  // (code "contradiction") when the fact is proven false under the existing facts.
  void assume(const Cond& fact);
  void set_range(Expr symbol, Range r);
  // e ≡ r (mod m), m > 0.
  void assume_divisible(Expr e, std::int64_t m, std::int64_t r = 0);

  // --- decisions -------------------------------------------------------------------------
  Truth decide(const Cond& c) const;
  // Fact-dependent rewrites: (m*e + r) // m == e when 0 <= r < m is provable, mod of a
  // known multiple is 0, min/max folded when ordered, equalities substituted.
  Expr simplify(Expr e) const;
  SymInt simplify(const SymInt& e) const;
  // Sound interval of e's values under the facts.
  Range bounds(Expr e) const;
  // Largest m with e ≡ r (mod m) provable, and that r (m == 0: e is the constant r).
  std::pair<std::int64_t, std::int64_t> modulus(Expr e) const;

  // --- guards ----------------------------------------------------------------------------
  // Decides c. kUnknown: records a guard (kRecord) or throws diag::Error with the reason
  // (kStrict). kFalse is returned, not thrown: the caller reports the proven violation.
  Truth require(const Cond& c, std::string reason);
  void set_guard_policy(GuardPolicy p);
  GuardPolicy guard_policy() const;
  const std::vector<Guard>& guards() const;

  // --- binding ---------------------------------------------------------------------------
  // Checks every symbol's range, divisibility facts, equalities and guards against the
  // given values (by symbol name; symbols equal to a bound one follow it). A violation
  // throws diag::Error (code "bind") naming the fact and the provenance of its symbols.
  Bindings bind(const std::map<std::string, std::int64_t, std::less<>>& values) const;
  std::int64_t evaluate(Expr e, const Bindings& b) const;
  std::int64_t evaluate(const SymInt& e, const Bindings& b) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace symtrace::sym
