// Registry: validated op definitions, fake calls and eager calls.
#include <symtrace/op/registry.hpp>

#include <fmt/format.h>

namespace symtrace::op {

namespace v2 = boost::variant2;

namespace {

[[noreturn]] void invalid_def(const std::string& op, std::string message) {
  diag::Diagnostic d;
  d.code = "op-definition";
  d.op = op;
  d.message = std::move(message);
  throw diag::Error(std::move(d));
}

// Does an output value fit its declared return type? A mismatch is a bug in the op.
bool fits(const ReturnSpec& r, const Value& v) {
  if (v2::holds_alternative<None>(v)) return r.optional;
  switch (r.type) {
    case ArgType::kTensor:
      return v2::holds_alternative<TensorMeta>(v) || v2::holds_alternative<Tensor>(v);
    case ArgType::kTensorList:
      return v2::holds_alternative<std::vector<TensorMeta>>(v) ||
             v2::holds_alternative<std::vector<Tensor>>(v);
    case ArgType::kInt: return v2::holds_alternative<SymInt>(v);
    case ArgType::kIntList: return v2::holds_alternative<std::vector<SymInt>>(v);
    case ArgType::kFloat: return v2::holds_alternative<double>(v);
    case ArgType::kBool: return v2::holds_alternative<bool>(v);
    case ArgType::kStr: return v2::holds_alternative<std::string>(v);
    case ArgType::kScalarType: return v2::holds_alternative<DType>(v);
    case ArgType::kScalar:
      return v2::holds_alternative<SymInt>(v) || v2::holds_alternative<double>(v) ||
             v2::holds_alternative<bool>(v);
  }
  return false;
}

void check_outputs(const OpDef& op, const Outputs& out, std::string_view who) {
  if (out.size() != op.schema.returns.size())
    throw diag::InternalError(fmt::format("{} {}: returned {} values, the schema declares {}",
                                          op.name, who, out.size(), op.schema.returns.size()));
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!fits(op.schema.returns[i], out[i]))
      throw diag::InternalError(fmt::format("{} {}: output {} is {}, the schema declares {}",
                                            op.name, who, i, value_str(out[i]),
                                            type_str(op.schema.returns[i].type,
                                                     op.schema.returns[i].optional)));
}

}  // namespace

void Registry::add(OpDef def) {
  if (def.name.empty()) invalid_def("?", "an op needs a name");
  if (def.schema.name != def.name)
    invalid_def(def.name, fmt::format("schema names '{}', the op is '{}'", def.schema.name, def.name));
  if (!def.fake) invalid_def(def.name, "no fake impl");
  if (!def.reference) invalid_def(def.name, "no reference kernel");
  if (def.schema.returns.empty()) invalid_def(def.name, "the schema returns nothing");
  for (const Variant& v : def.variants) {
    if (!v.name.starts_with(def.name + "."))
      invalid_def(def.name, fmt::format("variant '{}' must be named '{}.<what>'", v.name, def.name));
    if (!v.run) invalid_def(def.name, fmt::format("variant '{}' has no kernel", v.name));
    if (v.prepare) {
      for (const std::string& r : v.prepare->rewrites)
        if (!def.schema.index_of(r))
          invalid_def(def.name, fmt::format("prepare of '{}' rewrites '{}', not an argument",
                                            v.name, r));
      if (!v.prepare->fake || !v.prepare->run)
        invalid_def(def.name, fmt::format("prepare of '{}' needs both a fake and a run", v.name));
    }
  }
  for (std::size_t i = 0; i < def.variants.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (def.variants[i].name == def.variants[j].name)
        invalid_def(def.name, fmt::format("two variants named '{}'", def.variants[i].name));
  std::string name = def.name;
  if (!ops_.emplace(name, std::move(def)).second)
    invalid_def(name, fmt::format("op '{}' is registered twice", name));
}

const OpDef* Registry::find(std::string_view name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : &it->second;
}

const OpDef& Registry::get(std::string_view name) const {
  if (const OpDef* op = find(name)) return *op;
  diag::Diagnostic d;
  d.code = "unknown-op";
  d.op = std::string(name);
  d.message = fmt::format("no op named '{}' is registered", name);
  throw diag::Error(std::move(d));
}

std::vector<const OpDef*> Registry::all() const {
  std::vector<const OpDef*> out;
  out.reserve(ops_.size());
  for (const auto& [name, def] : ops_) out.push_back(&def);  // std::map: already sorted
  return out;
}

Outputs fake_call(const OpDef& op, std::span<const Value> args, sym::ShapeEnv& env) {
  if (args.size() != op.schema.args.size())
    throw diag::InternalError(fmt::format("fake_call {}: {} values for {} schema arguments (bind "
                                          "them first)",
                                          op.name, args.size(), op.schema.args.size()));
  FakeContext cx{env, op.name};
  Outputs out;
  try {
    out = op.fake(Args(op.schema, args), cx);
  } catch (const diag::Error& e) {
    if (!e.diagnostic().op.empty()) throw;
    diag::Diagnostic d = e.diagnostic();
    d.op = op.name;
    throw diag::Error(std::move(d));
  }
  check_outputs(op, out, "fake");
  return out;
}

Outputs bind_and_fake(const OpDef& op, std::vector<Value> positional, sym::ShapeEnv& env,
                      const std::vector<std::pair<std::string, Value>>& named) {
  const std::vector<Value> bound = bind_args(op.schema, std::move(positional), named);
  return fake_call(op, bound, env);
}

std::vector<Value> metas_of(std::span<const Value> values) {
  std::vector<Value> out;
  out.reserve(values.size());
  for (const Value& v : values) {
    if (auto* t = v2::get_if<Tensor>(&v)) {
      out.emplace_back(t->meta());
    } else if (auto* l = v2::get_if<std::vector<Tensor>>(&v)) {
      std::vector<TensorMeta> metas;
      metas.reserve(l->size());
      for (const Tensor& x : *l) metas.push_back(x.meta());
      out.emplace_back(std::move(metas));
    } else {
      out.push_back(v);
    }
  }
  return out;
}

const Variant* select_variant(const OpDef& op, std::span<const Value> bound_metas) {
  for (const Variant& v : op.variants) {
    if (!cpu_supports(v.isa)) continue;
    if (v.applicable) {
      sym::ShapeEnv env;
      if (v.applicable(Args(op.schema, bound_metas), env).truth != sym::Truth::kTrue) continue;
    }
    return &v;
  }
  return nullptr;
}

Outputs call(const OpDef& op, std::vector<Value> args, KernelContext* cx) {
  const std::vector<Value> bound = bind_args(op.schema, std::move(args));
  const std::vector<Value> metas = metas_of(bound);
  {
    sym::ShapeEnv env;
    fake_call(op, metas, env);  // throws the fake's diagnostic for a bad call
  }
  HeapAllocator heap;
  KernelContext local{heap};
  KernelContext& kcx = cx ? *cx : local;
  const Variant* v = select_variant(op, metas);
  Outputs out = v ? v->run(Args(op.schema, bound), kcx) : op.reference(Args(op.schema, bound), kcx);
  check_outputs(op, out, v ? v->name : "reference");
  return out;
}

}  // namespace symtrace::op
