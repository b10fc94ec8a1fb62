// Test helpers for the nn ops' test.cpp files (header-only; tests only).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

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

// Every tensor of a safetensors file (refdata), read whole: header length (u64 LE), JSON
// header {name: {dtype, shape, data_offsets}}, then the data.
inline std::map<std::string, Tensor> load_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string bytes = ss.str();
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const boost::json::object header = boost::json::parse(bytes.substr(8, n)).as_object();
  const std::size_t base = 8 + n;
  std::map<std::string, Tensor> out;
  for (const auto& [name, v] : header) {
    if (name == "__metadata__") continue;
    const boost::json::object& o = v.as_object();
    const auto dtype = tensor::dtype_from_safetensors(std::string(o.at("dtype").as_string()));
    tensor::Shape shape;
    for (const auto& d : o.at("shape").as_array()) shape.push_back(d.to_number<std::int64_t>());
    const auto& off = o.at("data_offsets").as_array();
    const auto begin = off[0].to_number<std::size_t>(), end = off[1].to_number<std::size_t>();
    Tensor t = Tensor::empty(shape, dtype.value());
    if (t.nbytes() != end - begin) throw std::runtime_error("bad size for " + std::string(name));
    std::memcpy(t.data_ptr(), bytes.data() + base + begin, end - begin);
    out.emplace(std::string(name), std::move(t));
  }
  return out;
}

// The same bytes as another dtype of the same width (u8 bits -> f8_e4m3fn).
inline Tensor reinterpret(const Tensor& t, DType d) {
  return Tensor::from_storage(t.storage(), t.sizes(), t.strides(), t.storage_offset(), d);
}

}  // namespace symtrace::ops::nn_testing
