// libFuzzer target: op::Schema::parse and argument binding. Any input must end in a schema or
// a diag::Error (code "schema"); a schema that parses must re-print to text that parses to the
// same canonical form, and binding no arguments must give a value or a "schema-call" error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/op/op_def.hpp>
#include <symtrace/op/schema.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using symtrace::op::Schema;
  Schema s;
  try {
    s = Schema::parse(text);
  } catch (const symtrace::diag::Error& e) {
    if (e.diagnostic().code != "schema") __builtin_trap();
    return 0;
  }
  const std::string canonical = s.str();
  try {
    if (Schema::parse(canonical).str() != canonical) __builtin_trap();
  } catch (const symtrace::diag::Error&) {
    __builtin_trap();  // the canonical form of a valid schema must parse
  }
  try {
    (void)symtrace::op::bind_args(s, {});
  } catch (const symtrace::diag::Error& e) {
    if (e.diagnostic().code != "schema-call") __builtin_trap();
  }
  return 0;
}
