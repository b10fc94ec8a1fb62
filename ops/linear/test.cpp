// linear: the GEMM kernels on every ISA path against an f64 reference, the fake's shape rule
// with symbolic leading dims, one negative test per constraint, and opcheck.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/elem.hpp"
#include "ops/linear/kernels.hpp"
#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

// Drives gemm_nt on one path with padded row strides; checks every element against f64 with
// the OPS.md 15.7 bound and that the padding of y stays untouched.
struct GemmTester {
  Isa isa;
  DType dt;
  std::int64_t M, N, K;
  bool bias;

  std::string run() const {
    std::mt19937 rng(static_cast<unsigned>(M * 131 + N * 17 + K));
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    const std::int64_t ldx = K + 3, ldw = K + 1, ldy = N + 2;
    const std::size_t es = dt == DType::kF32 ? 4 : 2;
    std::vector<unsigned char> x(static_cast<std::size_t>(std::max<std::int64_t>(M * ldx, 1)) * es),
        w(static_cast<std::size_t>(std::max<std::int64_t>(N * ldw, 1)) * es),
        b(static_cast<std::size_t>(N) * es), y(static_cast<std::size_t>(M * ldy) * es);
    const auto fill = [&](std::vector<unsigned char>& v) {
      for (std::size_t i = 0; i < v.size() / es; ++i)
        elem::store(v.data(), dt, static_cast<std::int64_t>(i), u(rng));
    };
    fill(x);
    fill(w);
    fill(b);
    for (std::size_t i = 0; i < y.size() / es; ++i)
      elem::store(y.data(), dt, static_cast<std::int64_t>(i), std::nanf(""));
    kernels::gemm_nt(M, N, K, {x.data(), dt, ldx}, {w.data(), dt, ldw}, bias ? b.data() : nullptr,
                     dt, y.data(), dt, ldy, isa);
    for (std::int64_t m = 0; m < M; ++m) {
      for (std::int64_t n = 0; n < ldy; ++n) {
        const double got = elem::load(y.data(), dt, m * ldy + n);
        if (n >= N) {
          if (!std::isnan(got)) return fmt::format("padding y[{}, {}] was written", m, n);
          continue;
        }
        double ref = bias ? elem::load(b.data(), dt, n) : 0.0, abs = std::fabs(ref);
        for (std::int64_t k = 0; k < K; ++k) {
          const double p = double{elem::load(x.data(), dt, m * ldx + k)} * elem::load(w.data(), dt, n * ldw + k);
          ref += p;
          abs += std::fabs(p);
        }
        const double tol = nn::f32_sum_bound(K, abs) + nn::ulp(dt, ref);
        if (!(std::fabs(got - ref) <= tol))
          return fmt::format("y[{}, {}] = {}, f64 reference {}, allowed error {}", m, n, got, ref, tol);
      }
    }
    return {};
  }
};

TEST(LinearKernels, EveryPathMatchesF64OnAwkwardSizes) {
  for (Isa isa : {Isa::kAvx512Bf16, Isa::kAvx512, Isa::kAvx2, Isa::kNone}) {
    for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
      const Isa path = kernels::gemm_nt_path(dt, isa);
      for (std::int64_t M : {1, 3, 17, 128, 257})
        for (std::int64_t N : {1, 7, 31})
          for (std::int64_t K : {1, 17, 67})
            for (bool bias : {false, true}) {
              const GemmTester t{isa, dt, M, N, K, bias};
              const std::string err = t.run();
              EXPECT_TRUE(err.empty()) << fmt::format("path {} {} M{}_N{}_K{}{}: {}", isa_name(path),
                                                      tensor::name(dt), M, N, K, bias ? "_bias" : "", err);
            }
    }
  }
}

TEST(LinearKernels, LargeKCrossesEveryVectorTail) {
  for (Isa isa : {Isa::kAvx512Bf16, Isa::kAvx512, Isa::kAvx2})
    for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
      for (std::int64_t K : {31, 32, 33, 1023, 4099}) {
        const GemmTester t{isa, dt, 5, 11, K, true};
        const std::string err = t.run();
        EXPECT_TRUE(err.empty()) << isa_name(isa) << " " << tensor::name(dt) << " K" << K << ": " << err;
      }
}

TEST(LinearKernels, EmptyKGivesBias) {
  const float b[3] = {1.f, -2.f, 0.5f};
  float y[6];
  const float dummy = 0.f;
  kernels::linear_f32(&dummy, &dummy, b, y, 2, 3, 0, 0, 0, 3);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y[i], b[i % 3]);
}

TEST(LinearKernels, SameBitsForOneAndTwoThreads) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const std::int64_t M = 67, N = 301, K = 515;
  std::vector<float> x(static_cast<std::size_t>(M * K)), w(static_cast<std::size_t>(N * K));
  for (float& v : x) v = u(rng);
  for (float& v : w) v = u(rng);
  std::vector<float> y1(static_cast<std::size_t>(M * N)), y2(y1.size());
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  kernels::linear_f32(x.data(), w.data(), nullptr, y1.data(), M, N, K, K, K, N);
  omp_set_num_threads(2);
  kernels::linear_f32(x.data(), w.data(), nullptr, y2.data(), M, N, K, K, K, N);
  omp_set_num_threads(saved);
  EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)), 0);
}

TEST(LinearKernels, EntryPointsHonourForcedIsa) {
  const std::int64_t M = 17, N = 13, K = 37;
  std::vector<float> x(static_cast<std::size_t>(M * K)), w(static_cast<std::size_t>(N * K)),
      b(static_cast<std::size_t>(N));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : x) v = u(rng);
  for (float& v : w) v = u(rng);
  for (float& v : b) v = u(rng);
  std::vector<std::uint16_t> xb(x.size()), wb(w.size()), bb(b.size());
  for (std::size_t i = 0; i < x.size(); ++i) xb[i] = elem::f32_to_bf16(x[i]);
  for (std::size_t i = 0; i < w.size(); ++i) wb[i] = elem::f32_to_bf16(w[i]);
  for (std::size_t i = 0; i < b.size(); ++i) bb[i] = elem::f32_to_bf16(b[i]);
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    IsaScope scope(isa);
    std::vector<float> y(static_cast<std::size_t>(M * N));
    kernels::linear_f32(x.data(), w.data(), b.data(), y.data(), M, N, K, K, K, N);
    std::vector<std::uint16_t> yb(y.size());
    kernels::linear_bf16(xb.data(), wb.data(), bb.data(), yb.data(), M, N, K, K, K, N);
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t n = 0; n < N; ++n) {
        double ref = b[static_cast<std::size_t>(n)], rb = elem::bf16_to_f32(bb[static_cast<std::size_t>(n)]), abs = 0;
        for (std::int64_t k = 0; k < K; ++k) {
          const auto i = static_cast<std::size_t>(m * K + k), j = static_cast<std::size_t>(n * K + k);
          ref += double{x[i]} * w[j];
          rb += double{elem::bf16_to_f32(xb[i])} * elem::bf16_to_f32(wb[j]);
          abs += std::fabs(double{x[i]} * w[j]) + 1;
        }
        const auto o = static_cast<std::size_t>(m * N + n);
        EXPECT_NEAR(y[o], ref, nn::f32_sum_bound(K, abs)) << isa;
        EXPECT_NEAR(elem::bf16_to_f32(yb[o]), rb, nn::f32_sum_bound(K, abs) + nn::ulp(DType::kBF16, rb)) << isa;
      }
  }
}

TEST(LinearKernels, ElemConversionsMatchTensorLibrary) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200000; ++i) {
    const std::uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (!std::isnan(f)) {
      ASSERT_EQ(elem::f32_to_bf16(f), tensor::f32_to_bf16(f)) << f;
      ASSERT_EQ(elem::f32_to_f16(f), tensor::f32_to_f16(f)) << f;
    }
    const auto h = static_cast<std::uint16_t>(bits);
    const float a = elem::f16_to_f32(h), b = tensor::f16_to_f32(h);
    ASSERT_TRUE((std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, 4) == 0) << h;
  }
}

// --- fake -------------------------------------------------------------------------------------
TEST(Linear, FakeCarriesLeadingDimsSymbolForSymbol) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"B", "S", "K"}, DType::kBF16);
  const TensorMeta w = sym_meta(env, {"N", "K"}, DType::kBF16);
  const op::Outputs out = fake("linear", env, {x, w});
  const TensorMeta& y = meta_of(out);
  ASSERT_EQ(y.dim(), 3);
  EXPECT_TRUE(y.sizes[0].identical(x.sizes[0]));
  EXPECT_TRUE(y.sizes[1].identical(x.sizes[1]));
  EXPECT_TRUE(y.sizes[2].identical(w.sizes[0]));
  EXPECT_EQ(y.dtype, DType::kBF16);
  EXPECT_TRUE(y.identical(TensorMeta::contiguous(y.sizes, DType::kBF16))) << y.str();
  // Ranks 0..3 of leading dims.
  for (const auto& lead : std::vector<tensor::Shape>{{}, {7}, {2, 3}, {2, 1, 5}}) {
    tensor::Shape xs = lead;
    xs.push_back(16);
    const op::Outputs out2 = fake("linear", env, {meta(xs), meta({8, 16})});
    const TensorMeta& o = meta_of(out2);
    tensor::Shape want = lead;
    want.push_back(8);
    EXPECT_EQ(o.shape_str(), tensor::shape_str(SymShape(want.begin(), want.end())));
  }
}

TEST(Linear, UnknownKBecomesAGuard) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"B", "K1"});
  const TensorMeta w = sym_meta(env, {8, "K2"});
  fake("linear", env, {x, w});
  ASSERT_EQ(env.guards().size(), 1u);
  EXPECT_NE(env.guards()[0].reason.find("C2"), std::string::npos) << env.guards()[0].reason;
}

TEST(Linear, C1_RejectsScalarInputAnd3dWeight) {
  EXPECT_EQ(rejection("linear", {meta({}), meta({8, 1})}).constraint, "C1");
  const Rejection r = rejection("linear", {meta({2, 16}), meta({2, 8, 16})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C1");
  EXPECT_EQ(r.argument, "w");
}

TEST(Linear, C2_RejectsInFeaturesMismatchNamingX) {
  const Rejection r = rejection("linear", {meta({2, 5, 15}), meta({8, 16})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C2");
  EXPECT_EQ(r.argument, "x");
  EXPECT_NE(r.message.find("[2, 5, 16]"), std::string::npos) << r.message;  // expected
  EXPECT_NE(r.message.find("[2, 5, 15]"), std::string::npos) << r.message;  // got
}

TEST(Linear, C2_ProvenFalseForSymbolsNamesTheirOrigin) {
  sym::ShapeEnv env;
  const TensorMeta x = sym_meta(env, {"B", "H"});
  SymShape ws = {SymInt(8), SymInt(x.sizes[1].expr() + 1)};
  const Rejection r = rejection("linear", env, {x, TensorMeta::contiguous(ws, DType::kF32)});
  EXPECT_EQ(r.constraint, "C2");
  EXPECT_NE(r.message.find("test input H"), std::string::npos) << r.message;
}

TEST(Linear, C3_RejectsBiasOfWrongLength) {
  const Rejection r = rejection("linear", {meta({2, 5, 16}), meta({8, 16}), meta({9})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C3");
  EXPECT_EQ(r.argument, "bias");
}

TEST(Linear, C4_RejectsMixedAndIntegerDtypes) {
  EXPECT_EQ(rejection("linear", {meta({2, 16}), meta({8, 16}, DType::kBF16)}).constraint, "C4");
  EXPECT_EQ(rejection("linear", {meta({2, 16}, DType::kI8), meta({8, 16}, DType::kI8)}).code, "dtype");
}

TEST(Linear, VariantsRefuseNonViewableX) {
  sym::ShapeEnv env;
  TensorMeta x = meta({4, 5});
  x.strides = {SymInt(1), SymInt(4)};  // a transposed view
  const std::vector<op::Value> args = op::bind_args(def("linear").schema, {x, meta({3, 5})});
  for (const op::Variant& v : def("linear").variants) {
    const op::Applicability a = v.applicable(op::Args(def("linear").schema, args), env);
    EXPECT_EQ(a.truth, sym::Truth::kFalse) << v.name;
    if (v.name != "linear.avx512_bf16") {  // that one refuses f32 first
      EXPECT_NE(a.reason.find("rows"), std::string::npos) << v.name << ": " << a.reason;
    }
  }
}

TEST(Linear, opcheck) {
  const op::OpcheckReport r = op::opcheck(def("linear"), 1);
  EXPECT_TRUE(r.ok()) << r.str();
  EXPECT_GT(r.kernel_runs, r.samples);  // the fast variants ran too
}

}  // namespace
}  // namespace symtrace::ops
