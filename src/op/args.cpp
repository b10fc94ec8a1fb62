// Args accessors, argument binding and the heap allocator.
#include <fmt/format.h>

#include <symtrace/op/op_def.hpp>

namespace symtrace::op {

namespace v2 = boost::variant2;

namespace {

// What kind of value this is, as a schema would spell its type.
std::string_view value_kind(const Value& v) {
  switch (v.index()) {
    case 0: return "None";
    case 1: return "Tensor (meta)";
    case 2: return "Tensor";
    case 3: return "Tensor[] (meta)";
    case 4: return "Tensor[]";
    case 5: return "int";
    case 6: return "int[]";
    case 7: return "float";
    case 8: return "bool";
    case 9: return "str";
    case 10: return "ScalarType";
  }
  return "?";
}

[[noreturn]] void call_error(const Schema& s, const ArgSpec* a, std::string message,
                             std::string got = {}) {
  diag::Diagnostic d;
  d.code = "schema-call";
  d.op = s.name;
  if (a) {
    d.argument = a->name;
    d.expected = type_str(a->type, a->optional, a->fixed_len, a->symint);
  }
  d.got = std::move(got);
  d.message = std::move(message);
  d.notes = {"schema: " + s.str()};
  throw diag::Error(std::move(d));
}

// Checks `v` against the argument's type, applying the coercions Python callers rely on
// (int -> float, int -> int[] broadcast). Returns false when the type does not fit.
bool coerce(const ArgSpec& a, Value& v) {
  if (v2::holds_alternative<None>(v)) return a.optional;
  switch (a.type) {
    case ArgType::kTensor:
      if (auto* t = v2::get_if<Tensor>(&v)) return t->defined();
      return v2::holds_alternative<TensorMeta>(v);
    case ArgType::kTensorList:
      return v2::holds_alternative<std::vector<TensorMeta>>(v) ||
             v2::holds_alternative<std::vector<Tensor>>(v);
    case ArgType::kInt: return v2::holds_alternative<SymInt>(v);
    case ArgType::kIntList: {
      if (auto* i = v2::get_if<SymInt>(&v)) {
        SymInt one = *i;
        v = std::vector<SymInt>(static_cast<std::size_t>(a.fixed_len.value_or(1)), one);
      }
      auto* l = v2::get_if<std::vector<SymInt>>(&v);
      return l && (!a.fixed_len || l->size() == static_cast<std::size_t>(*a.fixed_len));
    }
    case ArgType::kFloat:
      if (auto* i = v2::get_if<SymInt>(&v)) {
        if (!i->is_concrete()) return false;
        v = static_cast<double>(i->value());
      }
      return v2::holds_alternative<double>(v);
    case ArgType::kBool: return v2::holds_alternative<bool>(v);
    case ArgType::kStr: return v2::holds_alternative<std::string>(v);
    case ArgType::kScalarType: return v2::holds_alternative<DType>(v);
    case ArgType::kScalar:
      return v2::holds_alternative<SymInt>(v) || v2::holds_alternative<double>(v) ||
             v2::holds_alternative<bool>(v);
  }
  return false;
}

}  // namespace

std::vector<Value> bind_args(const Schema& s, std::vector<Value> positional,
                             const std::vector<std::pair<std::string, Value>>& named) {
  std::size_t max_positional = 0;
  while (max_positional < s.args.size() && !s.args[max_positional].kwarg_only) ++max_positional;
  if (positional.size() > max_positional)
    call_error(s, nullptr,
               fmt::format("takes {} positional argument{} but {} were given", max_positional,
                           max_positional == 1 ? "" : "s", positional.size()));

  std::vector<std::optional<Value>> slots(s.args.size());
  for (std::size_t i = 0; i < positional.size(); ++i) slots[i] = std::move(positional[i]);
  for (const auto& [name, value] : named) {
    const auto i = s.index_of(name);
    if (!i) call_error(s, nullptr, fmt::format("unexpected keyword argument '{}'", name));
    if (slots[*i])
      call_error(s, &s.args[*i], fmt::format("got multiple values for argument '{}'", name));
    slots[*i] = value;
  }

  std::vector<Value> out;
  out.reserve(s.args.size());
  for (std::size_t i = 0; i < s.args.size(); ++i) {
    const ArgSpec& a = s.args[i];
    if (!slots[i]) {
      if (!a.default_value) call_error(s, &a, fmt::format("missing required argument '{}'", a.name));
      out.push_back(*a.default_value);
      continue;
    }
    Value v = std::move(*slots[i]);
    if (!coerce(a, v)) {
      std::string got = fmt::format("{} {}", value_kind(v), value_str(v));
      call_error(s, &a,
                 fmt::format("argument '{}' must be {}, got {}", a.name,
                             type_str(a.type, a.optional, a.fixed_len, a.symint), got),
                 got);
    }
    out.push_back(std::move(v));
  }
  return out;
}

// --- Args ---------------------------------------------------------------------------------

namespace {
template <class T>
const T& get_as(const Args& a, std::string_view name, std::string_view what) {
  const Value& v = a[name];
  if (auto* p = v2::get_if<T>(&v)) return *p;
  throw diag::InternalError(fmt::format("{}: argument '{}' read as {} but holds {}",
                                        a.schema().name, name, what, value_kind(v)));
}
}  // namespace

const Value& Args::operator[](std::string_view name) const {
  const auto i = schema_->index_of(name);
  if (!i || *i >= values_.size())
    throw diag::InternalError(fmt::format("{}: no argument '{}'", schema_->name, name));
  return values_[*i];
}

bool Args::is_none(std::string_view name) const {
  return v2::holds_alternative<None>((*this)[name]);
}
const TensorMeta& Args::meta(std::string_view name) const {
  return get_as<TensorMeta>(*this, name, "a meta");
}
const TensorMeta* Args::opt_meta(std::string_view name) const {
  return is_none(name) ? nullptr : &meta(name);
}
const Tensor& Args::tensor(std::string_view name) const {
  return get_as<Tensor>(*this, name, "a tensor");
}
const Tensor* Args::opt_tensor(std::string_view name) const {
  return is_none(name) ? nullptr : &tensor(name);
}
const std::vector<TensorMeta>& Args::metas(std::string_view name) const {
  return get_as<std::vector<TensorMeta>>(*this, name, "a meta list");
}
const std::vector<Tensor>& Args::tensors(std::string_view name) const {
  return get_as<std::vector<Tensor>>(*this, name, "a tensor list");
}
const SymInt& Args::sym_int(std::string_view name) const {
  return get_as<SymInt>(*this, name, "an int");
}
std::int64_t Args::int_value(std::string_view name) const {
  const SymInt& i = sym_int(name);
  if (auto v = i.maybe_value()) return *v;
  diag::Diagnostic d;
  d.code = "symbolic";
  d.op = schema_->name;
  d.argument = std::string(name);
  d.expected = "a concrete int";
  d.got = i.str();
  d.message = fmt::format("argument '{}' must be a concrete int here, got {}", name, i.str());
  throw diag::Error(std::move(d));
}
std::optional<std::int64_t> Args::opt_int(std::string_view name) const {
  if (is_none(name)) return std::nullopt;
  return int_value(name);
}
const std::vector<SymInt>& Args::sym_ints(std::string_view name) const {
  return get_as<std::vector<SymInt>>(*this, name, "an int list");
}
std::vector<std::int64_t> Args::ints(std::string_view name) const {
  std::vector<std::int64_t> out;
  for (const SymInt& i : sym_ints(name)) {
    if (!i.is_concrete()) {
      diag::Diagnostic d;
      d.code = "symbolic";
      d.op = schema_->name;
      d.argument = std::string(name);
      d.expected = "concrete ints";
      d.got = value_str((*this)[name]);
      d.message = fmt::format("argument '{}' must be concrete ints here", name);
      throw diag::Error(std::move(d));
    }
    out.push_back(i.value());
  }
  return out;
}
double Args::f64(std::string_view name) const { return get_as<double>(*this, name, "a float"); }
std::optional<double> Args::opt_f64(std::string_view name) const {
  if (is_none(name)) return std::nullopt;
  return f64(name);
}
bool Args::flag(std::string_view name) const { return get_as<bool>(*this, name, "a bool"); }
const std::string& Args::str(std::string_view name) const {
  return get_as<std::string>(*this, name, "a str");
}
DType Args::dtype(std::string_view name) const { return get_as<DType>(*this, name, "a dtype"); }
std::optional<DType> Args::opt_dtype(std::string_view name) const {
  if (is_none(name)) return std::nullopt;
  return dtype(name);
}
const Value& Args::scalar(std::string_view name) const {
  const Value& v = (*this)[name];
  if (v2::holds_alternative<SymInt>(v) || v2::holds_alternative<double>(v) ||
      v2::holds_alternative<bool>(v))
    return v;
  throw diag::InternalError(fmt::format("{}: argument '{}' read as a Scalar but holds {}",
                                        schema_->name, name, value_kind(v)));
}
double Args::scalar_f64(std::string_view name) const {
  const Value& v = scalar(name);
  if (auto* d = v2::get_if<double>(&v)) return *d;
  if (auto* b = v2::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  const SymInt& i = v2::get<SymInt>(v);
  if (!i.is_concrete()) return static_cast<double>(int_value(name));  // throws "symbolic"
  return static_cast<double>(i.value());
}
std::vector<SymInt> Args::sizes(std::string_view name) const {
  const Value& v = (*this)[name];
  if (auto* m = v2::get_if<TensorMeta>(&v)) return m->sizes;
  if (auto* t = v2::get_if<Tensor>(&v)) return {t->sizes().begin(), t->sizes().end()};
  throw diag::InternalError(fmt::format("{}: argument '{}' read as a tensor but holds {}",
                                        schema_->name, name, value_kind(v)));
}

// --- HeapAllocator ------------------------------------------------------------------------

Tensor HeapAllocator::output(std::size_t, tensor::Shape sizes, DType dtype) {
  Tensor t = Tensor::empty(std::move(sizes), dtype);
  if (fill_nan_) t.fill_nan();
  return t;
}

std::span<std::byte> HeapAllocator::workspace(std::size_t nbytes) {
  scratch_.push_back(tensor::Storage::allocate(nbytes));
  return {scratch_.back()->data(), nbytes};
}

}  // namespace symtrace::op
