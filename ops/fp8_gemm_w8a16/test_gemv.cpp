// fp8_gemm_w8a16 decode path (NK e4m3 weight, M <= kGemvMaxM: block_fp8_gemm's GEMV with one
// K block and the channel scale as a bn = 1 grid): every NK variant against the reference
// within the OPS.md §15.7 bound for M = 1..9 and 64, bf16 and f16 activations, per-tensor and
// per-channel scales, ragged and 576-wide N, strided rows; under every SYMTRACE_ISA cap and
// with 1 and 2 OpenMP threads.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/ops.hpp>

#include "ops/common/gemm_op.hpp"
#include "ops/common/gemm_testing.hpp"
#include "ops/fp8_gemm_w8a16/w8a16.hpp"

namespace symtrace::ops {
namespace {

using gemm_op::random;
using gemm_op::random_scale;
using tensor::DType;
using tensor::Tensor;
using testing::ScopedIsa;

const op::OpDef& def() { return registry().get("fp8_gemm_w8a16"); }

struct Case {
  std::int64_t M, K, N;
  DType x = DType::kBF16;
  bool per_channel = true;
};

std::vector<op::Value> bound_call(const Case& c, std::uint64_t seed) {
  return op::bind_args(def().schema,
                       {random({c.M, c.K}, c.x, seed, -2.f, 2.f),
                        random({c.N, c.K}, DType::kF8E4M3FN, seed + 1, -448.f, 448.f),
                        c.per_channel ? random_scale({c.N, 1}, seed + 2, 1e-3f, 1e-2f)
                                      : gemm_op::scalar_f32(0.0071f),
                        random({c.N}, c.x, seed + 3, -2.f, 2.f)});
}

// Every NK variant this cap allows, 1 and 2 threads; returns the number of runs.
int check_variants(const std::vector<op::Value>& args, const std::string& what) {
  const gemm_op::RefResult ref = fp8_gemm_w8a16::ref_result(op::Args(def().schema, args));
  const auto metas = op::metas_of(args);
  int runs = 0;
  for (const op::Variant& v : def().variants) {
    if (v.prepare || !op::cpu_supports(v.isa)) continue;
    sym::ShapeEnv env;
    if (v.applicable(op::Args(def().schema, metas), env).truth != sym::Truth::kTrue) continue;
    for (int threads : {1, 2}) {
      op::HeapAllocator heap(/*fill_nan=*/true);
      op::KernelContext cx{heap, threads};
      const auto out = v.run(op::Args(def().schema, args), cx);
      EXPECT_EQ(gemm_op::compare_to_bound(boost::variant2::get<Tensor>(out[0]), ref), "")
          << v.name << " threads=" << threads << " " << what;
      ++runs;
    }
  }
  return runs;
}

TEST(Fp8GemmW8a16Gemv, EveryKernelMatchesTheReference) {
  std::vector<Case> cases;
  for (std::int64_t M = 1; M <= 9; ++M)
    cases.push_back({M, 256 + 32 * M, 128 + 17 * M, M % 3 == 0 ? DType::kF16 : DType::kBF16,
                     M % 2 == 1});
  cases.push_back({1, 1536, 576});
  cases.push_back({2, 77, 5, DType::kF16, false});  // K below one 32-lane step
  cases.push_back({64, 160, 48});                   // the largest GEMV M
  std::uint64_t seed = 500;
  for (const Case& c : cases) {
    seed += 11;
    const auto args = bound_call(c, seed);
    for (const char* isa : testing::isa_paths()) {
      ScopedIsa scope(isa);
      const std::string what = fmt::format("{} M{} K{} N{} x={} {}", isa, c.M, c.K, c.N,
                                           tensor::name(c.x), c.per_channel ? "[N,1]" : "[1]");
      EXPECT_GE(check_variants(args, what), 2) << what;
    }
  }
}

TEST(Fp8GemmW8a16Gemv, StridedRows) {
  const Tensor wide = random({3, 300}, DType::kBF16, 8, -2.f, 2.f);
  auto args = bound_call({3, 256, 100}, 9);
  args[0] = wide.narrow(1, 40, 256);
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    EXPECT_GE(check_variants(args, fmt::format("{} strided", isa)), 2);
  }
}

}  // namespace
}  // namespace symtrace::ops
