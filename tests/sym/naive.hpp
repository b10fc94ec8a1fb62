// Test helper: a naive evaluator of the `symtrace sym` text syntax, independent of the
// canonical forms under test. Python semantics for // and %, checked int64 arithmetic;
// nullopt where the expression is undefined (division by zero) or overflows.
#pragma once

#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace symtrace::sym::testing {

using NaiveBinding = std::map<std::string, std::int64_t, std::less<>>;

class NaiveEval {
 public:
  NaiveEval(std::string_view text, const NaiveBinding& b) : s_(text), b_(b) {}

  // The value of an expression, or of a fact as 0/1.
  std::optional<std::int64_t> fact() {
    auto l = expr();
    skip();
    std::string_view op;
    for (const char* c : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (s_.substr(i_, std::string_view(c).size()) == c) {
        op = c;
        break;
      }
    }
    if (op.empty()) return end(l);
    i_ += op.size();
    auto r = expr();
    if (!l || !r) return end(std::nullopt);
    const bool v = op == "==" ? *l == *r : op == "!=" ? *l != *r : op == "<=" ? *l <= *r
                 : op == ">=" ? *l >= *r : op == "<" ? *l < *r : *l > *r;
    return end(v ? 1 : 0);
  }

 private:
  using V = std::optional<std::int64_t>;
  V end(V v) {
    skip();
    if (i_ != s_.size()) throw std::invalid_argument("naive: trailing text in " + std::string(s_));
    return v;
  }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(std::string_view t) {
    skip();
    if (s_.substr(i_, t.size()) != t) return false;
    i_ += t.size();
    return true;
  }
  static V add(V a, V b, int sign) {
    std::int64_t r;
    if (!a || !b) return std::nullopt;
    if (sign > 0 ? __builtin_add_overflow(*a, *b, &r) : __builtin_sub_overflow(*a, *b, &r)) return std::nullopt;
    return r;
  }
  static V mul(V a, V b) {
    std::int64_t r;
    if (!a || !b || __builtin_mul_overflow(*a, *b, &r)) return std::nullopt;
    return r;
  }
  static V fdiv(V a, V b) {
    if (!a || !b || *b == 0 || (*a == INT64_MIN && *b == -1)) return std::nullopt;
    std::int64_t q = *a / *b;
    return (*a % *b != 0 && ((*a < 0) != (*b < 0))) ? q - 1 : q;
  }
  static V fmod(V a, V b) {
    auto q = fdiv(a, b);
    if (!q) return std::nullopt;
    return add(a, mul(b, q), -1);
  }
  V expr() {
    V v = term();
    for (;;) {
      skip();
      if (s_.substr(i_, 1) == "+") {
        ++i_, v = add(v, term(), 1);
      } else if (s_.substr(i_, 1) == "-") {
        ++i_, v = add(v, term(), -1);
      } else {
        return v;
      }
    }
  }
  V term() {
    V v = unary();
    for (;;) {
      if (eat("//")) {
        v = fdiv(v, unary());
      } else if (eat("*")) {
        v = mul(v, unary());
      } else if (eat("%")) {
        v = fmod(v, unary());
      } else {
        return v;
      }
    }
  }
  V unary() {
    if (eat("-")) return mul(unary(), V(-1));
    return primary();
  }
  V primary() {
    skip();
    if (eat("(")) {
      V v = expr();
      if (!eat(")")) throw std::invalid_argument("naive: expected )");
      return v;
    }
    std::size_t j = i_;
    if (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) {
      while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
      const std::int64_t v = std::stoll(std::string(s_.substr(i_, j - i_)));
      i_ = j;
      return v;
    }
    while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_' || s_[j] == '.')) ++j;
    const std::string name(s_.substr(i_, j - i_));
    if (name.empty()) throw std::invalid_argument("naive: unexpected text in " + std::string(s_));
    i_ = j;
    if (!eat("(")) {
      auto it = b_.find(name);
      if (it == b_.end()) throw std::invalid_argument("naive: unbound " + name);
      return it->second;
    }
    V a = expr();
    if (!eat(",")) throw std::invalid_argument("naive: expected ,");
    V b = expr();
    if (!eat(")")) throw std::invalid_argument("naive: expected )");
    if (name == "min") return a && b ? V(std::min(*a, *b)) : std::nullopt;
    if (name == "max") return a && b ? V(std::max(*a, *b)) : std::nullopt;
    if (name == "floordiv") return fdiv(a, b);
    if (name == "mod") return fmod(a, b);
    if (name == "ceildiv") return mul(fdiv(mul(a, V(-1)), b), V(-1));
    throw std::invalid_argument("naive: unknown function " + name);
  }

  std::string_view s_;
  const NaiveBinding& b_;
  std::size_t i_ = 0;
};

inline std::optional<std::int64_t> naive_eval(std::string_view text, const NaiveBinding& b) {
  return NaiveEval(text, b).fact();
}

}  // namespace symtrace::sym::testing
