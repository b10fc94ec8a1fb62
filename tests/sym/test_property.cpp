// Soundness property test: random expressions (depth <= 6, 5 symbols, every operator) over
// random facts, evaluated on random bindings that satisfy the facts.
//   - evaluate(canonical) == evaluate(naive tree) and evaluate(simplify) == the same,
//     wherever the naive tree is defined (no division by zero, no int64 overflow);
//   - the value lies in bounds() and in the residue class of modulus();
//   - decide(cond) never contradicts a sampled binding;
//   - bind() accepts every sampled binding.
// SYMTRACE_PROPERTY_CASES sets the number of expressions (default 200,000; 20,000 under
// AddressSanitizer, which runs ~10x slower: the sanitizer run hunts memory errors, the
// release run hunts wrong answers). SYMTRACE_PROPERTY_SEED replays a run; without it
// every run (and every --gtest_repeat) draws a new seed, printed on failure.
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/format.hpp>
#include <symtrace/sym/shape_env.hpp>

#if defined(__SANITIZE_ADDRESS__)
#define SYMTRACE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYMTRACE_ASAN 1
#endif
#endif

namespace symtrace::sym {
namespace {

constexpr int kSymbols = 5;
constexpr int kExprsPerEnv = 8;
constexpr int kBindingTries = 24;

std::int64_t env_int(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoll(v, nullptr, 10) : fallback;
}

// The naive tree: the operators as written, Python semantics, no rewriting at all.
struct Naive {
  enum Op { kConst, kSym, kAdd, kSub, kMul, kNeg, kFloorDiv, kMod, kCeilDiv, kMin, kMax } op;
  std::int64_t value = 0;  // constant, or symbol index
  std::vector<Naive> kids;
};

using Values = std::array<std::int64_t, kSymbols>;

std::optional<std::int64_t> eval(const Naive& n, const Values& v) {
  if (n.op == Naive::kConst) return n.value;
  if (n.op == Naive::kSym) return v[static_cast<std::size_t>(n.value)];
  auto a = eval(n.kids[0], v);
  if (!a) return std::nullopt;
  if (n.op == Naive::kNeg) {
    if (*a == INT64_MIN) return std::nullopt;
    return -*a;
  }
  auto b = eval(n.kids[1], v);
  if (!b) return std::nullopt;
  std::int64_t r = 0;
  switch (n.op) {
    case Naive::kAdd: if (__builtin_add_overflow(*a, *b, &r)) return std::nullopt; return r;
    case Naive::kSub: if (__builtin_sub_overflow(*a, *b, &r)) return std::nullopt; return r;
    case Naive::kMul: if (__builtin_mul_overflow(*a, *b, &r)) return std::nullopt; return r;
    case Naive::kMin: return std::min(*a, *b);
    case Naive::kMax: return std::max(*a, *b);
    default: break;
  }
  if (*b == 0 || (*b == -1 && *a == INT64_MIN)) return std::nullopt;
  auto fdiv = [](std::int64_t x, std::int64_t y) {
    std::int64_t q = x / y;
    return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
  };
  switch (n.op) {
    case Naive::kFloorDiv: return fdiv(*a, *b);
    case Naive::kMod: return *a - *b * fdiv(*a, *b);
    case Naive::kCeilDiv: if (*a == INT64_MIN) return std::nullopt; return -fdiv(-*a, *b);
    default: return std::nullopt;
  }
}

std::string text(const Naive& n, const std::vector<std::string>& names) {
  auto k = [&](int i) { return text(n.kids[static_cast<std::size_t>(i)], names); };
  switch (n.op) {
    case Naive::kConst: return n.value < 0 ? fmt::format("({})", n.value) : std::to_string(n.value);
    case Naive::kSym: return names[static_cast<std::size_t>(n.value)];
    case Naive::kAdd: return fmt::format("({} + {})", k(0), k(1));
    case Naive::kSub: return fmt::format("({} - {})", k(0), k(1));
    case Naive::kMul: return fmt::format("({} * {})", k(0), k(1));
    case Naive::kNeg: return fmt::format("(-{})", k(0));
    case Naive::kFloorDiv: return fmt::format("floordiv({}, {})", k(0), k(1));
    case Naive::kMod: return fmt::format("mod({}, {})", k(0), k(1));
    case Naive::kCeilDiv: return fmt::format("ceildiv({}, {})", k(0), k(1));
    case Naive::kMin: return fmt::format("min({}, {})", k(0), k(1));
    case Naive::kMax: return fmt::format("max({}, {})", k(0), k(1));
  }
  return "?";
}

// Builds the same expression through the canonicalising constructors.
Expr build(const Naive& n, const std::vector<Expr>& syms) {
  if (n.op == Naive::kConst) return Expr(n.value);
  if (n.op == Naive::kSym) return syms[static_cast<std::size_t>(n.value)];
  Expr a = build(n.kids[0], syms);
  if (n.op == Naive::kNeg) return -a;
  Expr b = build(n.kids[1], syms);
  switch (n.op) {
    case Naive::kAdd: return a + b;
    case Naive::kSub: return a - b;
    case Naive::kMul: return a * b;
    case Naive::kFloorDiv: return floordiv(a, b);
    case Naive::kMod: return mod(a, b);
    case Naive::kCeilDiv: return ceildiv(a, b);
    case Naive::kMin: return min(a, b);
    default: return max(a, b);
  }
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(v.size()) - 1))]; }

  std::int64_t divisor() {
    static const std::vector<std::int64_t> ds = {2, 2, 3, 4, 4, 8, 16, 32, 64, 128, 5, 7, -2, -4, -3, 1};
    return pick(ds);
  }

  Naive leaf() {
    if (chance(0.6)) return {Naive::kSym, uniform(0, kSymbols - 1), {}};
    return {Naive::kConst, chance(0.5) ? uniform(-8, 16) : uniform(-70, 140), {}};
  }

  Naive expr(int depth) {
    if (depth == 0 || chance(0.25)) return leaf();
    const int op = static_cast<int>(uniform(0, 9));
    auto sub = [&] { return expr(depth - 1); };
    switch (op) {
      case 0: case 1: return {Naive::kAdd, 0, {sub(), sub()}};
      case 2: return {Naive::kSub, 0, {sub(), sub()}};
      case 3: {  // keep products from overflowing: one side is usually small
        Naive small = chance(0.6) ? Naive{Naive::kConst, uniform(-6, 130), {}} : leaf();
        return {Naive::kMul, 0, chance(0.5) ? std::vector{small, sub()} : std::vector{sub(), small}};
      }
      case 4: return {Naive::kNeg, 0, {sub()}};
      case 5:
      case 6:
      case 7: {
        const Naive::Op ops[] = {Naive::kFloorDiv, Naive::kMod, Naive::kCeilDiv};
        Naive d = chance(0.75) ? Naive{Naive::kConst, divisor(), {}} : expr(std::min(depth - 1, 2));
        return {ops[op - 5], 0, {sub(), d}};
      }
      case 8: return {Naive::kMin, 0, {sub(), sub()}};
      default: return {Naive::kMax, 0, {sub(), sub()}};
    }
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

// evaluate() of a symtrace Expr: the value, or the error code.
struct Eval {
  std::optional<std::int64_t> value;
  std::string error;
};
Eval eval_expr(Expr e, const Values& v) {
  try {
    return {evaluate(e, [&](std::uint32_t id) { return std::optional(v[id]); }), {}};
  } catch (const diag::Error& err) {
    return {std::nullopt, err.diagnostic().code};
  }
}

// One environment: symbols with ranges, facts true at a witness binding, and a few more
// bindings that satisfy every fact.
struct World {
  ShapeEnv env;
  std::vector<Expr> syms;
  std::vector<std::string> names;
  std::vector<Cond> facts;  // as assumed, for describing a failure
  std::vector<Values> bindings;
};

void make_world(Generator& g, World& w) {
  Values witness{};
  std::array<Range, kSymbols> ranges;
  for (int i = 0; i < kSymbols; ++i) {
    const auto kind = g.uniform(0, 4);
    Range r = kind <= 1 ? Range::size() : kind == 2 ? Range{0, std::nullopt} : kind == 3 ? Range::unbounded()
                                                                        : Range{g.uniform(-20, 5), g.uniform(6, 60)};
    ranges[static_cast<std::size_t>(i)] = r;
    std::int64_t lo = r.lo ? std::max<std::int64_t>(*r.lo, -30) : -30;
    std::int64_t hi = r.hi ? std::min<std::int64_t>(*r.hi, 60) : 60;
    witness[static_cast<std::size_t>(i)] = g.uniform(lo, hi);
    w.names.push_back(fmt::format("s{}", i));
    w.syms.push_back(w.env.new_symbol(w.names.back(), fmt::format("test symbol {}", i), SymbolKind::kInputSize, r));
  }
  // s4 may be defined by an equality over the others; the witness follows it.
  const bool defined = g.chance(0.3);
  if (defined) {
    const std::int64_t a = g.pick(std::vector<std::int64_t>{1, 2, 4, -1, 3}), b = g.uniform(-3, 3);
    const auto j = static_cast<std::size_t>(g.uniform(0, 3));
    if (ranges[4].contains(a * witness[j] + b)) {
      witness[4] = a * witness[j] + b;
      w.facts.push_back(eq(w.syms[4], w.syms[j] * a + b));
    }
  }
  const int nfacts = static_cast<int>(g.uniform(0, 4));
  for (int f = 0; f < nfacts; ++f) {
    const auto i = static_cast<std::size_t>(g.uniform(0, kSymbols - 1));
    const auto j = static_cast<std::size_t>(g.uniform(0, kSymbols - 1));
    const Expr x = w.syms[i], y = w.syms[j];
    const std::int64_t vx = witness[i], vy = witness[j];
    const std::int64_t m = g.pick(std::vector<std::int64_t>{2, 3, 4, 8, 16, 64});
    switch (g.uniform(0, 9)) {
      case 0: w.facts.push_back(eq(mod(x, m), py_mod(vx, m))); break;
      case 1: w.facts.push_back(le(x, vx + g.uniform(0, 10))); break;
      case 2: w.facts.push_back(ge(x, vx - g.uniform(0, 10))); break;
      case 3: if (i != j) w.facts.push_back(le(x, y + (vx - vy) + g.uniform(0, 3))); break;
      case 4: w.facts.push_back(eq(mod(x * y, m), py_mod(vx * vy, m))); break;
      case 5: w.facts.push_back(eq(mod(x + y, m), py_mod(vx + vy, m))); break;
      case 6: w.facts.push_back(le(x * y, vx * vy + g.uniform(0, 20))); break;
      case 7: w.facts.push_back(ge(floordiv(x, m), py_floordiv(vx, m) - g.uniform(0, 1))); break;
      case 8: if (i != j && vy != 0) w.facts.push_back(eq(mod(x, y), py_mod(vx, vy))); break;  // symbolic modulus
      default: w.facts.push_back(ge(x * y, vx * vy - g.uniform(0, 3))); break;
    }
  }
  for (const Cond& c : w.facts) w.env.assume(c);  // true at the witness: never a contradiction

  auto satisfies = [&](const Values& v) {
    for (int i = 0; i < kSymbols; ++i)
      if (!ranges[static_cast<std::size_t>(i)].contains(v[static_cast<std::size_t>(i)])) return false;
    for (const Cond& c : w.facts) {
      Eval lv = eval_expr(c.lhs(), v), rv = eval_expr(c.rhs(), v);
      if (!lv.value || !rv.value) return false;  // a fact undefined there (mod by 0)
      const bool ok = c.op() == CondOp::kEq ? lv.value == rv.value : c.op() == CondOp::kLe ? lv.value <= rv.value
                                                                                            : lv.value >= rv.value;
      if (!ok) return false;
    }
    return true;
  };
  w.bindings.push_back(witness);
  for (int t = 0; t < kBindingTries; ++t) {
    Values v = witness;
    for (int i = 0; i < kSymbols; ++i) {
      auto& x = v[static_cast<std::size_t>(i)];
      if (g.chance(0.5)) x += g.pick(std::vector<std::int64_t>{1, 2, 3, 4, 8, 16, 64}) * g.uniform(-3, 3);
      else if (g.chance(0.5)) x = g.uniform(-30, 60);
    }
    if (defined) {
      // recompute s4 from its equality, if it was kept
      for (const Cond& c : w.facts)
        if (c.op() == CondOp::kEq && c.lhs() == w.syms[4])
          v[4] = evaluate(c.rhs(), [&](std::uint32_t id) { return std::optional(v[id]); });
    }
    if (satisfies(v)) w.bindings.push_back(v);
  }
}

std::string describe(const World& w) {
  std::string s = "symbols:";
  for (const auto* info : w.env.symbols()) s += fmt::format(" {} in {};", info->name, info->range.str());
  s += "\nfacts:";
  for (const Cond& c : w.facts) s += fmt::format(" [{}]", c);
  return s;
}

std::string binding_text(const World& w, const Values& v) {
  std::string s;
  for (int i = 0; i < kSymbols; ++i) s += fmt::format("{}={} ", w.names[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(i)]);
  return s;
}

const char* op_text(CondOp op) {
  switch (op) {
    case CondOp::kEq: return "==";
    case CondOp::kNe: return "!=";
    case CondOp::kLt: return "<";
    case CondOp::kLe: return "<=";
    case CondOp::kGt: return ">";
    default: return ">=";
  }
}

bool holds(CondOp op, std::int64_t a, std::int64_t b) {
  switch (op) {
    case CondOp::kEq: return a == b;
    case CondOp::kNe: return a != b;
    case CondOp::kLt: return a < b;
    case CondOp::kLe: return a <= b;
    case CondOp::kGt: return a > b;
    default: return a >= b;
  }
}

TEST(SymProperty, SimplifyAndDecideAgreeWithNaiveEvaluation) {
#ifdef SYMTRACE_ASAN
  const std::int64_t default_cases = 20'000;
#else
  const std::int64_t default_cases = 200'000;
#endif
  const std::int64_t cases = env_int("SYMTRACE_PROPERTY_CASES", default_cases);
  const auto seed = static_cast<std::uint64_t>(env_int("SYMTRACE_PROPERTY_SEED", static_cast<std::int64_t>(std::random_device{}() >> 1)));
  Generator g(seed);
  std::int64_t compared = 0, overflow = 0, decided = 0, checks = 0;
  int failures = 0;
  auto fail = [&](const World& w, std::string what) {
    ADD_FAILURE() << "seed " << seed << " (SYMTRACE_PROPERTY_SEED=" << seed << ")\n" << describe(w) << "\n" << what;
    return ++failures >= 5;
  };
  const CondOp ops[] = {CondOp::kEq, CondOp::kNe, CondOp::kLt, CondOp::kLe, CondOp::kGt, CondOp::kGe};
  for (std::int64_t done = 0; done < cases && failures < 5;) {
    World w;
    make_world(g, w);
    for (const Values& v : w.bindings) {  // bind() accepts every satisfying binding
      std::map<std::string, std::int64_t, std::less<>> named;
      for (int i = 0; i < kSymbols; ++i) named[w.names[static_cast<std::size_t>(i)]] = v[static_cast<std::size_t>(i)];
      try {
        w.env.bind(named);
      } catch (const diag::Error& e) {
        if (fail(w, fmt::format("bind rejected a satisfying binding {}: {}", binding_text(w, v), e.what()))) return;
      }
    }
    for (int k = 0; k < kExprsPerEnv && done < cases; ++k, ++done) {
      const Naive n = g.expr(static_cast<int>(g.uniform(1, 6)));
      Expr canon, simple;
      try {
        canon = build(n, w.syms);
        verify(canon);
        simple = w.env.simplify(canon);
        verify(simple);
      } catch (const diag::Error& e) {
        if (e.diagnostic().code == "overflow" || e.diagnostic().code == "division-by-zero") continue;  // constant folding met it
        if (fail(w, fmt::format("building {} threw {}", text(n, w.names), e.what()))) return;
        continue;
      }
      // bounds() and modulus() must contain every value the expression takes.
      const Range range = w.env.bounds(canon);
      const auto [modulus, residue] = w.env.modulus(canon);
      for (const Values& v : w.bindings) {
        auto want = eval(n, v);
        if (!want) continue;
        const bool in_class = modulus == 0 ? *want == residue : py_mod(*want, modulus) == py_mod(residue, modulus);
        if ((!range.contains(*want) || !in_class) &&
            fail(w, fmt::format("{}\n  canonical {}\n  at {}: value {} but bounds {} and {} mod {}", text(n, w.names),
                                canon, binding_text(w, v), *want, range, residue, modulus)))
          return;
        for (Expr e : {canon, simple}) {
          Eval got = eval_expr(e, v);
          if (!got.value && got.error == "overflow") {
            ++overflow;  // a canonical polynomial can overflow where the written form did not
            continue;
          }
          ++compared;
          if (got.value != want &&
              fail(w, fmt::format("{}\n  canonical {}\n  simplified {}\n  at {}: naive {} but {} gives {}",
                                  text(n, w.names), canon, simple, binding_text(w, v), *want, e,
                                  got.value ? std::to_string(*got.value) : got.error)))
            return;
        }
      }
      // decide: a random comparison of this expression with another one or a constant
      const Naive rhs = g.chance(0.5) ? Naive{Naive::kConst, g.uniform(-10, 70), {}} : g.expr(static_cast<int>(g.uniform(0, 3)));
      const CondOp op = ops[g.uniform(0, 5)];
      Truth t;
      try {
        if (std::getenv("PDEBUG")) fmt::print(stderr, "DECIDE {}\n{}\n", Cond(op, canon, build(rhs, w.syms)), describe(w));
        t = w.env.decide(Cond(op, canon, build(rhs, w.syms)));
      } catch (const diag::Error& e) {
        if (e.diagnostic().code == "overflow" || e.diagnostic().code == "division-by-zero") continue;
        if (fail(w, fmt::format("decide threw {}", e.what()))) return;
        continue;
      }
      if (t == Truth::kUnknown) continue;
      ++decided;
      for (const Values& v : w.bindings) {
        auto a = eval(n, v), b = eval(rhs, v);
        if (!a || !b) continue;
        ++checks;
        if (holds(op, *a, *b) != (t == Truth::kTrue) &&
            fail(w, fmt::format("decide({} {} {}) = {} but at {} the sides are {} and {}", text(n, w.names),
                                op_text(op), text(rhs, w.names), t, binding_text(w, v), *a, *b)))
          return;
      }
    }
  }
  std::printf("[ property ] interned nodes: %zu\n", intern_stats().nodes);
  std::printf("[ property ] seed %llu: %lld expressions, %lld evaluations compared, %lld overflowed, "
              "%lld decisions checked against %lld bindings\n",
              static_cast<unsigned long long>(seed), static_cast<long long>(cases), static_cast<long long>(compared),
              static_cast<long long>(overflow), static_cast<long long>(decided), static_cast<long long>(checks));
  EXPECT_GT(compared, cases);  // the bindings really exercised the expressions
}

}  // namespace
}  // namespace symtrace::sym
