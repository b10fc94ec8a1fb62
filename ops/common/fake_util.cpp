#include "ops/common/fake_util.hpp"

#include <fmt/format.h>

namespace symtrace::ops {

void raise(std::string_view op, ShapeError e) { raise(op, {}, std::move(e)); }

void raise(std::string_view op, std::string_view constraint, ShapeError e) {
  diag::Diagnostic d;
  d.constraint = std::string(constraint);
  d.code = std::move(e.code);
  d.op = std::string(op);
  d.argument = std::move(e.argument);
  d.expected = std::move(e.expected);
  d.got = std::move(e.got);
  d.message = std::move(e.message);
  d.proven = e.proven;
  throw diag::Error(std::move(d));
}

std::int64_t wrap_dim(std::string_view op, std::string_view argument, std::int64_t d,
                      std::int64_t rank, std::string_view constraint) {
  const std::int64_t r = rank == 0 ? 1 : rank;
  if (d < -r || d >= r)
    raise(op, constraint, {"dim", std::string(argument), fmt::format("[{}, {}]", -r, r - 1), std::to_string(d),
               fmt::format("Dimension out of range (expected to be in range of [{}, {}], but got "
                           "{})",
                           -r, r - 1, d)});
  return d < 0 ? d + r : d;
}

bool holds(sym::ShapeEnv& env, const sym::Cond& c, std::string reason) {
  return env.require(c, std::move(reason)) != sym::Truth::kFalse;
}

bool proven(const sym::ShapeEnv& env, const sym::Cond& c) {
  return env.decide(c) == sym::Truth::kTrue;
}

bool proven_eq(const sym::ShapeEnv& env, const SymInt& a, const SymInt& b) {
  if (a.identical(b)) return true;
  if (a.is_concrete() && b.is_concrete()) return false;
  return env.decide(sym::eq(a, b)) == sym::Truth::kTrue;
}

bool is_one(const SymInt& s) {
  const auto v = s.maybe_value();
  return v && *v == 1;
}

sym::Cond contiguity(const TensorMeta& m) {
  // numel == 0 is contiguous whatever the strides; a constant 0 size settles it.
  for (const SymInt& s : m.sizes)
    if (auto v = s.maybe_value(); v && *v == 0) return sym::Cond::constant(true);
  std::optional<sym::Cond> all;
  SymInt expected = 1;
  for (std::int64_t d = m.dim() - 1; d >= 0; --d) {
    const auto i = static_cast<std::size_t>(d);
    const SymInt& size = m.sizes[i];
    const SymInt& stride = m.strides[i];
    if (!is_one(size) && !stride.identical(expected)) {
      sym::Cond term = sym::eq(stride, expected);
      if (size.is_concrete() && stride.is_concrete() && expected.is_concrete())
        return sym::Cond::constant(false);
      if (!size.is_concrete()) term = sym::eq(size, 1) || term;
      all = all ? *all && term : term;
    }
    expected = expected * size;
  }
  return all ? *all : sym::Cond::constant(true);
}

bool is_dense(const sym::ShapeEnv& env, const TensorMeta& m) {
  // Greedy form of PyTorch's sort-by-stride walk: the next dim must have stride equal to the
  // product of the sizes already placed; size < 2 dims may have any stride.
  const std::size_t n = m.sizes.size();
  std::vector<bool> placed(n, false);
  std::size_t remaining = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = m.sizes[i].maybe_value();
    if (v && *v < 2) placed[i] = true;
    else ++remaining;
  }
  SymInt expected = 1;
  while (remaining > 0) {
    std::size_t found = n;
    for (std::size_t i = 0; i < n && found == n; ++i)
      if (!placed[i] && (m.strides[i].identical(expected) || proven(env, sym::eq(m.strides[i], expected))))
        found = i;
    if (found == n) return false;
    placed[found] = true;
    --remaining;
    expected = expected * m.sizes[found];
  }
  return true;
}

TensorMeta restride(const TensorMeta& like, SymShape sizes, SymShape strides, SymInt offset) {
  TensorMeta out = like;
  out.sizes = std::move(sizes);
  out.strides = std::move(strides);
  out.storage_offset = std::move(offset);
  return out;
}

SymInt product(const SymShape& s) {
  SymInt p = 1;
  for (const SymInt& x : s) p = p * x;
  return p;
}

std::string shape_str(std::span<const std::int64_t> s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

}  // namespace symtrace::ops
