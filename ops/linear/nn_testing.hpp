// Test helpers for the nn ops' test.cpp files (header-only; tests only).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>
#include <symtrace/sym/shape_env.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops::nn_testing {

// Pins SYMTRACE_ISA for the scope (cpu_supports reads it on every call).
class IsaScope {
 public:
  explicit IsaScope(const char* isa) {
    if (const char* old = std::getenv("SYMTRACE_ISA")) old_ = old;
    setenv("SYMTRACE_ISA", isa, 1);
  }
  ~IsaScope() {
    if (old_) setenv("SYMTRACE_ISA", old_->c_str(), 1);
    else unsetenv("SYMTRACE_ISA");
  }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;

 private:
  std::optional<std::string> old_;
};

inline const op::OpDef& def(std::string_view name) { return registry().get(name); }

// Symbolic dims: a symbol per name (created on first use) or a constant.
struct Dim {
  std::string name;
  std::int64_t value = 0;
  Dim(const char* n) : name(n) {}  // NOLINT(google-explicit-constructor)
  Dim(std::int64_t v) : value(v) {}  // NOLINT(google-explicit-constructor)
  Dim(int v) : value(v) {}           // NOLINT(google-explicit-constructor)
};
inline SymShape sym_shape(sym::ShapeEnv& env, std::initializer_list<Dim> dims) {
  SymShape s;
  for (const Dim& d : dims) {
    if (d.name.empty()) { s.emplace_back(d.value); continue; }
    auto e = env.find_symbol(d.name);
    s.emplace_back(e ? *e : env.new_symbol(d.name, "test input " + d.name));
  }
  return s;
}
inline TensorMeta sym_meta(sym::ShapeEnv& env, std::initializer_list<Dim> dims,
                           DType dtype = DType::kF32) {
  return TensorMeta::contiguous(sym_shape(env, dims), dtype);
}

// Runs the op's fake on metas (positional, then named) and returns its outputs.
inline op::Outputs fake(std::string_view op, sym::ShapeEnv& env, std::vector<op::Value> args,
                        const std::vector<std::pair<std::string, op::Value>>& named = {}) {
  return op::bind_and_fake(def(op), std::move(args), env, named);
}
inline TensorMeta meta_of(const op::Outputs& out, std::size_t i = 0) {  // a copy: safe on temporaries
  return boost::variant2::get<TensorMeta>(out.at(i));
}

// The (code, constraint) of the diag::Error a fake call raises, or {"", ""} when it passes.
struct Rejection {
  std::string code, constraint, argument;
  bool proven = true;
  std::string message;
};
inline Rejection rejection(std::string_view op, sym::ShapeEnv& env, std::vector<op::Value> args,
                           const std::vector<std::pair<std::string, op::Value>>& named = {}) {
  try {
    fake(op, env, std::move(args), named);
  } catch (const diag::Error& e) {
    const auto& d = e.diagnostic();
    return {d.code, d.constraint, d.argument, d.proven, e.what()};
  }
  return {};
}
inline Rejection rejection(std::string_view op, std::vector<op::Value> args,
                           const std::vector<std::pair<std::string, op::Value>>& named = {}) {
  sym::ShapeEnv env;
  return rejection(op, env, std::move(args), named);
}

// The metas of real tensors, for fake calls on concrete shapes.
inline TensorMeta meta(tensor::Shape sizes, DType dtype = DType::kF32) {
  SymShape s(sizes.begin(), sizes.end());
  return TensorMeta::contiguous(std::move(s), dtype);
}

inline std::string strides_str(const TensorMeta& m) { return tensor::shape_str(m.strides); }

}  // namespace symtrace::ops::nn_testing
