// graph::Tracer — records ordinary C++ model code as a Graph with symbolic shapes.
//
//   graph::Graph g;
//   graph::Tracer tr(g);                                   // becomes Tracer::current()
//   SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
//   SymInt H = tr.config("H", 4096, "config.hidden_size");
//   graph::Traced x = tr.input("x", {B, S, H}, DType::kBF16);
//   graph::Traced w = tr.weight("layers.0.mlp.up.weight", {4 * H, H}, DType::kBF16);
//   {
//     auto scope = tr.scope("layers.0.mlp");                // nests module paths (RAII)
//     graph::Traced y = tr.call("linear", {x, w});          // fake impl runs, node appended
//     tr.output("y", y);
//   }
//
// A fake that throws does not stop tracing: its diag::Error becomes a Finding on the node
// (with the producers of the node's inputs as related nodes), the node's outputs are
// "poisoned", and consumers of poisoned values are recorded without running their fakes,
// so one bug yields one finding, not a cascade.
#pragma once

#include <initializer_list>
#include <optional>
#include <symtrace/diag/source_location.hpp>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/graph/graph.hpp>
#include <symtrace/op/registry.hpp>

namespace symtrace::graph {

class Tracer;

// A handle to a traced value. Cheap to copy; valid while its Tracer and Graph live.
class Traced {
 public:
  Traced() = default;
  Traced(Tracer* tracer, ValueRef ref) : tracer_(tracer), ref_(ref) {}

  bool valid() const { return tracer_ != nullptr; }
  ValueRef ref() const { return ref_; }
  Tracer& tracer() const;
  const TensorMeta& meta() const;
  const SymShape& sizes() const { return meta().sizes; }
  // size(d) with Python-style d; a poisoned value reports 1 for every dim so model code
  // that reads shapes keeps going (its consumers are skipped anyway).
  sym::SymInt size(std::int64_t d) const;
  std::int64_t dim() const { return meta().dim(); }
  DType dtype() const { return meta().dtype; }
  bool poisoned() const;

 private:
  Tracer* tracer_ = nullptr;
  ValueRef ref_;
};

// One argument of Tracer::call: a traced tensor, a list of them, or any non-tensor value.
class Arg {
 public:
  Arg(Traced t) : kind_(Kind::kTensor), tensor_(t) {}  // NOLINT(google-explicit-constructor)
  Arg(std::vector<Traced> ts)  // NOLINT(google-explicit-constructor)
      : kind_(Kind::kTensorList), list_(std::move(ts)) {}
  Arg(std::initializer_list<Traced> ts)  // NOLINT(google-explicit-constructor)
      : kind_(Kind::kTensorList), list_(ts) {}
  Arg(op::Value v) : value_(std::move(v)) {}  // NOLINT(google-explicit-constructor)
  Arg(int v) : value_(sym::SymInt(v)) {}  // NOLINT(google-explicit-constructor)
  Arg(std::int64_t v) : value_(sym::SymInt(v)) {}  // NOLINT(google-explicit-constructor)
  Arg(sym::SymInt v) : value_(v) {}                // NOLINT(google-explicit-constructor)
  Arg(sym::Expr v) : value_(sym::SymInt(v)) {}     // NOLINT(google-explicit-constructor)
  Arg(std::vector<sym::SymInt> v) : value_(std::move(v)) {}  // NOLINT
  Arg(std::initializer_list<sym::SymInt> v)  // NOLINT(google-explicit-constructor)
      : value_(std::vector<sym::SymInt>(v)) {}
  Arg(double v) : value_(v) {}  // NOLINT(google-explicit-constructor)
  Arg(bool v) : value_(v) {}    // NOLINT(google-explicit-constructor)
  Arg(const char* v) : value_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Arg(std::string v) : value_(std::move(v)) {}    // NOLINT(google-explicit-constructor)
  Arg(DType v) : value_(v) {}                     // NOLINT(google-explicit-constructor)
  Arg(std::nullopt_t) : value_(op::None{}) {}     // NOLINT(google-explicit-constructor)
  // An optional tensor: None when empty.
  Arg(std::optional<Traced> t)  // NOLINT(google-explicit-constructor)
      : kind_(t ? Kind::kTensor : Kind::kValue), tensor_(t ? *t : Traced()),
        value_(op::None{}) {}

  enum class Kind : std::uint8_t { kTensor, kTensorList, kValue };
  Kind kind() const { return kind_; }
  const Traced& tensor() const { return tensor_; }
  const std::vector<Traced>& list() const { return list_; }
  const op::Value& value() const { return value_; }

 private:
  Kind kind_ = Kind::kValue;
  Traced tensor_;
  std::vector<Traced> list_;
  op::Value value_;
};

struct NamedArg {
  std::string name;
  Arg value;
};

class Tracer {
 public:
  // `registry` must outlive the graph (nodes keep pointers to its OpDefs).
  explicit Tracer(Graph& g, const op::Registry& registry);
  explicit Tracer(Graph& g);  // the built-in registry, symtrace::ops::registry()
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // The innermost live Tracer of this thread, or nullptr.
  static Tracer* current();

  Graph& graph() { return *graph_; }
  sym::ShapeEnv& env();
  const op::Registry& registry() const { return *registry_; }

  // --- symbols --------------------------------------------------------------------------
  sym::SymInt symbol(std::string name, std::string provenance,
                     sym::SymbolKind kind = sym::SymbolKind::kInputSize,
                     sym::Range range = sym::Range::size());
  // A configuration dim: a symbol of its own (so N and K stay distinct even when their
  // values coincide) with `value` as its hint. Bound to `value` unless bind() says otherwise.
  sym::SymInt config(std::string name, std::int64_t value, std::string provenance);

  // --- leaves ---------------------------------------------------------------------------
  Traced input(std::string name, SymShape sizes, DType dtype,
               symtrace::SourceLocation loc = symtrace::SourceLocation::current());
  Traced input(std::string name, TensorMeta meta,
               symtrace::SourceLocation loc = symtrace::SourceLocation::current());
  Traced parameter(std::string name, TensorMeta meta, ParamInfo info = {},
                   symtrace::SourceLocation loc = symtrace::SourceLocation::current());
  // A weight in the canonical row-major [N, K] (NK) layout unless `layout` says otherwise.
  Traced weight(std::string name, SymShape sizes, DType dtype,
                WeightLayout layout = WeightLayout::kNK,
                symtrace::SourceLocation loc = symtrace::SourceLocation::current());
  // A scale, zero point or global scale (by info.role) bound to `weight`:
  //   tr.scale("w_scale", w, {N, 1}, graph::per_channel());
  Traced scale(std::string name, const Traced& weight, SymShape sizes, ParamInfo info,
               ScaleFormat fmt = ScaleFormat::kF32, DType dtype = DType::kF32,
               symtrace::SourceLocation loc = symtrace::SourceLocation::current());
  Traced state(std::string name, TensorMeta meta,
               symtrace::SourceLocation loc = symtrace::SourceLocation::current());
  void output(std::string name, const Traced& value,
              symtrace::SourceLocation loc = symtrace::SourceLocation::current());

  // --- op calls -------------------------------------------------------------------------
  // Every output of the call (Tensor[] returns expanded, absent optionals as invalid
  // handles). Binding errors (wrong arity, unknown argument) are findings too.
  std::vector<Traced> call_all(std::string_view op, std::vector<Arg> args,
                               std::vector<NamedArg> named = {},
                               symtrace::SourceLocation loc = symtrace::SourceLocation::current());
  // A call with exactly one tensor output.
  Traced call(std::string_view op, std::vector<Arg> args, std::vector<NamedArg> named = {},
              symtrace::SourceLocation loc = symtrace::SourceLocation::current());

  // --- module paths ---------------------------------------------------------------------
  class Scope {
   public:
    Scope(Scope&& o) noexcept : tracer_(o.tracer_), saved_(o.saved_) { o.tracer_ = nullptr; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;
    ~Scope();

   private:
    friend class Tracer;
    Scope(Tracer* t, std::uint32_t saved) : tracer_(t), saved_(saved) {}
    Tracer* tracer_;
    std::uint32_t saved_;
  };
  // Appends `name` ("layers.3", dotted allowed) to the module path until the Scope dies.
  [[nodiscard]] Scope scope(std::string_view name);
  std::string_view module_path() const;

 private:
  Graph* graph_;
  const op::Registry* registry_;
  Tracer* previous_;
  std::uint32_t module_ = 0;  // interned current path
};

}  // namespace symtrace::graph
