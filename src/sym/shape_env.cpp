// ShapeEnv: symbols and their provenance, the fact list (replayed into env_impl's forms),
// guards and binding. The analyzers live in bounds.cpp, modular.cpp, simplify.cpp,
// decide.cpp and facts.cpp.
#include <symtrace/sym/shape_env.hpp>

#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>

#include "sym/env_impl.hpp"

namespace symtrace::sym {
using detail::Interval;

std::string_view symbol_kind_name(SymbolKind k) {
  switch (k) {
    case SymbolKind::kInputSize: return "input size";
    case SymbolKind::kConfig: return "config value";
    case SymbolKind::kUnbacked: return "data-dependent";
  }
  return "input size";
}

std::string Range::str() const {
  return fmt::format("{}{}, {}{}", lo ? "[" : "(", lo ? std::to_string(*lo) : "-inf",
                     hi ? std::to_string(*hi) : "inf", hi ? "]" : ")");
}

std::optional<std::int64_t> Bindings::get(std::uint32_t id) const {
  return id < values_.size() ? values_[id] : std::nullopt;
}
void Bindings::set(std::uint32_t id, std::int64_t v) {
  if (id >= values_.size()) values_.resize(id + 1);
  values_[id] = v;
}

ShapeEnv::ShapeEnv() : impl_(std::make_unique<Impl>()) {}
ShapeEnv::~ShapeEnv() = default;
ShapeEnv::ShapeEnv(ShapeEnv&&) noexcept = default;
ShapeEnv& ShapeEnv::operator=(ShapeEnv&&) noexcept = default;

Expr ShapeEnv::new_symbol(std::string name, std::string provenance, SymbolKind kind, Range range) {
  if (name.empty()) diag::fail("symbol", "a symbol needs a name");
  if (impl_->by_name.count(name)) diag::fail("symbol", fmt::format("a symbol named {} exists already", name));
  if (range.lo && range.hi && *range.lo > *range.hi)
    diag::fail("symbol", fmt::format("the range {} of {} is empty", range.str(), name));
  const auto id = static_cast<std::uint32_t>(impl_->infos.size());
  impl_->infos.push_back(SymbolInfo{id, name, std::move(provenance), kind, range, std::nullopt});
  impl_->facts.symbols.push_back({range, Interval::of(range), {}});
  impl_->by_name.emplace(name, id);
  const Expr sym = Expr::symbol(id, name);
  impl_->symbol_nodes.push_back(sym.node());
  return sym;
}

std::optional<Expr> ShapeEnv::find_symbol(std::string_view name) const {
  auto it = impl_->by_name.find(name);
  if (it == impl_->by_name.end()) return std::nullopt;
  return Expr::symbol(it->second, name);
}

const SymbolInfo& ShapeEnv::info(std::uint32_t id) const {
  if (id >= impl_->infos.size()) throw diag::InternalError(fmt::format("no symbol with id {} in this ShapeEnv", id));
  return impl_->infos[id];
}

std::vector<const SymbolInfo*> ShapeEnv::symbols() const {
  std::vector<const SymbolInfo*> out;
  for (const auto& s : impl_->infos) out.push_back(&s);
  return out;
}

std::vector<std::string> ShapeEnv::provenance_notes(Expr e) const {
  std::vector<std::string> out;
  for (std::uint32_t id : e.free_symbols()) {
    if (id >= impl_->infos.size()) continue;
    const auto& s = impl_->infos[id];
    out.push_back(s.hint ? fmt::format("{} = {} from {}", s.name, *s.hint, s.provenance)
                         : fmt::format("{} from {}", s.name, s.provenance));
  }
  return out;
}

void ShapeEnv::set_hint(Expr symbol, std::int64_t value) {
  const std::uint32_t id = symbol.symbol_id();
  if (id >= impl_->infos.size()) throw diag::InternalError("set_hint of a symbol from another ShapeEnv");
  impl_->infos[id].hint = value;
}

namespace {
[[noreturn]] void fail_fact(const ShapeEnv& env, const Cond& c, std::string code, std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.message = std::move(message);
  d.notes = env.provenance_notes(c.is_comparison() ? c.lhs() - c.rhs() : Expr());
  throw diag::Error(std::move(d));
}

// Applies f to the env's facts; restores them if f throws (assume() is all or nothing).
template <class F>
void transaction(detail::EnvCore& impl, F&& f) {
  detail::Facts saved = impl.facts;
  std::vector<Range> ranges;
  for (const auto& s : impl.infos) ranges.push_back(s.range);
  try {
    f();
  } catch (...) {
    impl.facts = std::move(saved);
    for (std::size_t i = 0; i < ranges.size(); ++i) impl.infos[i].range = ranges[i];
    impl.facts_changed();
    throw;
  }
}
}  // namespace

namespace {
// decide() with its intermediate expressions in a scratch table, freed on return. The
// memo tables may hold those nodes, so they are emptied before the nodes go.
Truth decide_scratch(const detail::EnvCore& impl, const Cond& c, detail::Effort effort = detail::kFullEffort) {
  detail::ScratchScope scope;
  struct ClearMemos {
    const detail::EnvCore& env;
    ~ClearMemos() { env.facts_changed(); }
  } clear{impl};
  return impl.decide(c, effort);
}
}  // namespace

namespace {
// Facts may only name this env's symbols: ids are per env, and another env's symbol with
// the same id would take over its facts.
void check_owned(const detail::EnvCore& impl, const Cond& c) {
  auto walk = [&](auto&& self, Expr e) -> void {
    if (e.is_symbol() && !impl.owns(e.node()))
      diag::fail("symbol", fmt::format("{} (id {}) is not a symbol of this ShapeEnv", e.symbol_name(), e.symbol_id()));
    for (Expr k : e.children()) self(self, k);
  };
  if (c.is_comparison()) {
    walk(walk, c.lhs());
    walk(walk, c.rhs());
  }
  for (const Cond& o : c.operands()) check_owned(impl, o);
}
}  // namespace

void ShapeEnv::assume(const Cond& fact) {
  check_owned(*impl_, fact);
  // A quick decision: enough to skip facts already known and to catch most
  // contradictions; add_fact() catches the ones it meets (empty ranges, residues).
  const Truth t = decide_scratch(*impl_, fact, detail::kQuickEffort);
  if (t == Truth::kFalse)
    fail_fact(*this, fact, "contradiction", fmt::format("the assumption {} is false under the facts already known", fact.str()));
  impl_->assumed.push_back(fact);
  if (t == Truth::kTrue) return;
  try {
    transaction(*impl_, [&] { impl_->add_fact(fact); });
  } catch (const diag::Error& e) {
    impl_->assumed.pop_back();
    if (e.diagnostic().code != "contradiction") throw;
    fail_fact(*this, fact, "contradiction", fmt::format("the assumption {} contradicts the facts already known", fact.str()));
  }
}

void ShapeEnv::set_range(Expr symbol, Range r) {
  const std::uint32_t id = symbol.symbol_id();
  if (id >= impl_->infos.size()) throw diag::InternalError("set_range of a symbol from another ShapeEnv");
  if (r.lo && r.hi && *r.lo > *r.hi)
    diag::fail("symbol", fmt::format("the range {} of {} is empty", r.str(), impl_->infos[id].name));
  // Replay every fact on top of the new declared range, so a wider range really widens.
  // All or nothing: a fact that now contradicts restores the old state and is reported.
  auto& infos = impl_->infos;
  const detail::Facts old_facts = impl_->facts;
  std::vector<Range> old_ranges;
  for (const auto& s : infos) old_ranges.push_back(s.range);
  std::vector<Cond> facts = std::move(impl_->assumed);
  impl_->assumed.clear();
  try {
    detail::Facts fresh;
    for (const auto& s : infos) {
      const Range& declared = s.id == id ? r : impl_->facts.symbols[s.id].declared;
      fresh.symbols.push_back({declared, Interval::of(declared), {}});
    }
    impl_->facts = std::move(fresh);
    for (auto& s : infos) s.range = impl_->facts.symbols[s.id].declared;
    impl_->facts_changed();
    for (const Cond& c : facts) assume(c);
  } catch (...) {
    impl_->facts = old_facts;
    for (std::size_t i = 0; i < infos.size(); ++i) infos[i].range = old_ranges[i];
    impl_->assumed = std::move(facts);
    impl_->facts_changed();
    throw;
  }
  for (const Guard& g : impl_->guards) {
    try {
      transaction(*impl_, [&] { impl_->add_fact(g.cond); });
    } catch (const diag::Error&) {  // the guard now fails: bind() will report it
    }
  }
}

void ShapeEnv::assume_divisible(Expr e, std::int64_t m, std::int64_t r) {
  if (m <= 0) diag::fail("divisibility", fmt::format("assume_divisible({}, {}): the modulus must be > 0", e.str(), m));
  assume(eq(mod(e, Expr(m)), Expr(py_mod(r, m))));
}

Truth ShapeEnv::decide(const Cond& c) const { return decide_scratch(*impl_, c); }

Expr ShapeEnv::simplify(Expr e) const {
  try {
    return impl_->simplify(e);
  } catch (const diag::Error& err) {
    if (err.diagnostic().code == "overflow") return e;  // a rewrite that leaves int64 is skipped
    throw;
  }
}
SymInt ShapeEnv::simplify(const SymInt& e) const {
  if (e.is_concrete()) return e;
  return SymInt(simplify(e.expr()));
}

Range ShapeEnv::bounds(Expr e) const {
  Interval b = detail::tighten(impl_->bounds(e), impl_->modular(e));
  Expr s = simplify(e);
  if (s != e) b = b.meet(detail::tighten(impl_->bounds(s), impl_->modular(s)));
  return b.range();
}

std::pair<std::int64_t, std::int64_t> ShapeEnv::modulus(Expr e) const {
  detail::ModSet m = impl_->modular(simplify(e));
  return {m.m, m.r};
}

Truth ShapeEnv::require(const Cond& c, std::string reason) {
  check_owned(*impl_, c);
  const Truth t = decide_scratch(*impl_, c);
  if (t != Truth::kUnknown) return t;
  if (impl_->policy == GuardPolicy::kStrict) {
    diag::Diagnostic d;
    d.code = "guard";
    d.message = fmt::format("cannot prove {} for every size, needed by {}", c.str(), reason);
    d.expected = c.str();
    d.notes = provenance_notes(c.is_comparison() ? c.lhs() - c.rhs() : Expr());
    d.proven = false;
    throw diag::Error(std::move(d));
  }
  try {
    transaction(*impl_, [&] { impl_->add_fact(c); });
  } catch (const diag::Error& e) {
    if (e.diagnostic().code == "contradiction") return Truth::kFalse;  // impossible under the facts
    throw;
  }
  impl_->guards.push_back(Guard{c, std::move(reason)});
  return Truth::kUnknown;
}

void ShapeEnv::set_guard_policy(GuardPolicy p) { impl_->policy = p; }
GuardPolicy ShapeEnv::guard_policy() const { return impl_->policy; }
const std::vector<Guard>& ShapeEnv::guards() const { return impl_->guards; }

}  // namespace symtrace::sym
