// `symtrace sym`: simplify an expression or prove a fact from the command line, or answer
// a file of JSON-lines queries (docs/sym.md).
//
//   symtrace sym simplify EXPR [--assume FACT]... [--range NAME=LO..HI]...
//   symtrace sym prove FACT [--assume FACT]... [--range NAME=LO..HI]...
//   symtrace sym prove --batch FILE
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/parser.hpp>
#include <symtrace/sym/shape_env.hpp>

#include "cli/command.hpp"

namespace symtrace::cli::sym_cmd {
namespace {

using sym::Expr;
using sym::Range;
using sym::ShapeEnv;

constexpr std::string_view kUsage =
    "usage: symtrace sym simplify EXPR [--assume FACT]... [--range NAME=LO..HI]...\n"
    "       symtrace sym prove FACT [--assume FACT]... [--range NAME=LO..HI]...\n"
    "       symtrace sym prove --batch FILE\n"
    "Symbols are integers >= 1 unless --range says otherwise; LO.. and ..HI leave an end open.\n";

struct Query {
  std::string text;  // the expression (simplify) or fact (prove)
  std::vector<std::string> assumes;
  std::vector<std::pair<std::string, Range>> ranges;
};

// A bad query: the message, and the text and column it points into (column 0: none).
struct QueryError {
  explicit QueryError(std::string m, std::string src = {}, std::size_t col = 0)
      : message(std::move(m)), source(std::move(src)), column(col) {}
  std::string message;
  std::string source;
  std::size_t column;
};

template <class F>
auto parsing(const std::string& text, const std::string& where, F&& f) {
  try {
    return f();
  } catch (const sym::ParseError& e) {
    throw QueryError{where + e.diagnostic().message, text, e.column()};
  }
}

void check_divisors(const ShapeEnv& env, const std::vector<sym::ParsedDivisor>& divs, const std::string& text,
                    const std::string& where) {
  for (const auto& d : divs) {
    if (env.decide(sym::eq(d.divisor, 0)) == sym::Truth::kTrue)
      throw QueryError{fmt::format("{}column {}: division by zero: {} is 0 under the facts", where, d.column,
                                   d.divisor.str()),
                       text, d.column};
  }
}

void setup(ShapeEnv& env, const Query& q) {
  for (const auto& [name, r] : q.ranges) {
    if (env.find_symbol(name)) throw QueryError{fmt::format("range of {} given twice", name)};
    try {
      env.new_symbol(name, "--range", sym::SymbolKind::kInputSize, r);
    } catch (const diag::Error& e) {
      throw QueryError{e.diagnostic().message};
    }
  }
  auto resolve = sym::resolver_for(env, "the command line");
  for (std::size_t i = 0; i < q.assumes.size(); ++i) {
    const std::string& a = q.assumes[i];
    const std::string where = fmt::format("assumption {} ({}): ", i + 1, a);
    auto f = parsing(a, where, [&] { return sym::parse_fact(a, resolve); });
    check_divisors(env, f.divisors, a, where);
    try {
      env.assume(f.cond);
    } catch (const diag::Error& e) {
      throw QueryError{where + e.diagnostic().message};
    }
  }
}

sym::Truth prove(const Query& q) {
  ShapeEnv env;
  setup(env, q);
  auto f = parsing(q.text, "", [&] { return sym::parse_fact(q.text, sym::resolver_for(env, "the command line")); });
  check_divisors(env, f.divisors, q.text, "");
  return env.decide(f.cond);
}

std::string simplify(const Query& q) {
  ShapeEnv env;
  setup(env, q);
  auto e = parsing(q.text, "", [&] { return sym::parse_expr(q.text, sym::resolver_for(env, "the command line")); });
  check_divisors(env, e.divisors, q.text, "");
  return env.simplify(e.expr).str();
}

// "NAME=LO..HI" with either end optional.
std::optional<std::pair<std::string, Range>> parse_range(std::string_view s) {
  const auto eq = s.find('=');
  const auto dots = s.find("..", eq == std::string_view::npos ? 0 : eq);
  if (eq == std::string_view::npos || eq == 0 || dots == std::string_view::npos) return std::nullopt;
  auto end = [](std::string_view t) -> std::optional<std::optional<std::int64_t>> {
    if (t.empty()) return std::optional<std::int64_t>();
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
    return std::optional<std::int64_t>(v);
  };
  auto lo = end(s.substr(eq + 1, dots - eq - 1)), hi = end(s.substr(dots + 2));
  if (!lo || !hi) return std::nullopt;
  return std::pair{std::string(s.substr(0, eq)), Range{*lo, *hi}};
}

std::string render_error(const QueryError& e) {
  std::string out = fmt::format("symtrace sym: error: {}\n", e.message);
  if (e.column) out += fmt::format("  {}\n  {}^\n", e.source, std::string(e.column - 1, ' '));
  return out;
}

// One JSON line of the batch file -> one JSON line of answer.
boost::json::object answer_line(std::string_view line) {
  boost::json::object out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) {
    out["id"] = nullptr;
    out["error"] = ec ? fmt::format("not JSON: {}", ec.message()) : "not a JSON object";
    return out;
  }
  const auto& obj = v.as_object();
  const auto* id = obj.if_contains("id");
  out["id"] = id ? *id : boost::json::value(nullptr);
  try {
    Query q;
    const auto* fact = obj.if_contains("fact");
    if (!fact || !fact->is_string()) throw QueryError{"\"fact\" must be a string"};
    q.text = std::string(fact->as_string());
    if (const auto* as = obj.if_contains("assume")) {
      if (!as->is_array()) throw QueryError{"\"assume\" must be an array of strings"};
      for (const auto& a : as->as_array()) {
        if (!a.is_string()) throw QueryError{"\"assume\" must be an array of strings"};
        q.assumes.emplace_back(a.as_string());
      }
    }
    if (const auto* rs = obj.if_contains("range")) {
      if (!rs->is_object()) throw QueryError{"\"range\" must be an object {\"name\": [lo|null, hi|null]}"};
      for (const auto& entry : rs->as_object()) {
        const std::string_view name = entry.key();  // not a structured binding: lambdas use it
        const boost::json::value& r = entry.value();
        auto bound = [&](const boost::json::value& b) -> std::optional<std::int64_t> {
          if (b.is_null()) return std::nullopt;
          if (b.is_int64()) return b.as_int64();
          if (b.is_uint64() && b.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
            return static_cast<std::int64_t>(b.as_uint64());
          throw QueryError{fmt::format("range of {}: bounds must be int64 or null", std::string_view(name))};
        };
        if (!r.is_array() || r.as_array().size() != 2)
          throw QueryError{fmt::format("range of {} must be [lo|null, hi|null]", std::string_view(name))};
        q.ranges.emplace_back(std::string(name), Range{bound(r.as_array()[0]), bound(r.as_array()[1])});
      }
    }
    out["answer"] = sym::truth_name(prove(q));
  } catch (const QueryError& e) {
    out["error"] = e.message;
  } catch (const diag::Error& e) {
    out["error"] = e.diagnostic().message;
  }
  return out;
}

int batch(const std::string& path, std::string& out, std::string& err) {
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (path != "-") {
    in_file.open(path);
    if (!in_file) {
      err += fmt::format("symtrace sym: error: cannot open {}\n", path);
      return kExitBadInput;
    }
    in = &in_file;
  }
  const auto start = std::chrono::steady_clock::now();
  std::size_t queries = 0;
  bool any_error = false;
  std::string line;
  while (std::getline(*in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto a = answer_line(line);
    any_error |= a.contains("error");
    out += boost::json::serialize(a);
    out += '\n';
    ++queries;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  boost::json::object last;
  last["queries"] = queries;
  last["seconds"] = seconds;
  out += boost::json::serialize(last);
  out += '\n';
  return any_error ? kExitBadInput : kExitClean;
}

}  // namespace

// Runs `symtrace sym ARGS`, writing what it prints to out / err; returns the exit code.
int run(std::span<const std::string> args, std::string& out, std::string& err) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    (args.empty() ? err : out) += kUsage;
    return args.empty() ? kExitBadInput : kExitClean;
  }
  const std::string& mode = args[0];
  if (mode != "simplify" && mode != "prove") {
    err += fmt::format("symtrace sym: unknown mode '{}'\n{}", mode, kUsage);
    return kExitBadInput;
  }
  Query q;
  std::optional<std::string> batch_file;
  bool have_text = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (a == flag) {
        if (i + 1 == args.size()) return std::nullopt;
        return args[++i];
      }
      return a.substr(flag.size() + 1);  // --flag=value
    };
    auto is = [&](std::string_view flag) { return a == flag || a.starts_with(std::string(flag) + "="); };
    if (is("--assume") || is("--range") || is("--batch")) {
      const std::string flag = a.substr(0, a.find('='));
      auto v = value(flag);
      if (!v) {
        err += fmt::format("symtrace sym: {} needs a value\n{}", flag, kUsage);
        return kExitBadInput;
      }
      if (flag == "--assume") {
        q.assumes.push_back(*v);
      } else if (flag == "--batch") {
        batch_file = *v;
      } else if (auto r = parse_range(*v)) {
        q.ranges.push_back(*r);
      } else {
        err += fmt::format("symtrace sym: error: bad --range '{}': expected NAME=LO..HI (LO and HI optional)\n", *v);
        return kExitBadInput;
      }
    } else if (a.starts_with("--") || have_text) {
      err += fmt::format("symtrace sym: unexpected argument '{}'\n{}", a, kUsage);
      return kExitBadInput;
    } else {
      q.text = a;
      have_text = true;
    }
  }
  if (batch_file) {
    if (mode != "prove" || have_text || !q.assumes.empty() || !q.ranges.empty()) {
      err += fmt::format("symtrace sym: --batch goes alone with prove\n{}", kUsage);
      return kExitBadInput;
    }
    return batch(*batch_file, out, err);
  }
  if (!have_text) {
    err += fmt::format("symtrace sym: {} needs an {}\n{}", mode, mode == "prove" ? "FACT" : "EXPR", kUsage);
    return kExitBadInput;
  }
  try {
    out += mode == "prove" ? std::string(sym::truth_name(prove(q))) : simplify(q);
    out += '\n';
    return kExitClean;
  } catch (const QueryError& e) {
    err += render_error(e);
  } catch (const diag::Error& e) {
    err += render_error(QueryError{e.diagnostic().message});
  }
  return kExitBadInput;
}

}  // namespace symtrace::cli::sym_cmd

#ifndef SYMTRACE_SYM_CMD_NO_REGISTER  // tests call sym_cmd::run directly
namespace {
int run_sym(std::span<const std::string> args) {
  std::string out, err;
  const int rc = symtrace::cli::sym_cmd::run(args, out, err);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fwrite(err.data(), 1, err.size(), stderr);
  return rc;
}
static symtrace::cli::RegisterCommand reg{{"sym", "simplify expressions and prove facts about symbolic sizes", &run_sym}};
}  // namespace
#endif
