// Test helper: random bindings that satisfy textual facts, for checking a rewrite or a
// decision against the naive evaluator. Symbols default to sizes (>= 1), as in the CLI.
#pragma once

#include <optional>
#include <random>
#include <string>
#include <vector>

#include <symtrace/sym/shape_env.hpp>

#include "naive.hpp"

namespace symtrace::sym::testing {

struct Precondition {
  std::vector<std::string> assume;  // facts in the text syntax
  std::vector<std::pair<std::string, Range>> ranges;
};

// Up to `want` bindings of `names` satisfying p, drawn from [-40, 260] (clipped to each
// range). A fact "x == e" with x a lone name defines x from the others.
inline std::vector<NaiveBinding> sample_bindings(const std::vector<std::string>& names, const Precondition& p,
                                                 std::mt19937_64& rng, int want = 40, int tries = 4000) {
  auto range_of = [&](const std::string& n) {
    for (const auto& [name, r] : p.ranges)
      if (name == n) return r;
    return Range::size();
  };
  std::vector<std::pair<std::string, std::string>> defs;  // x == e
  for (const auto& a : p.assume) {
    auto eq = a.find("==");
    if (eq == std::string::npos) continue;
    std::string lhs = a.substr(0, eq);
    while (!lhs.empty() && lhs.back() == ' ') lhs.pop_back();
    bool is_name = !lhs.empty();
    for (char c : lhs) is_name &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (is_name) defs.emplace_back(lhs, a.substr(eq + 2));
  }
  std::vector<NaiveBinding> out;
  for (int t = 0; t < tries && static_cast<int>(out.size()) < want; ++t) {
    NaiveBinding b;
    for (const auto& n : names) {
      const Range r = range_of(n);
      const std::int64_t lo = r.lo ? std::max<std::int64_t>(*r.lo, -40) : -40;
      const std::int64_t hi = r.hi ? std::min<std::int64_t>(*r.hi, 260) : 260;
      if (lo > hi) return out;
      // bias toward small values and multiples of powers of two, where the rules bite
      std::int64_t v = std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
      if (t % 3 == 1) v = std::clamp<std::int64_t>(v - v % 16, lo, hi);
      b[n] = v;
    }
    bool ok = true;
    for (const auto& [x, e] : defs) {
      auto v = naive_eval(e, b);
      if (!v) ok = false;
      else b[x] = *v;
    }
    for (const auto& n : names) ok = ok && range_of(n).contains(b[n]);
    for (const auto& a : p.assume) {
      auto v = ok ? naive_eval(a, b) : std::nullopt;
      ok = ok && v && *v == 1;
    }
    if (ok) out.push_back(b);
  }
  return out;
}

}  // namespace symtrace::sym::testing
