// ops/common/fake_util — what the view and elementwise fakes share: structured errors, dim
// wrapping with PyTorch's rules, decisions through the ShapeEnv, and layout predicates.
//
//   const std::int64_t d = wrap_dim(cx.op, "dim", a.int_value("dim"), x.dim());
//   if (!holds(cx.env, sym::eq(x.size(d), w.size(0)), "x.size(dim) == w.size(0)"))
//     raise(cx.op, {"shape-mismatch", "w", x.size(d).str(), w.size(0).str(), "..."});
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/op/op_def.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::ops {

using sym::SymInt;
using tensor::DType;
using tensor::Tensor;
using tensor::SymShape;
using tensor::TensorMeta;

struct ShapeError {
  std::string code;      // "shape-mismatch", "dim", "view", "broadcast", "dtype", ...
  std::string argument;  // the schema argument at fault
  std::string expected;  // in symbols
  std::string got;
  std::string message;   // one sentence
  bool proven = true;
};

// Throws diag::Error for `op`; `constraint` is the OPS.md / op.cpp label ("C2") it violates.
[[noreturn]] void raise(std::string_view op, ShapeError e);
[[noreturn]] void raise(std::string_view op, std::string_view constraint, ShapeError e);

// PyTorch dim wrapping: d in [-rank, rank-1] (a 0-d tensor wraps like rank 1, as PyTorch
// does); otherwise a "dim" error worded like PyTorch's ("Dimension out of range (expected to
// be in range of [-4, 3], but got 4)").
std::int64_t wrap_dim(std::string_view op, std::string_view argument, std::int64_t d,
                      std::int64_t rank, std::string_view constraint = {});

// Decides c: kTrue -> true; kFalse -> false; kUnknown -> records a guard (env.require, which
// throws under GuardPolicy::kStrict) and answers true. Callers raise the proven violation.
bool holds(sym::ShapeEnv& env, const sym::Cond& c, std::string reason);
// Only the proven answer: true iff decide(c) == kTrue. For layout choices where assuming the
// other branch is always safe (a copy instead of a view, a boundary that may not exist).
bool proven(const sym::ShapeEnv& env, const sym::Cond& c);
bool is_one(const SymInt& s);  // the constant 1
// a == b proven; structural identity and concrete values answer without building a Cond (the
// fake hot path: most dims are constants or the same interned expression).
bool proven_eq(const sym::ShapeEnv& env, const SymInt& a, const SymInt& b);

// c holds iff the meta is row-major contiguous (size-1 dims ignore their stride).
sym::Cond contiguity(const TensorMeta& m);
// Strides that make a dense (non-overlapping, gap-free) layout, PyTorch's
// is_non_overlapping_and_dense, decided exactly on concrete metas and conservatively (false
// when not proven) on symbolic ones.
bool is_dense(const sym::ShapeEnv& env, const TensorMeta& m);

// A meta with the same dtype and tags as `like` but new sizes/strides/offset.
TensorMeta restride(const TensorMeta& like, SymShape sizes, SymShape strides, SymInt offset);

// Product of sizes (1 for none).
SymInt product(const SymShape& s);
std::string shape_str(std::span<const std::int64_t> s);  // "[2, 3, 4]"

}  // namespace symtrace::ops
