// op::OpDef — everything about one op, defined once in ops/<name>/:
// schema, fake impl, reference kernel, ordered fast variants (fastest first) with
// applicability rules decided by ShapeEnv and optional prepare steps, and opcheck samples.
//
//   OpDef def{.name = "linear", .schema = Schema::parse("linear(Tensor x, Tensor w, Tensor? bias=None) -> Tensor")};
//   def.fake = [](const Args& a, FakeContext& cx) -> Outputs { ... return {TensorMeta::contiguous(...)}; };
//   def.reference = [](const Args& a, KernelContext& cx) -> std::vector<Value> { ... };
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/op/schema.hpp>
#include <symtrace/op/value.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/cpu_features.hpp>

namespace symtrace::op {

// A call's arguments bound to its schema (defaults filled in), read by name.
// On the fake side tensors are TensorMeta; on the real side Tensor.
class Args {
 public:
  Args(const Schema& schema, std::span<const Value> values) : schema_(&schema), values_(values) {}
  const Schema& schema() const { return *schema_; }
  std::span<const Value> values() const { return values_; }
  const Value& operator[](std::string_view name) const;  // diag::InternalError if no such arg

  bool is_none(std::string_view name) const;
  const TensorMeta& meta(std::string_view name) const;         // fake side
  const TensorMeta* opt_meta(std::string_view name) const;     // nullptr when None
  const Tensor& tensor(std::string_view name) const;           // real side
  const Tensor* opt_tensor(std::string_view name) const;
  const std::vector<TensorMeta>& metas(std::string_view name) const;
  const std::vector<Tensor>& tensors(std::string_view name) const;
  const SymInt& sym_int(std::string_view name) const;
  std::int64_t int_value(std::string_view name) const;         // concrete int; error if symbolic
  std::optional<std::int64_t> opt_int(std::string_view name) const;
  const std::vector<SymInt>& sym_ints(std::string_view name) const;
  std::vector<std::int64_t> ints(std::string_view name) const;
  double f64(std::string_view name) const;
  std::optional<double> opt_f64(std::string_view name) const;
  bool flag(std::string_view name) const;
  const std::string& str(std::string_view name) const;
  DType dtype(std::string_view name) const;
  std::optional<DType> opt_dtype(std::string_view name) const;
  // A `Scalar` argument: SymInt (Python int), double (float) or bool.
  const Value& scalar(std::string_view name) const;
  double scalar_f64(std::string_view name) const;  // its value as a double
  // Sizes of a tensor argument on either side (concrete sizes for a Tensor).
  std::vector<SymInt> sizes(std::string_view name) const;

 private:
  const Schema* schema_;
  std::span<const Value> values_;
};

// Where the fake impl runs: the ShapeEnv that decides its constraints, and the op name
// used in diagnostics.
struct FakeContext {
  sym::ShapeEnv& env;
  std::string_view op;
};

// Outputs of a call: TensorMeta / Tensor per schema return (None for an absent `Tensor?`).
using Outputs = std::vector<Value>;

// Output allocation for kernels. Eager calls and opcheck allocate fresh tensors; the
// executor hands out planned arena slices (and checks the request matches the plan).
class Allocator {
 public:
  virtual ~Allocator() = default;
  // The output_index-th output of the current call.
  virtual Tensor output(std::size_t output_index, tensor::Shape sizes, DType dtype) = 0;
  // Scratch bytes for the current call, 64-byte aligned, valid until the call returns.
  virtual std::span<std::byte> workspace(std::size_t nbytes) = 0;
};

// Fresh tensors from the heap. With fill_nan, outputs start as NaN (ints: a sentinel) so an
// element a kernel forgets to write fails opcheck.
class HeapAllocator final : public Allocator {
 public:
  explicit HeapAllocator(bool fill_nan = false) : fill_nan_(fill_nan) {}
  Tensor output(std::size_t, tensor::Shape sizes, DType dtype) override;
  std::span<std::byte> workspace(std::size_t nbytes) override;

 private:
  bool fill_nan_ = false;
  std::vector<std::shared_ptr<tensor::Storage>> scratch_;
};

struct KernelContext {
  Allocator& alloc;
  int threads = 0;  // 0: OpenMP default
};

using FakeFn = std::function<Outputs(const Args&, FakeContext&)>;
using KernelFn = std::function<Outputs(const Args&, KernelContext&)>;

// Instruction-set features a variant needs; checked at run time (tensor/cpu_features.hpp).
using tensor::Isa;
using tensor::cpu_supports;
using tensor::isa_name;

struct Applicability {
  sym::Truth truth = sym::Truth::kTrue;
  std::string reason{};  // why not (or which guard it needs), e.g. "N % 64 == 0 is unknown: N = ..."
  static Applicability yes() { return {}; }
  static Applicability no(std::string why) { return {sym::Truth::kFalse, std::move(why)}; }
};

// A preparation step that rewrites some arguments once at load time (transpose a weight
// and its scale together, convert scales to UE8M0, pack). Both sides are given so the
// trace sees post-preparation metas.
struct Prepare {
  std::string name{};                   // "block_fp8_gemm.deepgemm.prepare"
  std::vector<std::string> rewrites{};  // schema args it replaces, e.g. {"w", "w_scale"}
  std::function<Outputs(const Args&, FakeContext&)> fake{};  // new metas, in `rewrites` order
  std::function<Outputs(const Args&)> run{};                  // new tensors, in `rewrites` order
};

struct Variant {
  std::string name{};  // "block_fp8_gemm.avx512_bf16"
  Isa isa = Isa::kNone;
  std::string rule{};  // the rule in words: "bf16 out, N % 64 == 0, K % 128 == 0"
  // Empty: always applicable (given the ISA).
  std::function<Applicability(const Args& metas, sym::ShapeEnv& env)> applicable{};
  KernelFn run{};
  std::optional<Prepare> prepare{};
};

// Tolerance for comparing a variant with the reference (opcheck).
struct Tolerance {
  double atol = 1e-5;
  double rtol = 1e-5;
  // Optional custom comparison: returns an error message or empty.
  std::function<std::string(const Args& inputs, std::size_t output, const Tensor& got,
                            const Tensor& ref)> compare{};
};

// Sample inputs for opcheck: valid calls of several leading ranks and awkward sizes.
struct Sample {
  std::string label{};             // "M7_N130_K257_lead2"
  std::vector<Value> args{};       // real tensors, schema order (defaults may be omitted)
  bool expect_error = false;       // fake and real must both reject it
};
using SampleFn = std::function<std::vector<Sample>(std::uint64_t seed)>;

// Every member has a default so designated initializers may name just a few
// (`OpDef{.name = ..., .schema = ...}`) without -Wmissing-field-initializers.
struct OpDef {
  std::string name{};
  Schema schema{};
  std::string doc{};                       // one line
  std::vector<std::string> constraints{};  // "C1: x.size(-1) == K", ... (OPS.md labels)
  FakeFn fake{};
  KernelFn reference{};
  std::vector<Variant> variants{};  // fastest first; the reference is implicitly last
  Tolerance tolerance{};
  SampleFn samples{};
  bool is_view = false;  // outputs alias inputs (views); no allocation
};

// Bind positional + named values to a schema: fills defaults, checks arity and types.
// Throws diag::Error (code "schema-call") naming the argument.
std::vector<Value> bind_args(const Schema& s, std::vector<Value> positional,
                             const std::vector<std::pair<std::string, Value>>& named = {});

}  // namespace symtrace::op
