// Cost of the op layer: fake calls (what tracing a model pays per op) and the elementwise
// kernels (add, mul, silu_and_mul) against a memcpy of the same bytes, the bandwidth bound.
//
//   ./op_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Issue #3 asks for the fake call of linear on a [B, S, K] meta to cost <= 1 us.
#include <cstdlib>
#include <cstring>

#include <benchmark/benchmark.h>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

namespace {

using namespace symtrace;
using tensor::DType;
using tensor::Tensor;
using tensor::TensorMeta;

// A [B, S, K] activation with symbolic B and S, as the tracer sees one.
struct SymbolicInput {
  sym::ShapeEnv env;
  TensorMeta x;
  SymbolicInput(std::int64_t k, DType d) {
    const sym::Expr b = env.new_symbol("B", "input x dim 0");
    const sym::Expr s = env.new_symbol("S", "input x dim 1");
    x = TensorMeta::contiguous({b, s, k}, d);
  }
};

// linear(x [B, S, 4096], w [11008, 4096]) with arguments bound once (the tracer binds once
// per call site; binding is measured separately below).
void BM_FakeLinearSymbolic(benchmark::State& state) {
  SymbolicInput in(4096, DType::kBF16);
  const op::OpDef& linear = ops::registry().get("linear");
  const std::vector<op::Value> args =
      op::bind_args(linear.schema, {in.x, TensorMeta::contiguous({11008, 4096}, DType::kBF16)});
  for (auto _ : state) benchmark::DoNotOptimize(op::fake_call(linear, args, in.env));
  state.counters["ns_per_call"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FakeLinearSymbolic)->Unit(benchmark::kNanosecond);

// The same with binding positional arguments to the schema inside the loop.
void BM_FakeLinearSymbolicWithBinding(benchmark::State& state) {
  SymbolicInput in(4096, DType::kBF16);
  const op::OpDef& linear = ops::registry().get("linear");
  const TensorMeta w = TensorMeta::contiguous({11008, 4096}, DType::kBF16);
  for (auto _ : state) benchmark::DoNotOptimize(op::bind_and_fake(linear, {in.x, w}, in.env));
}
BENCHMARK(BM_FakeLinearSymbolicWithBinding)->Unit(benchmark::kNanosecond);

void BM_FakeLinearConcrete(benchmark::State& state) {
  sym::ShapeEnv env;
  const op::OpDef& linear = ops::registry().get("linear");
  const std::vector<op::Value> args = op::bind_args(
      linear.schema, {TensorMeta::contiguous({4, 128, 4096}, DType::kBF16), TensorMeta::contiguous({11008, 4096}, DType::kBF16)});
  for (auto _ : state) benchmark::DoNotOptimize(op::fake_call(linear, args, env));
}
BENCHMARK(BM_FakeLinearConcrete)->Unit(benchmark::kNanosecond);

// [B, S, H*D] -> [B, S, H, D], the attention head split.
void BM_FakeViewHeads(benchmark::State& state) {
  SymbolicInput in(4096, DType::kBF16);
  const op::OpDef& view = ops::registry().get("view");
  const std::vector<op::Value> args = op::bind_args(
      view.schema, {in.x, std::vector<sym::SymInt>{in.x.sizes[0], in.x.sizes[1], 32, 128}});
  for (auto _ : state) benchmark::DoNotOptimize(op::fake_call(view, args, in.env));
}
BENCHMARK(BM_FakeViewHeads)->Unit(benchmark::kNanosecond);

// Residual add [B, S, K] + [B, S, K] and a bias add [B, S, K] + [K].
void BM_FakeAddSymbolic(benchmark::State& state) {
  SymbolicInput in(4096, DType::kBF16);
  const op::OpDef& add = ops::registry().get("add");
  const TensorMeta other = state.range(0) ? TensorMeta::contiguous({4096}, DType::kBF16) : in.x;
  const std::vector<op::Value> args = op::bind_args(add.schema, {in.x, other});
  for (auto _ : state) benchmark::DoNotOptimize(op::fake_call(add, args, in.env));
  state.SetLabel(state.range(0) ? "bias [K]" : "residual [B,S,K]");
}
BENCHMARK(BM_FakeAddSymbolic)->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

// --- kernels --------------------------------------------------------------------------------

// Hands out the same output buffer every call, as the executor's planned arena does, so the
// loop measures the kernel and not page faults of a fresh 2 MiB allocation.
class Arena final : public op::Allocator {
 public:
  Tensor output(std::size_t, tensor::Shape sizes, DType dtype) override {
    if (!out_.defined() || out_.sizes() != sizes || out_.dtype() != dtype) out_ = Tensor::empty(sizes, dtype);
    return out_;
  }
  std::span<std::byte> workspace(std::size_t) override { return {}; }

 private:
  Tensor out_;
};

// Runs op on n elements per input with SYMTRACE_ISA capped to `isa` (the variant picked is
// the first applicable one under the cap).
void run_kernel(benchmark::State& state, const char* op_name, const char* isa, DType d, bool unary_2x) {
  ::setenv("SYMTRACE_ISA", isa, 1);
  const std::int64_t n = state.range(0);
  const op::OpDef& def = ops::registry().get(op_name);
  Tensor a = Tensor::empty({n / 4096, unary_2x ? 2 * 4096 : 4096}, d), b = Tensor::empty({n / 4096, 4096}, d);
  a.fill_random(1);
  b.fill_random(2);
  std::vector<op::Value> args = unary_2x ? std::vector<op::Value>{a} : std::vector<op::Value>{a, b};
  const std::vector<op::Value> bound = op::bind_args(def.schema, args);
  const op::Variant* v = op::select_variant(def, op::metas_of(bound));
  Arena arena;
  op::KernelContext cx{arena};
  for (auto _ : state) benchmark::DoNotOptimize(v ? v->run(op::Args(def.schema, bound), cx) : def.reference(op::Args(def.schema, bound), cx));
  const double bytes = static_cast<double>(n) * static_cast<double>(tensor::info(d).bytes) * 3;  // 2 reads + 1 write
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.SetLabel(v ? v->name : "reference");
  ::unsetenv("SYMTRACE_ISA");
}

void BM_AddBf16Avx512(benchmark::State& s) { run_kernel(s, "add", "avx512", DType::kBF16, false); }
void BM_AddBf16Scalar(benchmark::State& s) { run_kernel(s, "add", "scalar", DType::kBF16, false); }
void BM_AddF32Avx512(benchmark::State& s) { run_kernel(s, "add", "avx512", DType::kF32, false); }
void BM_AddF32Scalar(benchmark::State& s) { run_kernel(s, "add", "scalar", DType::kF32, false); }
void BM_MulBf16Avx512(benchmark::State& s) { run_kernel(s, "mul", "avx512", DType::kBF16, false); }
void BM_SiluAndMulBf16Avx512(benchmark::State& s) { run_kernel(s, "silu_and_mul", "avx512", DType::kBF16, true); }
void BM_SiluAndMulBf16Scalar(benchmark::State& s) { run_kernel(s, "silu_and_mul", "scalar", DType::kBF16, true); }
void BM_SiluAndMulF32Avx512(benchmark::State& s) { run_kernel(s, "silu_and_mul", "avx512", DType::kF32, true); }
constexpr std::int64_t kElems = 4096 * 256;  // a [256, 4096] activation: 2 MiB of bf16
BENCHMARK(BM_AddBf16Avx512)->Arg(kElems)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AddBf16Scalar)->Arg(kElems)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AddF32Avx512)->Arg(kElems)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AddF32Scalar)->Arg(kElems)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MulBf16Avx512)->Arg(kElems)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SiluAndMulBf16Avx512)->Arg(kElems)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SiluAndMulBf16Scalar)->Arg(kElems)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SiluAndMulF32Avx512)->Arg(kElems)->Unit(benchmark::kMicrosecond);

// Baseline: copying the same bytes (2 reads + 1 write of bf16 elements) is the floor.
void BM_MemcpyBaseline(benchmark::State& state) {
  const std::size_t bytes = static_cast<std::size_t>(state.range(0)) * 2;
  std::vector<std::byte> src(2 * bytes), dst(bytes);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    std::memcpy(dst.data(), src.data() + bytes, bytes);
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(3 * bytes) * state.iterations());
}
BENCHMARK(BM_MemcpyBaseline)->Arg(kElems)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
