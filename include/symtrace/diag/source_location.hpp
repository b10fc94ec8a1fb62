// symtrace::SourceLocation — std::source_location's interface, built on the compiler
// builtins that GCC 12 and Clang 14 both provide (Clang 14 with libstdc++ 12 has no
// std::source_location). Used as a default argument it records the caller's position.
#pragma once

#include <cstdint>

namespace symtrace {

#if defined(__clang__)
#define SYMTRACE_BUILTIN_COLUMN __builtin_COLUMN()
#else
#define SYMTRACE_BUILTIN_COLUMN 0  // GCC 12 has no __builtin_COLUMN
#endif

class SourceLocation {
 public:
  constexpr SourceLocation() noexcept = default;

  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          const char* function = __builtin_FUNCTION(),
                                          std::uint_least32_t line = __builtin_LINE(),
                                          std::uint_least32_t column = SYMTRACE_BUILTIN_COLUMN) noexcept {
    SourceLocation l;
    l.file_ = file;
    l.function_ = function;
    l.line_ = line;
    l.column_ = column;
    return l;
  }

  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  constexpr std::uint_least32_t column() const noexcept { return column_; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
  std::uint_least32_t column_ = 0;
};

}  // namespace symtrace
