// block_fp8_gemm: every variant against the reference on awkward shapes and every ISA path
// (generic variants within the OPS.md §15.7 bound; deepgemm_like within it against the
// reference of its own prepared operands), the requantizing prepare, symbolic applicability,
// refdata block cases, one negative test per constraint.
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/ops.hpp>

#include "ops/block_fp8_gemm/block_fp8.hpp"
#include "ops/common/gemm_op.hpp"
#include "ops/common/gemm_testing.hpp"

namespace symtrace::ops {
namespace {

using gemm_op::random;
using gemm_op::random_scale;
using tensor::DType;
using tensor::Tensor;
using tensor::TensorMeta;
using testing::fake_error;
using testing::ScopedIsa;
using Err = std::pair<std::string, std::string>;

const op::OpDef& def() { return registry().get("block_fp8_gemm"); }

struct Case {
  tensor::Shape lead;
  std::int64_t K, N;
  DType x = DType::kBF16;
  std::string act_quant = "group";
  std::int64_t bn = 128, bk = 128;
};

std::vector<op::Value> call(const Case& c, std::uint64_t seed, op::Value out = op::None{}) {
  tensor::Shape xs = c.lead;
  xs.push_back(c.K);
  const DType od =
      boost::variant2::holds_alternative<DType>(out) ? boost::variant2::get<DType>(out) : c.x;
  return {random(xs, c.x, seed, -3.f, 3.f),
          random({c.N, c.K}, DType::kF8E4M3FN, seed + 1, -448.f, 448.f),
          random_scale({(c.N + c.bn - 1) / c.bn, (c.K + c.bk - 1) / c.bk}, seed + 2, 1e-4f, 1e-3f),
          std::vector<SymInt>{c.bn, c.bk},
          c.act_quant,
          out,
          random({c.N}, od, seed + 3, -1.f, 1.f)};
}

// Runs every plain (no-prepare) variant this ISA cap allows and compares it with the
// reference within the §15.7 bound; returns the number of variants run.
int check_plain_variants(const std::vector<op::Value>& args, const std::string& what) {
  const auto bound = op::bind_args(def().schema, args);
  const gemm_op::RefResult ref = block_fp8_gemm::ref_result(op::Args(def().schema, bound), false);
  const auto metas = op::metas_of(bound);
  int runs = 0;
  for (const op::Variant& v : def().variants) {
    if (v.prepare || !op::cpu_supports(v.isa)) continue;
    sym::ShapeEnv env;
    if (v.applicable(op::Args(def().schema, metas), env).truth != sym::Truth::kTrue) continue;
    op::HeapAllocator heap(/*fill_nan=*/true);
    op::KernelContext cx{heap};
    const auto out = v.run(op::Args(def().schema, bound), cx);
    EXPECT_EQ(gemm_op::compare_to_bound(boost::variant2::get<Tensor>(out[0]), ref), "")
        << v.name << " " << what;
    ++runs;
  }
  return runs;
}

TEST(BlockFp8Gemm, OpcheckSamples) {
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const op::OpcheckReport r = op::opcheck(def(), 6);
    EXPECT_TRUE(r.ok()) << isa << ": " << r.str();
  }
}

TEST(BlockFp8Gemm, GenericVariantsOnAwkwardShapes) {
  const std::vector<Case> cases = {{{0}, 130, 24},
                                   {{1}, 257, 33},
                                   {{3}, 100, 130, DType::kF16},
                                   {{17}, 129, 65},
                                   {{128}, 64, 70},
                                   {{257}, 72, 19, DType::kF32},
                                   {{}, 33, 7},
                                   {{2, 3}, 515, 31},
                                   {{2, 1, 5}, 300, 200},
                                   {{5}, 384, 256, DType::kBF16, "none"},
                                   {{4}, 96, 40, DType::kBF16, "group", 32, 64}};
  std::uint64_t seed = 40;
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    for (const Case& c : cases) {
      seed += 5;
      const int runs =
          check_plain_variants(call(c, seed), fmt::format("{} K{} N{}", isa, c.K, c.N));
      EXPECT_GE(runs, 1) << isa;
    }
  }
}

const op::Variant& deepgemm() {
  for (const op::Variant& v : def().variants)
    if (v.prepare) return v;
  throw std::logic_error("no deepgemm_like variant");
}

TEST(BlockFp8Gemm, DeepgemmLikeRequantizesAndMatchesItsOperands) {
  if (!op::cpu_supports(tensor::Isa::kAvx512Bf16)) GTEST_SKIP() << "needs AVX512_BF16";
  const auto args = op::bind_args(def().schema, call({{2, 9}, 384, 256}, 77));
  const op::Prepare& p = *deepgemm().prepare;
  const op::Outputs prep = p.run(op::Args(def().schema, args));
  const Tensor& wq = boost::variant2::get<Tensor>(prep[0]);
  const Tensor& sq = boost::variant2::get<Tensor>(prep[1]);
  // Scales are exact powers of two, and q_new * s_new stays within one e4m3 rounding of q * s.
  const std::vector<double> s_old = boost::variant2::get<Tensor>(args[2]).to_f64(),
                            s_new = sq.to_f64();
  const std::vector<double> w_old = boost::variant2::get<Tensor>(args[1]).to_f64(),
                            w_new = wq.to_f64();
  for (double s : s_new) EXPECT_EQ(std::exp2(std::round(std::log2(s))), s);
  const std::int64_t K = 384;
  for (std::int64_t i = 0; i < 256 * K; i += 97) {
    const std::int64_t blk = (i / K / 128) * 3 + (i % K) / 128;
    const double before = w_old[i] * s_old[blk], after = w_new[i] * s_new[blk];
    EXPECT_LE(std::fabs(after - before), std::fabs(before) / 16 + s_new[blk] / 512) << i;
  }
  // The prepared bundle: deepgemm_like applies, the generic variants refuse it.
  std::vector<op::Value> prepared = args;
  prepared[1] = wq;
  prepared[2] = sq;
  std::vector<op::Value> metas = op::metas_of(prepared);
  sym::ShapeEnv env;
  op::FakeContext fcx{env, "block_fp8_gemm"};
  const op::Outputs pm = p.fake(op::Args(def().schema, op::metas_of(args)), fcx);
  metas[1] = pm[0];
  metas[2] = pm[1];
  EXPECT_EQ(deepgemm().applicable(op::Args(def().schema, metas), env).truth, sym::Truth::kTrue);
  EXPECT_EQ(def().variants[1].applicable(op::Args(def().schema, metas), env).truth,
            sym::Truth::kFalse);
  EXPECT_THROW(p.fake(op::Args(def().schema, metas), fcx), diag::Error);  // twice: refused
  // Tight against the reference on its own operands (pow2 activation scales) ...
  op::HeapAllocator heap(true);
  op::KernelContext cx{heap};
  const Tensor got =
      boost::variant2::get<Tensor>(deepgemm().run(op::Args(def().schema, prepared), cx)[0]);
  EXPECT_EQ(gemm_op::compare_to_bound(
                got, block_fp8_gemm::ref_result(op::Args(def().schema, prepared), true)),
            "");
  // ... and within the quantization bar of the original f32-scale reference.
  const gemm_op::RefResult orig = block_fp8_gemm::ref_result(op::Args(def().schema, args), false);
  const std::vector<double> g = got.to_f64();
  double num = 0, den = 0;
  for (std::size_t i = 0; i < g.size(); ++i)
    num += (g[i] - orig.y[i]) * (g[i] - orig.y[i]), den += orig.y[i] * orig.y[i];
  EXPECT_LE(std::sqrt(num / den), 0.05);
}

// Applicability is decided symbolically with the reason OPS.md §13 asks for.
TEST(BlockFp8Gemm, DeepgemmApplicabilityIsSymbolic) {
  sym::ShapeEnv env;
  const sym::Expr M = env.new_symbol("M", "input x dim 0");
  const sym::Expr N =
      env.new_symbol("N", "config.intermediate_size / tp", sym::SymbolKind::kConfig);
  const sym::Expr K = env.new_symbol("K", "config.hidden_size", sym::SymbolKind::kConfig);
  env.assume_divisible(K, 128);
  TensorMeta x = TensorMeta::contiguous({M, K}, DType::kBF16);
  TensorMeta w = TensorMeta::contiguous({N, K}, DType::kF8E4M3FN);
  TensorMeta s = TensorMeta::contiguous({sym::ceildiv(N, 128), sym::ceildiv(K, 128)}, DType::kF32);
  s.scale_fmt = tensor::ScaleFormat::kF32Pow2;
  std::vector<op::Value> metas = {
      x, w, s, std::vector<SymInt>{128, 128}, std::string("group"), op::None{}, op::None{}};
  const op::Applicability a = deepgemm().applicable(op::Args(def().schema, metas), env);
  EXPECT_EQ(a.truth, sym::Truth::kUnknown);
  EXPECT_NE(a.reason.find("N % 64 == 0 is unknown: N = N"), std::string::npos) << a.reason;
  env.assume_divisible(N, 64);
  EXPECT_EQ(deepgemm().applicable(op::Args(def().schema, metas), env).truth, sym::Truth::kTrue);
  metas[5] = DType::kF16;
  const op::Applicability f16 = deepgemm().applicable(op::Args(def().schema, metas), env);
  EXPECT_EQ(f16.truth, sym::Truth::kFalse);
  EXPECT_NE(f16.reason.find("out_dtype f16"), std::string::npos) << f16.reason;
  // The op's fake keeps the symbolic leading dim and reads N from the bundle.
  metas[5] = op::None{};
  const op::Outputs out = op::fake_call(def(), metas, env);
  EXPECT_EQ(boost::variant2::get<TensorMeta>(out[0]).shape_str(), "[M, N]");
}

Tensor as_fp8(const Tensor& bits) {
  Tensor t = Tensor::empty(bits.sizes(), DType::kF8E4M3FN);
  std::memcpy(t.data_ptr(), bits.contiguous().data_ptr(), bits.nbytes());
  return t;
}

// refdata block0..2: the op quantizes x_f32 itself (s = amax / 448, RNE e4m3 — the same codes
// as x_bits) and must land on ref_f64, the product of the dequantized operands.
TEST(BlockFp8Gemm, RefdataBlockCases) {
  const auto& v = testing::gemm_vectors();
  for (const char* c : {"block0", "block1", "block2"}) {
    const Tensor x = v.at(fmt::format("{}.x_f32", c));
    const Tensor w = as_fp8(v.at(fmt::format("{}.w_bits", c)));
    const Tensor ws = v.at(fmt::format("{}.w_scale_inv", c));
    const std::vector<double> ref = v.at(fmt::format("{}.ref_f64", c)).to_f64();
    const std::vector<op::Value> args = {
        x, w, ws, std::vector<SymInt>{128, 128}, std::string("group"), DType::kF32, op::None{}};
    const auto bound = op::bind_args(def().schema, args);
    const gemm_op::RefResult ours =
        block_fp8_gemm::ref_result(op::Args(def().schema, bound), false);
    for (std::size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(ours.y[i], ref[i], ours.bound[i] + 1e-12) << c << " reference element " << i;
    for (const char* isa : testing::isa_paths()) {
      ScopedIsa scope(isa);
      const auto got = boost::variant2::get<Tensor>(op::call(def(), args)[0]).to_f64();
      for (std::size_t i = 0; i < ref.size(); ++i)
        ASSERT_NEAR(got[i], ref[i], 2 * ours.bound[i] + 1e-12) << c << " " << isa << " " << i;
    }
  }
}

const Case kC{{3}, 256, 128};

TEST(BlockFp8Gemm, C1_RejectsFp8Activation) {
  auto a = call(kC, 1);
  a[0] = random({3, 256}, DType::kF8E4M3FN, 1);
  EXPECT_EQ(fake_error(def(), a), (Err{"dtype", "C1"}));
}
TEST(BlockFp8Gemm, C2_RejectsInt8Weight) {
  auto a = call(kC, 1);
  a[1] = random({128, 256}, DType::kI8, 1, -9.f, 9.f);
  EXPECT_EQ(fake_error(def(), a), (Err{"dtype", "C2"}));
}
TEST(BlockFp8Gemm, C3_RejectsTransposedScaleGrid) {
  auto a = call(kC, 1);
  a[2] = random_scale({2, 1}, 1, 0.1f, 1.f);
  EXPECT_EQ(fake_error(def(), a), (Err{"scale-layout", "C3"}));
}
TEST(BlockFp8Gemm, C3_RejectsFloorDividedGrid) {
  auto a = call({{3}, 300, 130}, 1);
  a[2] = random_scale({1, 2}, 1, 0.1f, 1.f);  // N / 128, K / 128 instead of cdiv
  EXPECT_EQ(fake_error(def(), a), (Err{"scale-layout", "C3"}));
}
TEST(BlockFp8Gemm, C3_RejectsUe8m0ByteScale) {
  auto a = call(kC, 1);
  a[2] = Tensor::zeros({1, 2}, DType::kF8E8M0FNU);
  EXPECT_EQ(fake_error(def(), a), (Err{"scale-format", "C3"}));
}
TEST(BlockFp8Gemm, C3_RejectsSquareGridWithOtherLayoutTag) {
  // N == K and a square grid: shapes cannot tell, the layout tag does (OPS.md §7).
  auto a = call({{3}, 256, 256}, 1);
  std::vector<op::Value> metas = op::metas_of(op::bind_args(def().schema, a));
  boost::variant2::get<TensorMeta>(metas[2]).layout = tensor::WeightLayout::kKN;
  sym::ShapeEnv env;
  try {
    op::fake_call(def(), metas, env);
    ADD_FAILURE() << "accepted a KN-tagged grid on an NK weight";
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "scale-layout");
    EXPECT_EQ(e.diagnostic().constraint, "C3");
  }
}
TEST(BlockFp8Gemm, C4_RejectsKMismatch) {
  auto a = call(kC, 1);
  a[0] = random({3, 255}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), a), (Err{"shape", "C4"}));
}
TEST(BlockFp8Gemm, C5_RejectsZeroBlock) {
  auto a = call(kC, 1);
  a[3] = std::vector<SymInt>{0, 128};
  EXPECT_EQ(fake_error(def(), a), (Err{"argument", "C5"}));
}
TEST(BlockFp8Gemm, C6_RejectsUnknownActQuant) {
  auto a = call(kC, 1);
  a[4] = std::string("token");
  EXPECT_EQ(fake_error(def(), a), (Err{"argument", "C6"}));
}
TEST(BlockFp8Gemm, C7_RejectsIntOutput) {
  auto a = call(kC, 1);
  a[5] = DType::kI8;
  a[6] = op::None{};
  EXPECT_EQ(fake_error(def(), a), (Err{"dtype", "C7"}));
}
TEST(BlockFp8Gemm, C8_RejectsBiasOfWrongLength) {
  auto a = call(kC, 1);
  a[6] = random({127}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), a), (Err{"shape", "C8"}));
}

}  // namespace
}  // namespace symtrace::ops
