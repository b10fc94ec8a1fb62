// rms_norm / fused_add_rms_norm: fake, constraints, the row kernels on every ISA path against
// the f64 reference with the HF rounding order, and opcheck.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/elem.hpp"
#include "ops/linear/nn_testing.hpp"
#include "ops/rms_norm/kernels.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(RmsNorm, FakeKeepsShapeAndPerHeadNormsWork) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"B", "S", "Hq", "D"}, DType::kBF16);
  const TensorMeta w = sym_meta(env, {"D"}, DType::kBF16);
  EXPECT_EQ(meta_of(fake("rms_norm", env, {x, w, 1e-6})).shape_str(), "[B, S, Hq, D]");
  const op::Outputs o = fake("fused_add_rms_norm", env, {x, x, w, 1e-6});
  EXPECT_EQ(meta_of(o, 1).shape_str(), "[B, S, Hq, D]");
  EXPECT_TRUE(env.guards().empty());
}

TEST(RmsNorm, C1_RejectsScalar) { EXPECT_EQ(rejection("rms_norm", {meta({}), meta({1}), 1e-6}).constraint, "C1"); }

TEST(RmsNorm, C2_RejectsWeightOfWrongSize) {
  const Rejection r = rejection("rms_norm", {meta({2, 3, 7}), meta({8}), 1e-6});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C2");
  EXPECT_EQ(r.argument, "w");
}

TEST(RmsNorm, C3_RejectsMixedDtypes) {
  EXPECT_EQ(rejection("rms_norm", {meta({2, 8}, DType::kBF16), meta({8}), 1e-6}).constraint, "C3");
  EXPECT_EQ(rejection("rms_norm", {meta({2, 8}, DType::kI32), meta({8}, DType::kI32), 1e-6}).code, "dtype");
}

TEST(RmsNorm, C4_RejectsResidualOfOtherShape) {
  const Rejection r = rejection("fused_add_rms_norm", {meta({2, 8}), meta({2, 1, 8}), meta({8}), 1e-6});
  EXPECT_EQ(r.constraint, "C4");
  EXPECT_EQ(r.argument, "residual");
}

TEST(RmsNormKernels, EveryPathFollowsTheRoundingOrder) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kNone})
    for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
      for (std::int64_t H : {1, 7, 16, 17, 64, 257, 4099})
        for (bool fused : {false, true}) {
          const std::int64_t rows = 3, ld = H + 3;
          const std::size_t n = static_cast<std::size_t>(rows * ld) * 4;
          std::vector<unsigned char> x(n), res(n), w(static_cast<std::size_t>(H) * 4), y(n), ro(n);
          for (std::int64_t i = 0; i < rows * ld; ++i) {
            elem::store(x.data(), dt, i, u(rng));
            elem::store(res.data(), dt, i, u(rng));
          }
          for (std::int64_t i = 0; i < H; ++i) elem::store(w.data(), dt, i, 0.5f + std::fabs(u(rng)));
          if (fused)
            kernels::fused_add_rms_norm_rows(rows, H, x.data(), ld, res.data(), ld, w.data(), y.data(), ld,
                                             ro.data(), ld, 1e-6f, dt, isa);
          else
            kernels::rms_norm_rows(rows, H, x.data(), ld, w.data(), y.data(), ld, 1e-6f, dt, isa);
          for (std::int64_t r = 0; r < rows; ++r) {
            std::vector<double> v(static_cast<std::size_t>(H));
            double ss = 0;
            for (std::int64_t h = 0; h < H; ++h) {
              double a = elem::load(x.data(), dt, r * ld + h);
              if (fused) {
                a = nn::round_to(dt, a + elem::load(res.data(), dt, r * ld + h));
                EXPECT_EQ(elem::load(ro.data(), dt, r * ld + h), a);
              }
              v[static_cast<std::size_t>(h)] = a;
              ss += a * a;
            }
            const double inv = 1 / std::sqrt(ss / static_cast<double>(H) + 1e-6);
            for (std::int64_t h = 0; h < H; ++h) {
              const double ref = elem::load(w.data(), dt, h) * nn::round_to(dt, v[static_cast<std::size_t>(h)] * inv);
              const double got = elem::load(y.data(), dt, r * ld + h);
              const double tol = static_cast<double>(H + 8) * 0x1p-24 * std::fabs(ref) + 2 * nn::ulp(dt, ref);
              ASSERT_NEAR(got, ref, tol) << fmt::format("{} {} H{} fused{} row{} h{}", isa_name(isa),
                                                        tensor::name(dt), H, fused, r, h);
            }
          }
        }
}

TEST(RmsNorm, opcheck) {
  for (const char* op : {"rms_norm", "fused_add_rms_norm"}) {
    const op::OpcheckReport r = op::opcheck(def(op), 8);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

}  // namespace
}  // namespace symtrace::ops
