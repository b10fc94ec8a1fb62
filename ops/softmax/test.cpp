// softmax / log_softmax: fake rules, constraints, the row kernels on every ISA path against
// f64 on awkward lengths (with -inf masks and NaN), and opcheck.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/elem.hpp"
#include "ops/linear/nn_testing.hpp"
#include "ops/softmax/kernels.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(Softmax, FakeKeepsShapeAndTakesDtype) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"T", "E"}, DType::kBF16);
  const TensorMeta y = meta_of(fake("softmax", env, {x, SymInt(-1)}, {{"dtype", DType::kF32}}));
  EXPECT_EQ(y.shape_str(), "[T, E]");
  EXPECT_EQ(y.dtype, DType::kF32);
  const TensorMeta z = meta_of(fake("log_softmax", env, {x, SymInt(0)}));
  EXPECT_EQ(z.dtype, DType::kBF16);
  // A non-contiguous input gives a contiguous output.
  TensorMeta t = meta({3, 5});
  t.strides = {SymInt(1), SymInt(3)};
  EXPECT_EQ(strides_str(meta_of(fake("softmax", env, {t, SymInt(0)}))), "[5, 1]");
}

TEST(Softmax, C1_RejectsDimOutOfRange) {
  for (std::int64_t d : {2, -3, 7}) {
    const Rejection r = rejection("softmax", {meta({2, 3}), SymInt(d)});
    EXPECT_EQ(r.code, "dim") << d;
    EXPECT_EQ(r.constraint, "C1") << d;
  }
}

TEST(Softmax, C2_RejectsIntegerOutputDtype) {
  const Rejection r = rejection("log_softmax", {meta({2, 3}), SymInt(1)}, {{"dtype", DType::kI64}});
  EXPECT_EQ(r.code, "dtype");
  EXPECT_EQ(r.constraint, "C2");
}

double f64_softmax(const std::vector<float>& x, std::size_t i, bool log) {
  double mx = -INFINITY, s = 0;
  for (float v : x) mx = std::max(mx, double{v});
  for (float v : x) s += std::exp(v - mx);
  return log ? (x[i] - mx) - std::log(s) : std::exp(x[i] - mx) / s;
}

TEST(SoftmaxKernels, EveryPathMatchesF64) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-30.f, 30.f);
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kNone})
    for (DType in : {DType::kF32, DType::kBF16, DType::kF16})
      for (DType out : {DType::kF32, DType::kBF16})
        for (std::int64_t n : {1, 3, 7, 8, 15, 16, 17, 100, 257, 1031})
          for (bool log : {false, true}) {
            const std::int64_t rows = 3, ld = n + 5;
            std::vector<std::uint16_t> xb(static_cast<std::size_t>(rows * ld) * 2);
            std::vector<std::uint16_t> yb(static_cast<std::size_t>(rows * ld) * 2);
            for (std::int64_t i = 0; i < rows * ld; ++i) {
              float v = in == DType::kF16 ? u(rng) / 4 : u(rng);
              if (i % 11 == 3) v = -INFINITY;  // masked logits
              elem::store(xb.data(), in, i, v);
            }
            kernels::softmax_rows(rows, n, xb.data(), in, ld, yb.data(), out, ld, log, isa);
            for (std::int64_t r = 0; r < rows; ++r) {
              std::vector<float> row(static_cast<std::size_t>(n));
              for (std::int64_t i = 0; i < n; ++i) row[static_cast<std::size_t>(i)] = elem::load(xb.data(), in, r * ld + i);
              bool all_masked = true;
              for (float v : row) all_masked = all_masked && std::isinf(v);
              for (std::int64_t i = 0; i < n; ++i) {
                const double got = elem::load(yb.data(), out, r * ld + i);
                const double ref = f64_softmax(row, static_cast<std::size_t>(i), log);
                if (all_masked) {
                  EXPECT_TRUE(std::isnan(got));
                  continue;
                }
                if (std::isinf(ref)) {
                  EXPECT_EQ(got, ref);
                  continue;
                }
                const double rel = log ? std::fabs(ref) + 1 : ref > 0 ? (n + 16 - std::log(ref)) / (n + 16) * ref : 0.0;
                const double tol = (n + 16) * 0x1p-24 * rel + 0x1p-126 + nn::ulp(out, ref);
                EXPECT_NEAR(got, ref, tol) << fmt::format("{} {}->{} n{} log{} row{} i{}", isa_name(isa),
                                                          tensor::name(in), tensor::name(out), n, log, r, i);
              }
            }
          }
}

TEST(SoftmaxKernels, NanInARowPoisonsTheRow) {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kNone}) {
    std::vector<float> x(37, 0.5f), y(37);
    x[20] = std::nanf("");
    kernels::softmax_rows(1, 37, x.data(), DType::kF32, 37, y.data(), DType::kF32, 37, false, isa);
    for (float v : y) EXPECT_TRUE(std::isnan(v)) << isa_name(isa);
  }
}

TEST(Softmax, opcheck) {
  for (const char* op : {"softmax", "log_softmax"}) {
    const op::OpcheckReport r = op::opcheck(def(op), 3);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

}  // namespace
}  // namespace symtrace::ops
