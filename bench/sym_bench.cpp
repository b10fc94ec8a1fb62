// sym: interning, canonicalisation, decide and bind (issue #2 goals: <= 100 ns per
// interned binary node from cached children, <= 2 us median decide on the batch mix,
// <= 128 bytes per node). Run with --benchmark_repetitions=5 --benchmark_report_aggregates_only
// for medians. No baseline library exists for this: the figures stand alone.
#include <filesystem>
#include <fstream>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <symtrace/sym/parser.hpp>
#include <symtrace/sym/shape_env.hpp>

namespace {
using namespace symtrace::sym;

const Expr kA = Expr::symbol(0, "a"), kB = Expr::symbol(1, "b");

// a + b from two cached symbols: canonical merge, hash, one probe of an existing node.
void BM_InternAddOfCachedChildren(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(kA + kB);
}
BENCHMARK(BM_InternAddOfCachedChildren);

// floordiv(a, b) with a symbolic divisor: no rewriting, just the interned lookup.
void BM_InternFloorDivOfCachedChildren(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(floordiv(kA, kB));
}
BENCHMARK(BM_InternFloorDivOfCachedChildren);

// A product a*b*k of cached children (a kMul node).
void BM_InternMulOfCachedChildren(benchmark::State& state) {
  const Expr ab = kA * kB;
  for (auto _ : state) benchmark::DoNotOptimize(ab * 3);
}
BENCHMARK(BM_InternMulOfCachedChildren);

// sum_{i<10} (i+1) * s_i * s_{i+1}, built term by term and canonicalised.
void BM_TenTermPolynomial(benchmark::State& state) {
  std::vector<Expr> s;
  for (std::uint32_t i = 0; i < 11; ++i) s.push_back(Expr::symbol(i, fmt::format("s{}", i)));
  for (auto _ : state) {
    Expr p = 0;
    for (int i = 9; i >= 0; --i) p = p + s[static_cast<std::size_t>(i)] * s[static_cast<std::size_t>(i) + 1] * (i + 1);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_TenTermPolynomial);

void BM_SymIntConcreteArithmetic(benchmark::State& state) {
  SymInt x = 4096;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    benchmark::DoNotOptimize(floordiv(x * 3 + 128, SymInt(64)));
  }
}
BENCHMARK(BM_SymIntConcreteArithmetic);

void BM_DecideDivisibility(benchmark::State& state) {
  ShapeEnv env;
  const Expr b = env.new_symbol("B", "input x dim 0");
  const Expr h = env.new_symbol("hidden", "config.hidden_size", SymbolKind::kConfig);
  env.assume(divisible(h, 128));
  const Cond c = eq(mod(h * b, 64), 0);
  for (auto _ : state) benchmark::DoNotOptimize(env.decide(c));
}
BENCHMARK(BM_DecideDivisibility);

void BM_DecideRange(benchmark::State& state) {
  ShapeEnv env;
  const Expr x = env.new_symbol("x", "t", SymbolKind::kInputSize, Range{0, 9});
  const Expr y = env.new_symbol("y", "t", SymbolKind::kInputSize, Range{0, 9});
  const Expr n = env.new_symbol("n", "t");
  env.assume(ge(n, 128));
  const Cond c = le(x * y + floordiv(n, 64), n + 81);
  for (auto _ : state) benchmark::DoNotOptimize(env.decide(c));
}
BENCHMARK(BM_DecideRange);

// decide() alone over every row of tests/sym/data/prove_mix.jsonl (envs built once).
void BM_DecideProveMix(benchmark::State& state) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "../tests/sym/data/prove_mix.jsonl";
  std::ifstream in(path);
  std::vector<std::unique_ptr<ShapeEnv>> envs;
  std::vector<Cond> conds;
  std::string line;
  while (std::getline(in, line)) {
    const auto v = boost::json::parse(line).as_object();
    auto env = std::make_unique<ShapeEnv>();
    if (const auto* r = v.if_contains("range"))
      for (const auto& [n, b] : r->as_object()) {
        auto end = [](const boost::json::value& x) {
          return x.is_null() ? std::nullopt : std::optional<std::int64_t>(x.to_number<std::int64_t>());
        };
        env->new_symbol(std::string(n), "range", SymbolKind::kInputSize, Range{end(b.as_array()[0]), end(b.as_array()[1])});
      }
    auto resolve = resolver_for(*env);
    if (const auto* a = v.if_contains("assume"))
      for (const auto& f : a->as_array()) env->assume(parse_fact(f.as_string(), resolve).cond);
    conds.push_back(parse_fact(v.at("fact").as_string(), resolve).cond);
    envs.push_back(std::move(env));
  }
  if (conds.empty()) {
    state.SkipWithError("prove_mix.jsonl not found");
    return;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(envs[i]->decide(conds[i]));
    if (++i == conds.size()) i = 0;
  }
  state.counters["queries"] = static_cast<double>(conds.size());
}
BENCHMARK(BM_DecideProveMix);

void BM_BindTwentyGuards(benchmark::State& state) {
  ShapeEnv env;
  std::vector<Expr> s;
  for (int i = 0; i < 5; ++i) s.push_back(env.new_symbol(fmt::format("s{}", i), fmt::format("input dim {}", i)));
  env.assume(divisible(s[0], 16));
  for (int i = 0; i < 20; ++i) env.require(le(s[i % 5] * (i + 1), 100000 + i), fmt::format("guard {}", i));
  const std::map<std::string, std::int64_t, std::less<>> values{{"s0", 64}, {"s1", 2}, {"s2", 3}, {"s3", 4}, {"s4", 5}};
  for (auto _ : state) benchmark::DoNotOptimize(env.bind(values));
  state.counters["guards"] = static_cast<double>(env.guards().size());
}
BENCHMARK(BM_BindTwentyGuards);

// Memory per interned node: fresh binary sums c*a + b (two new nodes each).
void BM_BytesPerNode(benchmark::State& state) {
  std::int64_t c = 1'000'000'000;
  const InternStats before = intern_stats();
  for (auto _ : state) benchmark::DoNotOptimize(kA * c++ + kB);
  const InternStats after = intern_stats();
  const auto nodes = static_cast<double>(after.nodes - before.nodes);
  state.counters["bytes_per_node"] = nodes > 0 ? static_cast<double>(after.bytes - before.bytes) / nodes : 0;
  state.counters["nodes"] = nodes;
}
BENCHMARK(BM_BytesPerNode)->Iterations(200000);

}  // namespace

BENCHMARK_MAIN();
