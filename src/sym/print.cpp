// Readable forms: "batch*seq + 4", "floordiv(hidden, 128)", "ceildiv(N, 64)". The output
// parses back (symtrace sym syntax) to the same canonical expression.
#include <string>

#include <fmt/format.h>

#include "sym/algebra.hpp"

namespace symtrace::sym {
namespace {

using detail::TermView;

void print(Expr e, std::string& out);

// |v| as text, also for INT64_MIN.
std::string abs_text(std::int64_t v) {
  std::string s = std::to_string(v);
  return v < 0 ? s.substr(1) : s;
}

bool leading_negative(Expr e) {
  TermView v(e);
  return v.size() ? v.coef(0) < 0 : v.c0() < 0;
}

void print_atom(Expr a, std::string& out);

// sign * e as a sum; sign is +1 or -1 (so -e prints without building a node).
void print_sum(Expr e, int sign, std::string& out) {
  TermView v(e);
  bool first = true;
  auto emit_sign = [&](bool negative) {
    if (first) {
      if (negative) out += '-';
    } else {
      out += negative ? " - " : " + ";
    }
    first = false;
  };
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::int64_t c = v.coef(i);
    auto f = v.factors(i);
    bool negative = (c < 0) != (sign < 0);
    // c*floordiv(A, B) with c < 0 and A leading negative reads better as |c|*ceildiv(-A, B).
    bool as_ceil = f.size() == 1 && f[0].kind() == ExprKind::kFloorDiv && negative &&
                   leading_negative(f[0].children()[0]);
    emit_sign(as_ceil ? false : negative);
    if (c != 1 && c != -1) out += abs_text(c) + "*";
    for (std::size_t j = 0; j < f.size(); ++j) {
      if (j) out += '*';
      if (as_ceil) {
        out += "ceildiv(";
        print_sum(f[0].children()[0], -1, out);
        out += ", ";
        print(f[0].children()[1], out);
        out += ')';
      } else {
        print_atom(f[j], out);
      }
    }
  }
  const std::int64_t c0 = v.c0();
  if (c0 != 0 || first) {
    emit_sign((c0 < 0) != (sign < 0) && c0 != 0);
    out += abs_text(c0);
  }
}

void print_atom(Expr a, std::string& out) {
  const char* fn = nullptr;
  switch (a.kind()) {
    case ExprKind::kSymbol: out += a.symbol_name(); return;
    case ExprKind::kFloorDiv: fn = "floordiv"; break;
    case ExprKind::kMod: fn = "mod"; break;
    case ExprKind::kMin: fn = "min"; break;
    case ExprKind::kMax: fn = "max"; break;
    default: print_sum(a, 1, out); return;
  }
  out += fn;
  out += '(';
  print(a.children()[0], out);
  out += ", ";
  print(a.children()[1], out);
  out += ')';
}

void print(Expr e, std::string& out) { print_sum(e, 1, out); }

}  // namespace

std::string Expr::str() const {
  std::string out;
  print(*this, out);
  return out;
}

}  // namespace symtrace::sym
