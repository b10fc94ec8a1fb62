// Test helper: force SYMTRACE_ISA for one scope (every dispatch reads it per call).
#pragma once

#include <cstdlib>
#include <string>

namespace symtrace::tensor::testing {

class IsaScope {
 public:
  explicit IsaScope(const char* isa) {
    if (const char* old = std::getenv("SYMTRACE_ISA")) old_ = old;
    setenv("SYMTRACE_ISA", isa, 1);
  }
  ~IsaScope() {
    if (old_.empty()) unsetenv("SYMTRACE_ISA");
    else setenv("SYMTRACE_ISA", old_.c_str(), 1);
  }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;

 private:
  std::string old_;
};

// Every path, lowest first.
inline constexpr const char* kIsas[] = {"scalar", "avx2", "avx512"};

}  // namespace symtrace::tensor::testing
