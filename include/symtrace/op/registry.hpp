// op::Registry — every registered op by name, and eager calls through it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <symtrace/op/op_def.hpp>

namespace symtrace::op {

class Registry {
 public:
  // Validates the definition (schema parsed, fake and reference present, variant names
  // prefixed with the op name). Throws diag::Error on a duplicate or invalid definition.
  void add(OpDef def);
  const OpDef* find(std::string_view name) const;
  const OpDef& get(std::string_view name) const;  // diag::Error (code "unknown-op")
  std::vector<const OpDef*> all() const;          // sorted by name

 private:
  std::map<std::string, OpDef, std::less<>> ops_;
};

// Run the fake impl on metas (arguments already bound).
Outputs fake_call(const OpDef& op, std::span<const Value> args, sym::ShapeEnv& env);

// Eager real call: binds args, picks the first variant whose ISA is available and whose
// applicability is kTrue on the concrete metas, else the reference.
Outputs call(const OpDef& op, std::vector<Value> args, KernelContext* cx = nullptr);

}  // namespace symtrace::op
