// ShapeEnv::bind: concrete sizes checked against every range, fact and guard. Symbols
// eliminated by an equality take their value from it; a violation names the fact, the
// values and the provenance of each symbol in it.
#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>

#include "sym/env_impl.hpp"

namespace symtrace::sym {
namespace {

std::optional<std::int64_t> try_eval(Expr e, const Bindings& b) {
  for (std::uint32_t id : e.free_symbols())
    if (!b.get(id)) return std::nullopt;
  return evaluate(e, [&](std::uint32_t id) { return b.get(id); });
}

std::string op_text(CondOp op) {
  switch (op) {
    case CondOp::kEq: return "==";
    case CondOp::kNe: return "!=";
    case CondOp::kLt: return "<";
    case CondOp::kLe: return "<=";
    case CondOp::kGt: return ">";
    default: return ">=";
  }
}

// The value of c under b: nullopt when a symbol is unbound. `got` receives the evaluated
// comparison that failed ("36 == 0").
std::optional<bool> eval_cond(const Cond& c, const Bindings& b, std::string& got) {
  switch (c.op()) {
    case CondOp::kTrue: return true;
    case CondOp::kFalse: return false;
    case CondOp::kNot: {
      auto v = eval_cond(c.operands()[0], b, got);
      return v ? std::optional(!*v) : std::nullopt;
    }
    case CondOp::kAnd:
    case CondOp::kOr: {
      auto x = eval_cond(c.operands()[0], b, got);
      auto y = eval_cond(c.operands()[1], b, got);
      const bool is_and = c.op() == CondOp::kAnd;
      if (x && y) return is_and ? (*x && *y) : (*x || *y);
      if ((x && *x != is_and) || (y && *y != is_and)) return !is_and;  // decided by one side
      return std::nullopt;
    }
    default: break;
  }
  auto l = try_eval(c.lhs(), b), r = try_eval(c.rhs(), b);
  if (!l || !r) return std::nullopt;
  bool v = false;
  switch (c.op()) {
    case CondOp::kEq: v = *l == *r; break;
    case CondOp::kNe: v = *l != *r; break;
    case CondOp::kLt: v = *l < *r; break;
    case CondOp::kLe: v = *l <= *r; break;
    case CondOp::kGt: v = *l > *r; break;
    default: v = *l >= *r; break;
  }
  if (!v) got = fmt::format("{} {} {}", *l, op_text(c.op()), *r);
  return v;
}

// For x == e with x's value known: the symbol y and its value when e == c*y + rest with
// y the only unbound symbol, appearing once, and c dividing x - rest.
// `impossible` is set when no integer y satisfies it.
std::optional<std::pair<std::uint32_t, std::int64_t>> solve_for_unbound(Expr e, std::int64_t x, const Bindings& b,
                                                                        bool& impossible) {
  detail::TermView t(e);
  std::optional<std::size_t> at;
  for (std::size_t i = 0; i < t.size(); ++i) {
    bool bound = true;
    for (std::uint32_t id : t.term(i).free_symbols()) bound = bound && b.get(id).has_value();
    if (bound) continue;
    auto f = t.factors(i);
    if (at || f.size() != 1 || !f[0].is_symbol()) return std::nullopt;
    at = i;
  }
  if (!at) return std::nullopt;
  const Expr rest = e - t.term(*at);
  std::int64_t r;
  try {
    r = evaluate(rest, [&](std::uint32_t id) { return b.get(id); });
  } catch (const diag::Error&) {  // undefined there: the fact checks report it
    return std::nullopt;
  }
  std::int64_t diff;
  if (__builtin_sub_overflow(x, r, &diff)) return std::nullopt;
  if (diff % t.coef(*at) != 0) {
    impossible = true;
    return std::nullopt;
  }
  return std::pair{t.factors(*at)[0].symbol_id(), diff / t.coef(*at)};
}

void collect_symbols(const Cond& c, std::vector<std::uint32_t>& out) {
  if (c.is_comparison()) {
    for (auto id : c.lhs().free_symbols()) out.push_back(id);
    for (auto id : c.rhs().free_symbols()) out.push_back(id);
  }
  for (const Cond& o : c.operands()) collect_symbols(o, out);
}

}  // namespace

Bindings ShapeEnv::bind(const std::map<std::string, std::int64_t, std::less<>>& values) const {
  const auto& infos = impl_->infos;
  Bindings b;
  for (const auto& [name, v] : values) {
    auto it = impl_->by_name.find(name);
    if (it == impl_->by_name.end()) diag::fail("bind", fmt::format("no symbol named {} to bind", name));
    b.set(it->second, v);
  }
  auto notes = [&](std::vector<std::uint32_t> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<std::string> out;
    for (auto id : ids) {
      auto v = b.get(id);
      out.push_back(fmt::format("{}{} from {}", infos[id].name, v ? fmt::format(" = {}", *v) : "",
                                infos[id].provenance));
    }
    return out;
  };
  auto violation = [&](std::string message, std::string expected, std::string got, std::vector<std::uint32_t> ids) {
    diag::Diagnostic d;
    d.code = "bind";
    d.message = std::move(message);
    d.expected = std::move(expected);
    d.got = std::move(got);
    d.notes = notes(std::move(ids));
    throw diag::Error(std::move(d));
  };

  // Eliminated symbols follow the symbols they were set equal to, and the other way round
  // when the equality is linear in the one symbol left unbound (hidden == 128*k binds k),
  // until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& [id, e] : impl_->facts.subst) {
      if (!b.get(id)) {
        try {
          if (auto v = try_eval(e, b)) b.set(id, *v), changed = true;
        } catch (const diag::Error& err) {
          violation(fmt::format("{} == {} cannot be evaluated: {}", infos[id].name, e.str(), err.diagnostic().message),
                    "", "", e.free_symbols());
        }
      } else {
        bool impossible = false;
        if (auto y = solve_for_unbound(e, *b.get(id), b, impossible)) b.set(y->first, y->second), changed = true;
        if (impossible) {
          auto ids = e.free_symbols();
          ids.push_back(id);
          violation(fmt::format("the equality {} == {} cannot hold for {} = {}", infos[id].name, e.str(),
                                infos[id].name, *b.get(id)),
                    fmt::format("{} == {}", infos[id].name, e.str()), std::to_string(*b.get(id)), ids);
        }
      }
    }
  }

  for (const auto& s : infos) {  // declared ranges
    auto v = b.get(s.id);
    const Range& r = impl_->facts.symbols[s.id].declared;
    if (v && !r.contains(*v))
      violation(fmt::format("{} = {} is outside its range {}", s.name, *v, r.str()), fmt::format("{} in {}", s.name, r.str()),
                std::to_string(*v), {s.id});
  }
  for (const auto& [id, e] : impl_->facts.subst) {  // equalities
    std::string got;
    auto ok = eval_cond(eq(Expr::symbol(id, infos[id].name), e), b, got);
    if (ok && !*ok) {
      auto ids = e.free_symbols();
      ids.push_back(id);
      violation(fmt::format("the equality {} == {} does not hold", infos[id].name, e.str()),
                fmt::format("{} == {}", infos[id].name, e.str()), got, ids);
    }
  }
  auto check = [&](const Cond& c, const std::string& what, const std::string& why) {
    std::string got;
    std::optional<bool> ok;
    try {
      ok = eval_cond(c, b, got);
    } catch (const diag::Error& err) {
      std::vector<std::uint32_t> ids;
      collect_symbols(c, ids);
      violation(fmt::format("{} {}{} cannot be evaluated: {}", what, c.str(), why, err.diagnostic().message), c.str(), "",
                ids);
    }
    if (ok && !*ok) {
      std::vector<std::uint32_t> ids;
      collect_symbols(c, ids);
      violation(fmt::format("{} {}{} does not hold", what, c.str(), why), c.str(), got, ids);
    }
  };
  for (const Cond& c : impl_->assumed) check(c, "the fact", "");
  for (const Guard& g : impl_->guards) check(g.cond, "the guard", fmt::format(" ({})", g.reason));
  return b;
}

std::int64_t ShapeEnv::evaluate(Expr e, const Bindings& b) const {
  return sym::evaluate(e, [&](std::uint32_t id) -> std::optional<std::int64_t> {
    if (auto v = b.get(id)) return v;
    if (id < impl_->infos.size())
      diag::fail("unbound", fmt::format("{} has no value (from {})", impl_->infos[id].name, impl_->infos[id].provenance));
    return std::nullopt;
  });
}

std::int64_t ShapeEnv::evaluate(const SymInt& e, const Bindings& b) const {
  if (auto v = e.maybe_value()) return *v;
  return evaluate(e.expr(), b);
}

}  // namespace symtrace::sym
