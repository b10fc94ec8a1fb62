// Shape patterns for users' tests: "[*, B, S, 2*H]" against symbolic shapes.
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <symtrace/sym/parser.hpp>
#include <symtrace/testing.hpp>

namespace symtrace::testing {

std::optional<sym::SymInt> ShapeBindings::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.value;
}

void ShapeBindings::bind(std::string name, sym::SymInt value, std::string where) {
  values_.insert_or_assign(std::move(name), Bound{value, std::move(where)});
}

std::string ShapeBindings::where(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second.where;
}

std::vector<std::string> ShapeBindings::names() const {
  std::vector<std::string> out;
  for (const auto& [name, bound] : values_) out.push_back(name);
  return out;
}

namespace {

enum class ElemKind { kStar, kAny, kInt, kName, kExpr };

struct Elem {
  ElemKind kind = ElemKind::kAny;
  std::string text;
  std::size_t column = 0;  // 1-based, in the pattern string
  std::int64_t value = 0;  // kInt
  sym::Expr expr;          // kExpr: over placeholder symbols
  std::vector<std::string> names;  // kExpr: names it uses
};

// Pattern names become placeholder symbols in an id range ShapeEnvs never reach, so an
// expression like 2*H can be built once and then substituted with H's binding.
constexpr std::uint32_t kPlaceholderBase = 0xF0000000u;

bool is_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return s != "_";
}

bool is_int(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

struct Parsed {
  std::vector<Elem> elems;
  std::vector<std::string> placeholder_names;  // index = id - kPlaceholderBase
  std::string error;
};

Parsed parse_pattern(std::string_view p) {
  Parsed out;
  std::size_t open = p.find_first_not_of(" \t");
  std::size_t close = p.find_last_not_of(" \t");
  if (open == std::string_view::npos || p[open] != '[' || p[close] != ']') {
    out.error = fmt::format("column {}: a shape pattern is a bracketed list like [B, S, 4096]",
                            open == std::string_view::npos ? 1 : open + 1);
    return out;
  }
  auto resolve = [&](std::string_view name) {
    for (std::size_t i = 0; i < out.placeholder_names.size(); ++i)
      if (out.placeholder_names[i] == name)
        return sym::Expr::symbol(kPlaceholderBase + static_cast<std::uint32_t>(i), name);
    out.placeholder_names.emplace_back(name);
    return sym::Expr::symbol(kPlaceholderBase + static_cast<std::uint32_t>(out.placeholder_names.size() - 1),
                             name);
  };
  std::size_t start = open + 1;
  int depth = 0;
  for (std::size_t i = open + 1; i <= close; ++i) {
    char c = p[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (!((c == ',' && depth == 0) || i == close)) continue;
    std::string_view raw = p.substr(start, i - start);
    std::size_t lead = raw.find_first_not_of(" \t");
    Elem e;
    e.column = start + (lead == std::string_view::npos ? 0 : lead) + 1;
    if (lead == std::string_view::npos) {
      if (i == close && out.elems.empty()) break;  // "[]": a 0-d shape
      out.error = fmt::format("column {}: empty dim in pattern", e.column);
      return out;
    }
    std::string_view text = raw.substr(lead, raw.find_last_not_of(" \t") - lead + 1);
    e.text = std::string(text);
    if (text == "*") {
      if (!out.elems.empty()) {
        out.error = fmt::format("column {}: `*` (any leading dims) may only come first", e.column);
        return out;
      }
      e.kind = ElemKind::kStar;
    } else if (text == "_") {
      e.kind = ElemKind::kAny;
    } else if (is_int(text)) {
      e.kind = ElemKind::kInt;
      e.value = std::stoll(e.text);
    } else if (is_name(text)) {
      e.kind = ElemKind::kName;
    } else {
      e.kind = ElemKind::kExpr;
      try {
        std::size_t before = out.placeholder_names.size();
        e.expr = sym::parse_expr(text, resolve).expr;
        (void)before;
        for (std::uint32_t id : e.expr.free_symbols())
          e.names.push_back(out.placeholder_names[id - kPlaceholderBase]);
      } catch (const sym::ParseError& err) {
        out.error = fmt::format("column {}: cannot parse dim `{}`: {}",
                                e.column + err.column() - 1, text, err.diagnostic().message);
        return out;
      }
    }
    out.elems.push_back(std::move(e));
    start = i + 1;
  }
  if (depth != 0) out.error = "unbalanced parentheses in pattern";
  return out;
}

bool agree(const sym::SymInt& a, const sym::SymInt& b, const sym::ShapeEnv* env) {
  if (a.identical(b)) return true;
  return env != nullptr && env->decide(sym::eq(a, b)) == sym::Truth::kTrue;
}

}  // namespace

CheckResult match_shape(const tensor::SymShape& shape, std::string_view pattern,
                        ShapeBindings& bindings, const sym::ShapeEnv* env) {
  const std::string got = tensor::shape_str(shape);
  auto fail = [&](std::string why) {
    return CheckResult::failure(
        fmt::format("shape {} does not match pattern {}\n  {}", got, pattern, why));
  };
  Parsed parsed = parse_pattern(pattern);
  if (!parsed.error.empty()) return fail(parsed.error);

  const bool star = !parsed.elems.empty() && parsed.elems.front().kind == ElemKind::kStar;
  const std::size_t fixed = parsed.elems.size() - (star ? 1 : 0);
  if (star ? shape.size() < fixed : shape.size() != fixed) {
    return fail(fmt::format("rank: pattern has {}{} dims, shape has {}", star ? "at least " : "",
                            fixed, shape.size()));
  }
  const std::size_t offset = shape.size() - fixed;  // dims matched by `*`

  // Pass 1: bare names bind (locally until the whole pattern matched) or must agree.
  ShapeBindings local;
  auto lookup = [&](std::string_view name) -> std::optional<sym::SymInt> {
    if (auto v = local.get(name)) return v;
    return bindings.get(name);
  };
  auto where_of = [&](std::string_view name) {
    std::string w = local.where(name);
    return w.empty() ? bindings.where(name) : w;
  };
  for (std::size_t i = 0; i < fixed; ++i) {
    const Elem& e = parsed.elems[i + (star ? 1 : 0)];
    const std::size_t d = offset + i;
    if (e.kind != ElemKind::kName) continue;
    if (auto bound = lookup(e.text)) {
      if (!agree(*bound, shape[d], env)) {
        return fail(fmt::format("dim {}: {} is bound to {} ({}), got {}", d, e.text, bound->str(),
                                where_of(e.text), shape[d].str()));
      }
    } else {
      local.bind(e.text, shape[d], fmt::format("dim {} of {}", d, pattern));
    }
  }
  // Pass 2: integers and expressions over bound names.
  for (std::size_t i = 0; i < fixed; ++i) {
    const Elem& e = parsed.elems[i + (star ? 1 : 0)];
    const std::size_t d = offset + i;
    if (e.kind == ElemKind::kInt) {
      if (!agree(sym::SymInt(e.value), shape[d], env))
        return fail(fmt::format("dim {}: expected {}, got {}", d, e.value, shape[d].str()));
    } else if (e.kind == ElemKind::kExpr) {
      std::vector<std::string> notes;
      for (const std::string& n : e.names) {
        auto v = lookup(n);
        if (!v) {
          return fail(fmt::format("dim {}: `{}` uses {}, which no bare dim binds (write it alone "
                                  "in this or an earlier pattern)",
                                  d, e.text, n));
        }
        notes.push_back(fmt::format("{} = {}, {}", n, v->str(), where_of(n)));
      }
      sym::Expr value = sym::substitute(e.expr, [&](std::uint32_t id) -> std::optional<sym::Expr> {
        if (id < kPlaceholderBase) return std::nullopt;
        return lookup(parsed.placeholder_names[id - kPlaceholderBase])->expr();
      });
      sym::SymInt expected(value);
      if (!agree(expected, shape[d], env)) {
        return fail(fmt::format("dim {}: expected {} = {}, got {}\n    {}", d, e.text,
                                expected.str(), shape[d].str(), fmt::join(notes, "\n    ")));
      }
    }
  }
  for (const std::string& n : local.names()) bindings.bind(n, *local.get(n), local.where(n));
  return CheckResult::pass();
}

CheckResult match_shape(const tensor::TensorMeta& meta, std::string_view pattern,
                        ShapeBindings& bindings, const sym::ShapeEnv* env) {
  return match_shape(meta.sizes, pattern, bindings, env);
}

}  // namespace symtrace::testing
