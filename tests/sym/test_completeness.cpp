// Completeness: the mixed table tests/sym/data/prove_mix.jsonl (identities, ranges,
// divisibility, floor/ceil division, min/max, facts from assumptions, and facts whose only
// right answer is unknown), the same file `symtrace sym prove --batch` reads. Each row has
// "expect". No answer may be wrong; the share decided and the time per query are printed.
// For scale: PyTorch's ShapeEnv decides ~81% of such a mix at ~13 ms per query.
#include <ctime>
#include <fstream>

// Boost.JSON compiled into this test (sym_tests links only symtrace_sym).
#include <boost/json/src.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <symtrace/sym/format.hpp>
#include <symtrace/sym/parser.hpp>
#include <symtrace/sym/shape_env.hpp>

#include "sampling.hpp"

namespace symtrace::sym {
namespace {

struct Row {
  std::string id, fact, expect;
  testing::Precondition pre;
};

std::vector<Row> load_mix() {
  std::ifstream in(std::string(SYMTRACE_SOURCE_DIR) + "/tests/sym/data/prove_mix.jsonl");
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    const auto v = boost::json::parse(line).as_object();
    Row r{std::string(v.at("id").as_string()), std::string(v.at("fact").as_string()),
          std::string(v.at("expect").as_string()), {}};
    if (const auto* a = v.if_contains("assume"))
      for (const auto& f : a->as_array()) r.pre.assume.emplace_back(f.as_string());
    if (const auto* rg = v.if_contains("range")) {
      for (const auto& [name, b] : rg->as_object()) {
        auto end = [](const boost::json::value& x) {
          return x.is_null() ? std::nullopt : std::optional<std::int64_t>(x.to_number<std::int64_t>());
        };
        r.pre.ranges.emplace_back(std::string(name), Range{end(b.as_array()[0]), end(b.as_array()[1])});
      }
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

Truth prove(const Row& r) {
  ShapeEnv env;
  for (const auto& [n, range] : r.pre.ranges) env.new_symbol(n, "range", SymbolKind::kInputSize, range);
  auto resolve = resolver_for(env, "table");
  for (const auto& a : r.pre.assume) env.assume(parse_fact(a, resolve).cond);
  return env.decide(parse_fact(r.fact, resolve).cond);
}

double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

TEST(SymCompleteness, MixedTableIsDecidedWithoutWrongAnswers) {
  const auto rows = load_mix();
  ASSERT_GE(rows.size(), 200u);
  int right = 0, decidable = 0, decided = 0;
  std::string undecided;
  for (const Row& r : rows) {
    const Truth t = prove(r);
    const std::string_view got = truth_name(t);
    if (r.expect != "unknown") ++decidable;
    if (got == r.expect) {
      ++right;
      decided += r.expect != "unknown";
    } else if (t == Truth::kUnknown) {
      undecided += fmt::format("\n  {}: {} (expected {})", r.id, r.fact, r.expect);
    } else {
      ADD_FAILURE() << "WRONG answer " << got << " for " << r.id << ": " << r.fact << " (expected " << r.expect << ")";
    }
  }
  const double pct = 100.0 * right / static_cast<double>(rows.size());
  std::printf("[ complete ] %d/%zu rows answered right (%.1f%%): %d/%d decidable facts decided, %zu rows whose "
              "only right answer is unknown%s\n",
              right, rows.size(), pct, decided, decidable, rows.size() - static_cast<std::size_t>(decidable),
              undecided.c_str());
  EXPECT_GE(pct, 97.0);
}

TEST(SymCompleteness, ExpectedAnswersHoldOnSampledBindings) {
  // Guards the table itself: a "true" row holds, a "false" row fails, on every sampled
  // binding that satisfies its assumptions (so a wrong expectation cannot hide a bug).
  std::mt19937_64 rng(99);
  for (const Row& r : load_mix()) {
    if (r.expect == "unknown") continue;
    ShapeEnv env;
    for (const auto& [n, range] : r.pre.ranges) env.new_symbol(n, "range", SymbolKind::kInputSize, range);
    auto resolve = resolver_for(env, "table");
    for (const auto& a : r.pre.assume) parse_fact(a, resolve);
    parse_fact(r.fact, resolve);
    std::vector<std::string> names;
    for (const auto* s : env.symbols()) names.push_back(s->name);
    for (const auto& b : testing::sample_bindings(names, r.pre, rng, 20, 2000)) {
      const auto v = testing::naive_eval(r.fact, b);
      if (v) {
        EXPECT_EQ(*v, r.expect == "true" ? 1 : 0) << r.id << ": " << r.fact;
      }
    }
  }
}

TEST(SymCompleteness, TimePerQuery) {
  const auto rows = load_mix();
  constexpr int kRounds = 20;
  std::vector<double> per_row;
  const double t0 = cpu_seconds();
  for (const Row& r : rows) {
    const double s = cpu_seconds();
    for (int i = 0; i < kRounds; ++i) prove(r);
    per_row.push_back((cpu_seconds() - s) / kRounds * 1e6);
  }
  const double mean = (cpu_seconds() - t0) / (kRounds * static_cast<double>(rows.size())) * 1e6;
  std::sort(per_row.begin(), per_row.end());
  std::printf("[ complete ] CPU time per query (env + parse + assume + decide): mean %.2f us, median %.2f us, "
              "max %.2f us\n", mean, per_row[per_row.size() / 2], per_row.back());
  EXPECT_LT(per_row[per_row.size() / 2], 1000.0);  // a sanity bound; the figures are printed
}

}  // namespace
}  // namespace symtrace::sym
