// Test helper for the op folders of issue 4 (quantize, dequantize, MoE, NVFP4): an
// opcheck for one call with keyword arguments (op::Sample carries positional values only).
// Header-only; included by test.cpp files, never by the library.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

namespace symtrace::ops::testing {

using NamedArgs = std::vector<std::pair<std::string, op::Value>>;

// Runs the fake, the reference and every variant this CPU (and SYMTRACE_ISA) allows on one
// call; returns the failures in opcheck's words (empty: all agree). With expect_error, the
// fake and the reference must both reject the call with a diag::Error of that code.
inline std::vector<std::string> check_call(const op::OpDef& def, std::vector<op::Value> positional,
                                           const NamedArgs& named = {},
                                           std::string expect_error = {}) {
  // opcheck over a one-sample copy of the op, with the call bound to every argument
  // positionally: a schema copy without keyword-only markers accepts that.
  op::OpDef copy = def;
  for (op::ArgSpec& arg : copy.schema.args) arg.kwarg_only = false;
  const std::vector<op::Value> bound = op::bind_args(def.schema, std::move(positional), named);
  std::vector<std::string> out;
  if (!expect_error.empty()) {
    const std::vector<op::Value> metas = op::metas_of(bound);
    try {
      sym::ShapeEnv env;
      op::fake_call(def, metas, env);
      out.push_back("the fake accepted a call it should reject with " + expect_error);
    } catch (const diag::Error& e) {
      if (e.diagnostic().code != expect_error)
        out.push_back(fmt::format("the fake raised code '{}', expected '{}': {}",
                                  e.diagnostic().code, expect_error, e.what()));
    }
  }
  copy.samples = [bound, expect = !expect_error.empty()](std::uint64_t) {
    return std::vector<op::Sample>{{"call", bound, expect}};
  };
  const op::OpcheckReport report = op::opcheck(copy);
  for (const op::OpcheckFailure& f : report.failures)
    out.push_back(fmt::format("[{}] {}: {}", f.sample, f.kernel, f.message));
  return out;
}

// op::call with keyword arguments (eager: first applicable variant, else the reference).
inline op::Outputs call_named(const op::OpDef& def, std::vector<op::Value> positional,
                              const NamedArgs& named) {
  op::OpDef copy = def;
  for (op::ArgSpec& arg : copy.schema.args) arg.kwarg_only = false;
  return op::call(copy, op::bind_args(def.schema, std::move(positional), named));
}

// The diag::Error code and constraint label the fake raises for a call ("" if none).
inline std::pair<std::string, std::string> fake_error(const op::OpDef& def,
                                                      std::vector<op::Value> positional,
                                                      const NamedArgs& named = {}) {
  const std::vector<op::Value> metas =
      op::metas_of(op::bind_args(def.schema, std::move(positional), named));
  try {
    sym::ShapeEnv env;
    op::fake_call(def, metas, env);
  } catch (const diag::Error& e) {
    return {e.diagnostic().code, e.diagnostic().constraint};
  }
  return {};
}

// Sets SYMTRACE_ISA for the lifetime of the object (restores the previous value).
class ScopedIsa {
 public:
  explicit ScopedIsa(const char* isa) {
    if (const char* v = std::getenv("SYMTRACE_ISA")) old_ = v, had_ = true;
    setenv("SYMTRACE_ISA", isa, 1);
  }
  ~ScopedIsa() {
    if (had_)
      setenv("SYMTRACE_ISA", old_.c_str(), 1);
    else
      unsetenv("SYMTRACE_ISA");
  }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  std::string old_;
  bool had_ = false;
};

}  // namespace symtrace::ops::testing
