// fmt formatters for Expr, SymInt, Cond, Truth and Range:  fmt::format("{}", n * 4 + 1),
// and ostream << for the same types (GoogleTest prints values with it).
// A separate header so the rest of sym's public headers stay free of fmt and iostreams.
#pragma once

#include <ostream>

#include <fmt/format.h>

#include <symtrace/sym/cond.hpp>
#include <symtrace/sym/expr.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/sym/sym_int.hpp>

template <>
struct fmt::formatter<symtrace::sym::Expr> : fmt::formatter<std::string_view> {
  auto format(const symtrace::sym::Expr& e, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(e.str(), ctx);
  }
};

template <>
struct fmt::formatter<symtrace::sym::SymInt> : fmt::formatter<std::string_view> {
  auto format(const symtrace::sym::SymInt& e, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(e.str(), ctx);
  }
};

template <>
struct fmt::formatter<symtrace::sym::Cond> : fmt::formatter<std::string_view> {
  auto format(const symtrace::sym::Cond& c, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(c.str(), ctx);
  }
};

template <>
struct fmt::formatter<symtrace::sym::Truth> : fmt::formatter<std::string_view> {
  auto format(symtrace::sym::Truth t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(symtrace::sym::truth_name(t), ctx);
  }
};

template <>
struct fmt::formatter<symtrace::sym::Range> : fmt::formatter<std::string_view> {
  auto format(const symtrace::sym::Range& r, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(r.str(), ctx);
  }
};

namespace symtrace::sym {
inline std::ostream& operator<<(std::ostream& os, const Expr& e) { return os << e.str(); }
inline std::ostream& operator<<(std::ostream& os, const SymInt& e) { return os << e.str(); }
inline std::ostream& operator<<(std::ostream& os, const Cond& c) { return os << c.str(); }
inline std::ostream& operator<<(std::ostream& os, Truth t) { return os << truth_name(t); }
inline std::ostream& operator<<(std::ostream& os, const Range& r) { return os << r.str(); }
}  // namespace symtrace::sym
