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

// Run the fake impl on metas (arguments already bound). A diag::Error from the fake gets the
// op name filled in when it has none.
Outputs fake_call(const OpDef& op, std::span<const Value> args, sym::ShapeEnv& env);
// Bind positional + named metas to the schema, then run the fake.
Outputs bind_and_fake(const OpDef& op, std::vector<Value> positional, sym::ShapeEnv& env,
                      const std::vector<std::pair<std::string, Value>>& named = {});

// Metas of real values: Tensor -> TensorMeta (device cpu), Tensor[] -> TensorMeta[]; other
// values unchanged.
std::vector<Value> metas_of(std::span<const Value> values);

// Eager real call: binds args, runs the fake on the concrete metas (so a bad call fails with
// the fake's diagnostic before any kernel reads memory), then picks the first variant whose
// ISA is available and whose applicability is kTrue on the concrete metas, else the reference.
Outputs call(const OpDef& op, std::vector<Value> args, KernelContext* cx = nullptr);
// The kernel `call` would pick for these bound args: a variant, or nullptr for the reference.
const Variant* select_variant(const OpDef& op, std::span<const Value> bound_metas);

}  // namespace symtrace::op
