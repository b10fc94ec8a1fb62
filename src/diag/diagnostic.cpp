#include <symtrace/diag/diagnostic.hpp>

#include <fmt/format.h>

namespace symtrace::diag {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kNote: return "note";
  }
  return "error";
}

std::string render(const Diagnostic& d) {
  std::string out = fmt::format("{}[{}]", severity_name(d.severity), d.code);
  if (!d.node.empty()) out += fmt::format(" {}", d.node);
  if (!d.op.empty()) out += fmt::format("{}{}", d.node.empty() ? " " : ": ", d.op);
  if (!d.constraint.empty()) out += fmt::format(" {}", d.constraint);
  if (!d.message.empty()) out += fmt::format(": {}", d.message);
  if (!d.expected.empty() || !d.got.empty()) {
    out += fmt::format("\n  {}{}expected {}   got {}", d.argument, d.argument.empty() ? "" : "  ",
                       d.expected.empty() ? "-" : d.expected, d.got.empty() ? "-" : d.got);
  }
  if (!d.proven) out += "\n  (not proven: the condition is unknown for some sizes)";
  for (const auto& n : d.notes) out += fmt::format("\n    {}", n);
  if (!d.hint.empty()) out += fmt::format("\n  hint: {}", d.hint);
  if (!d.location.empty()) out += fmt::format("\n  --> {}", d.location);
  return out;
}

Error::Error(Diagnostic d) : std::runtime_error(render(d)), diag_(std::move(d)) {}

void fail(std::string code, std::string message) {
  Diagnostic d;
  d.code = std::move(code);
  d.message = std::move(message);
  throw Error(std::move(d));
}

InternalError::InternalError(const std::string& what, symtrace::SourceLocation where)
    : std::logic_error(fmt::format("internal error (a symtrace bug): {} [{}:{}]", what,
                                   where.file_name(), where.line())) {}

}  // namespace symtrace::diag
