// Diagnostics: the structured findings and errors every layer reports.
//
//   error[scale-layout] model.layers.3.mlp.experts: int8_fused_moe C4
//     w13_scale  expected [E, 2*I, 1]   got [E, 2*I]
//       E = 128  from config.num_experts
//
// Library code returns Diagnostic values or throws them inside diag::Error; only the
// CLI prints. Internal invariants that fail are diag::InternalError ("a symtrace bug").
#pragma once

#include <symtrace/diag/source_location.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace symtrace::diag {

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  std::string code;        // stable code from codes.def, e.g. "scale-layout"
  Severity severity = Severity::kError;
  std::string node;        // module path of the node ("model.layers.3.mlp"), may be empty
  std::string op;          // op name, may be empty
  std::string constraint;  // constraint label from OPS.md ("C3"), may be empty
  std::string argument;    // argument / tensor name ("w13_scale"), may be empty
  std::string expected;    // expected value in symbols ("[E, 2*I, 1]")
  std::string got;         // actual value in symbols
  std::string message;     // one sentence
  std::vector<std::string> notes;  // symbol provenance lines ("E = 128 from config.num_experts")
  std::string hint;
  bool proven = true;      // false: the violation could not be ruled out (Unknown), not proven
  std::string location;    // "file.cpp:88" of the traced call, may be empty
};

std::string_view severity_name(Severity s);

// Compiler-style multi-line rendering (no trailing newline).
std::string render(const Diagnostic& d);

// A user-facing error carrying a Diagnostic (bad input, impossible shape, ...).
class Error : public std::runtime_error {
 public:
  explicit Error(Diagnostic d);
  const Diagnostic& diagnostic() const noexcept { return diag_; }

 private:
  Diagnostic diag_;
};

// Shorthand for throwing an Error with just a code and message.
[[noreturn]] void fail(std::string code, std::string message);

// A broken internal invariant: a symtrace bug, never the user's fault.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& what,
                         symtrace::SourceLocation where = symtrace::SourceLocation::current());
};

}  // namespace symtrace::diag
