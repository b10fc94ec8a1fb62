// block_fp8_gemm decode GEMV (M <= kGemvMaxM inside every variant): each kernel (AVX-512 BF16,
// AVX2, scalar) against the reference within the OPS.md §15.7 bound, for M = 1..9, 16, 40 and 64, N and
// K multiples of 128 and ragged (DeepSeek kv_a_proj's N = 576), odd blocks, act_quant 'none'
// with every activation dtype, strided rows, NaN weights; under every SYMTRACE_ISA cap and with
// 1 and 2 OpenMP threads. The packed path at M = 65 must agree with the GEMV at M = 64.
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/ops.hpp>

#include "ops/block_fp8_gemm/block_fp8.hpp"
#include "ops/block_fp8_gemm/gemv.hpp"
#include "ops/common/gemm_op.hpp"
#include "ops/common/gemm_testing.hpp"

namespace symtrace::ops {
namespace {

using gemm_op::random;
using gemm_op::random_scale;
using tensor::DType;
using tensor::Tensor;
using testing::ScopedIsa;

const op::OpDef& def() { return registry().get("block_fp8_gemm"); }

struct Case {
  std::int64_t M, K, N;
  DType x = DType::kBF16;
  std::string act_quant = "group";
  std::int64_t bn = 128, bk = 128;
  DType out = DType::kBF16;
};

std::string label(const Case& c) {
  return fmt::format("M{} K{} N{} x={} {} block [{}, {}] out={}", c.M, c.K, c.N,
                     tensor::name(c.x), c.act_quant, c.bn, c.bk, tensor::name(c.out));
}

std::vector<op::Value> bound_call(const Case& c, std::uint64_t seed) {
  return op::bind_args(
      def().schema,
      {random({c.M, c.K}, c.x, seed, -3.f, 3.f),
       random({c.N, c.K}, DType::kF8E4M3FN, seed + 1, -448.f, 448.f),
       random_scale({(c.N + c.bn - 1) / c.bn, (c.K + c.bk - 1) / c.bk}, seed + 2, 1e-4f, 1e-3f),
       std::vector<SymInt>{c.bn, c.bk}, c.act_quant, c.out, random({c.N}, c.out, seed + 3)});
}

// Runs every plain variant the current ISA cap allows, with 1 and 2 threads, against `ref`.
// Returns the number of runs.
int check_variants(const std::vector<op::Value>& args, const gemm_op::RefResult& ref,
                   const std::string& what) {
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

TEST(BlockFp8Gemv, EveryKernelMatchesTheReference) {
  std::vector<Case> cases;
  for (std::int64_t M = 1; M <= 9; ++M) cases.push_back({M, 256, 384});
  cases.push_back({16, 384, 128});
  cases.push_back({40, 130, 20});
  cases.push_back({64, 256, 96});  // the largest GEMV M
  cases.push_back({1, 1536, 576});  // DeepSeek kv_a_proj: N = 4.5 blocks
  cases.push_back({4, 512, 576});
  cases.push_back({9, 1152, 521});  // >= 2 x 256 KiB of weight: two threads really run
  cases.push_back({2, 300, 130});   // ragged last K block (44) and N block (2)
  cases.push_back({7, 1000, 33});   // K block ragged inside a 32-lane step
  cases.push_back({5, 200, 70, DType::kF16, "group", 32, 64});
  cases.push_back({3, 230, 45, DType::kF32, "group", 16, 50});
  cases.push_back({4, 150, 40, DType::kBF16, "group", 128, 37});  // odd bk: AVX2 and scalar
  cases.push_back({3, 384, 256, DType::kBF16, "none"});
  cases.push_back({6, 260, 66, DType::kF16, "none", 128, 128, DType::kF32});
  cases.push_back({1, 130, 17, DType::kF32, "none", 128, 128, DType::kF16});
  std::uint64_t seed = 900;
  for (const Case& c : cases) {
    seed += 7;
    const auto args = bound_call(c, seed);
    const gemm_op::RefResult ref = block_fp8_gemm::ref_result(op::Args(def().schema, args), false);
    for (const char* isa : testing::isa_paths()) {
      ScopedIsa scope(isa);
      EXPECT_GE(check_variants(args, ref, fmt::format("{} {}", isa, label(c))), 2) << isa;
    }
  }
}

// The avx512_bf16 variant asked to run under a lower SYMTRACE_ISA cap steps down at run time
// (op::cpu_supports) instead of executing instructions the cap forbids.
TEST(BlockFp8Gemv, VariantLowersItsKernelToTheIsaCap) {
  const op::Variant& v = def().variants.at(1);
  ASSERT_EQ(v.name, "block_fp8_gemm.avx512_bf16");
  const Case c{5, 384, 200};
  const auto args = bound_call(c, 31);
  const gemm_op::RefResult ref = block_fp8_gemm::ref_result(op::Args(def().schema, args), false);
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    op::HeapAllocator heap(true);
    op::KernelContext cx{heap, 2};
    const Tensor got = boost::variant2::get<Tensor>(v.run(op::Args(def().schema, args), cx)[0]);
    EXPECT_EQ(gemm_op::compare_to_bound(got, ref), "") << isa;
  }
}

// Rows with a stride (a narrowed view, row stride > K) are read in place, for act_quant 'none'
// (the kernel reads x directly) and 'group' (the quantizer reads it).
TEST(BlockFp8Gemv, StridedRows) {
  for (const char* aq : {"none", "group"}) {
    const Tensor wide = random({3, 400}, DType::kBF16, 5, -2.f, 2.f);
    const Tensor x = wide.narrow(1, 16, 256);
    auto args = bound_call({3, 256, 160, DType::kBF16, aq}, 6);
    args[0] = x;
    const gemm_op::RefResult ref =
        block_fp8_gemm::ref_result(op::Args(def().schema, args), false);
    for (const char* isa : testing::isa_paths()) {
      ScopedIsa scope(isa);
      EXPECT_GE(check_variants(args, ref, fmt::format("{} strided {}", isa, aq)), 2);
    }
  }
}

// A NaN weight code (0x7F / 0xFF) makes its output column NaN on every kernel, as in the
// reference; the other columns stay finite.
TEST(BlockFp8Gemv, NanWeightPropagates) {
  auto args = bound_call({2, 256, 64}, 12);
  Tensor w = boost::variant2::get<Tensor>(args[1]).clone();
  static_cast<std::uint8_t*>(w.data_ptr())[5 * 256 + 200] = 0xFF;
  args[1] = w;
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    for (const op::Variant& v : def().variants) {
      if (v.prepare || !op::cpu_supports(v.isa)) continue;
      op::HeapAllocator heap(true);
      op::KernelContext cx{heap, 2};
      const auto y =
          boost::variant2::get<Tensor>(v.run(op::Args(def().schema, args), cx)[0]).to_f64();
      for (std::int64_t m = 0; m < 2; ++m)
        for (std::int64_t n = 0; n < 64; ++n)
          EXPECT_EQ(std::isnan(y[m * 64 + n]), n == 5) << v.name << " " << isa << " " << m << n;
    }
  }
}

// deepgemm_like (prepared operands, pow2 activation scales) takes the GEMV for decode too.
TEST(BlockFp8Gemv, DeepgemmLikeDecode) {
  if (!op::cpu_supports(tensor::Isa::kAvx512Bf16)) GTEST_SKIP() << "needs AVX512_BF16";
  const op::Variant& v = def().variants.at(0);
  ASSERT_TRUE(v.prepare);
  for (std::int64_t M : {1, 3, 8}) {
    auto args = bound_call({M, 512, 576}, 40 + M);
    const op::Outputs prep = v.prepare->run(op::Args(def().schema, args));
    args[1] = prep[0];
    args[2] = prep[1];
    const gemm_op::RefResult ref = block_fp8_gemm::ref_result(op::Args(def().schema, args), true);
    for (int threads : {1, 2}) {
      op::HeapAllocator heap(true);
      op::KernelContext cx{heap, threads};
      const Tensor got = boost::variant2::get<Tensor>(v.run(op::Args(def().schema, args), cx)[0]);
      EXPECT_EQ(gemm_op::compare_to_bound(got, ref), "") << "M=" << M << " threads=" << threads;
    }
  }
}

// Across the switch (M = 64 GEMV, M = 65 packed) the two paths agree row for row within the
// sum of their bounds: the first 64 rows of the M = 65 call are the M = 64 problem.
TEST(BlockFp8Gemv, AgreesWithThePackedPathAtTheSwitch) {
  constexpr std::int64_t kM = block_fp8_gemm::kGemvMaxM;
  const auto big = bound_call({kM + 1, 384, 192, DType::kBF16, "group", 128, 128, DType::kF32}, 3);
  auto small = big;
  small[0] = boost::variant2::get<Tensor>(big[0]).narrow(0, 0, kM);
  const gemm_op::RefResult ref = block_fp8_gemm::ref_result(op::Args(def().schema, big), false);
  for (const op::Variant& v : def().variants) {
    if (v.prepare || !op::cpu_supports(v.isa)) continue;
    op::HeapAllocator heap(true);
    op::KernelContext cx{heap, 2};
    const auto y_big =
        boost::variant2::get<Tensor>(v.run(op::Args(def().schema, big), cx)[0]).to_f64();
    const auto y_small =
        boost::variant2::get<Tensor>(v.run(op::Args(def().schema, small), cx)[0]).to_f64();
    for (std::size_t i = 0; i < y_small.size(); ++i)
      ASSERT_NEAR(y_small[i], y_big[i], 2 * ref.bound[i]) << v.name << " element " << i;
  }
}

}  // namespace
}  // namespace symtrace::ops
