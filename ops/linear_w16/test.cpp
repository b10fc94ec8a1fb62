// linear_w16: opcheck under every ISA cap; every variant against the reference on awkward
// shapes (the GEMV for M <= kGemvMaxM, the slab GEMM above) with 1 and 2 threads and
// NaN-filled outputs; strided x rows and padded weight rows; exact widening of extreme bf16 and
// f16 weights (subnormals, inf); one negative test per constraint.
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/gemm_testing.hpp"
#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops {
namespace {

using linear_w16::kGemvMaxM;
using tensor::DType;
using tensor::Tensor;
using tensor::TensorMeta;
using testing::fake_error;
using testing::ScopedIsa;
using Err = std::pair<std::string, std::string>;

const op::OpDef& def() { return registry().get("linear_w16"); }

Tensor rnd(tensor::Shape s, DType d, std::uint64_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t = Tensor::empty(std::move(s), d);
  t.fill_random(seed, lo, hi);
  return t;
}

struct Case {
  tensor::Shape lead;
  std::int64_t N, K;
  DType w = DType::kBF16;
  bool bias = true;
};

std::vector<op::Value> make_call(const Case& c, std::uint64_t seed) {
  tensor::Shape xs = c.lead;
  xs.push_back(c.K);
  std::vector<op::Value> v = {rnd(xs, DType::kF32, seed, -2.f, 2.f),
                              rnd({c.N, c.K}, c.w, seed + 1)};
  v.push_back(c.bias ? op::Value(rnd({c.N}, DType::kF32, seed + 2)) : op::Value(op::None{}));
  return v;
}

// Every variant this cap allows, 1 and 2 threads, against the reference; returns the number
// of runs.
int check_variants(const std::vector<op::Value>& args, const std::string& what) {
  const op::Args a(def().schema, args);
  op::HeapAllocator ref_heap;
  op::KernelContext ref_cx{ref_heap, 1};
  const Tensor ref = boost::variant2::get<Tensor>(def().reference(a, ref_cx)[0]);
  const auto metas = op::metas_of(args);
  int runs = 0;
  for (const op::Variant& v : def().variants) {
    if (!op::cpu_supports(v.isa)) continue;
    sym::ShapeEnv env;
    if (v.applicable(op::Args(def().schema, metas), env).truth != sym::Truth::kTrue) continue;
    Tensor one_thread;
    for (int threads : {1, 2}) {
      op::HeapAllocator heap(/*fill_nan=*/true);
      op::KernelContext cx{heap, threads};
      const Tensor got = boost::variant2::get<Tensor>(v.run(a, cx)[0]);
      EXPECT_EQ(got.sizes(), ref.sizes()) << v.name << " " << what;
      EXPECT_EQ(def().tolerance.compare(a, 0, got, ref), "")
          << v.name << " threads=" << threads << " " << what;
      // Each output is summed by one thread in a fixed order: bit-identical for any count.
      if (threads == 1)
        one_thread = got;
      else
        EXPECT_EQ(std::memcmp(got.data_ptr(), one_thread.data_ptr(), got.nbytes()), 0)
            << v.name << " differs between 1 and 2 threads, " << what;
      ++runs;
    }
  }
  return runs;
}

TEST(LinearW16, OpcheckSamples) {
  for (const char* isa : testing::isa_paths()) {
    ScopedIsa scope(isa);
    const op::OpcheckReport r = op::opcheck(def(), 3);
    EXPECT_TRUE(r.ok()) << isa << ": " << r.str();
  }
}

TEST(LinearW16, EveryVariantOnAwkwardShapes) {
  std::vector<Case> cases;
  // The GEMV: every M up to its limit, K off the 32/16/8-lane steps, N off the row tiles.
  for (std::int64_t M = 1; M <= kGemvMaxM; ++M)
    cases.push_back(
        {{M}, 3 + 5 * M, 17 + 29 * M, M % 3 == 0 ? DType::kF16 : DType::kBF16, M % 2 == 1});
  cases.push_back({{1}, 1, 1});
  cases.push_back({{2}, 9, 7, DType::kF16});  // K below one AVX2 step
  cases.push_back({{1}, 130, 1030});
  // Over 512 KiB of weight: the GEMV splits its rows between two threads.
  cases.push_back({{1}, 257, 1030});
  cases.push_back({{3}, 300, 1030, DType::kF16});
  cases.push_back({{}, 8, 64, DType::kF16, false});
  cases.push_back({{2, 3, 1}, 17, 96});
  // The slab GEMM: just past the GEMV, several M blocks, several slabs, a ragged last slab.
  cases.push_back({{kGemvMaxM + 1}, 33, 65});
  cases.push_back({{5, 13}, 70, 129, DType::kF16});
  cases.push_back({{200}, 530, 40, DType::kBF16, false});
  cases.push_back({{20}, 60, 4100, DType::kF16});  // 24-row slabs: 24 + 24 + 12
  cases.push_back({{3}, 6, 0});                    // K = 0: bias only
  cases.push_back({{0}, 6, 16});
  std::uint64_t seed = 100;
  for (const Case& c : cases) {
    seed += 7;
    const auto args = make_call(c, seed);
    for (const char* isa : testing::isa_paths()) {
      ScopedIsa scope(isa);
      const std::string what = fmt::format("{} lead{} N{} K{} w={}{}", isa, c.lead.size(), c.N, c.K,
                                           tensor::name(c.w), c.bias ? " bias" : "");
      EXPECT_GE(check_variants(args, what), 2) << what;
    }
  }
}

TEST(LinearW16, StridedRowsAndPaddedWeightRows) {
  for (std::int64_t M : {3, 40}) {
    auto args = make_call({{M}, 37, 100}, 9);
    args[0] = rnd({M, 130}, DType::kF32, 10).narrow(1, 20, 100);   // ldx = 130
    args[1] = rnd({37, 120}, DType::kBF16, 11).narrow(1, 7, 100);  // ldw = 120
    for (const char* isa : testing::isa_paths()) {
      ScopedIsa scope(isa);
      EXPECT_GE(check_variants(args, fmt::format("{} M{} strided", isa, M)), 2);
    }
  }
}

// bf16/f16 -> f32 is exact: extreme weights (subnormals, the largest finite values) against
// x = 1 at a single k give the weight itself; inf propagates.
TEST(LinearW16, WideningIsExact) {
  const std::vector<float> bf16_vals = {0x1p-133f, -0x1p-126f, 0x1.fep127f, 1.0f / 3.0f, -0.f};
  const std::vector<float> f16_vals = {0x1p-24f, -0x1.ff8p-15f, 65504.f, -65504.f, 0x1p-14f};
  for (DType d : {DType::kBF16, DType::kF16}) {
    const std::vector<float>& vals = d == DType::kBF16 ? bf16_vals : f16_vals;
    const auto N = static_cast<std::int64_t>(vals.size());
    constexpr std::int64_t K = 45;  // one full AVX-512 step, then a masked tail
    for (std::int64_t kk : {0, 33, 44}) {
      std::vector<float> w(static_cast<std::size_t>(N * K), 0.f), x(K, 0.f);
      for (std::int64_t n = 0; n < N; ++n) w[static_cast<std::size_t>(n * K + kk)] = vals[n];
      x[static_cast<std::size_t>(kk)] = 1.f;
      const Tensor wt = Tensor::from_f32({N, K}, w, d), xt = Tensor::from_f32({1, K}, x);
      for (const char* isa : testing::isa_paths()) {
        ScopedIsa scope(isa);
        const Tensor y = boost::variant2::get<Tensor>(op::call(def(), {xt, wt})[0]);
        for (std::int64_t n = 0; n < N; ++n)
          EXPECT_EQ(y.to_f32()[static_cast<std::size_t>(n)],
                    static_cast<float>(wt.to_f64()[static_cast<std::size_t>(n * K + kk)]))
              << isa << " " << tensor::name(d) << " n=" << n << " k=" << kk;
      }
    }
  }
  std::vector<float> w(64, 0.f);
  w[40] = std::numeric_limits<float>::infinity();
  const Tensor y = boost::variant2::get<Tensor>(op::call(
      def(),
      {rnd({1, 64}, DType::kF32, 3, 0.5f, 1.f), Tensor::from_f32({1, 64}, w, DType::kBF16)})[0]);
  EXPECT_TRUE(std::isinf(y.to_f32()[0]));
}

TEST(LinearW16, FakeKeepsLeadingDims) {
  for (const tensor::Shape& lead : std::vector<tensor::Shape>{{}, {7}, {2, 5}, {2, 3, 4}}) {
    sym::ShapeEnv env;
    const auto out = op::bind_and_fake(def(), op::metas_of(make_call({lead, 24, 32}, 1)), env);
    tensor::Shape want = lead;
    want.push_back(24);
    const TensorMeta& m = boost::variant2::get<TensorMeta>(out[0]);
    EXPECT_EQ(m.shape_str(),
              TensorMeta::contiguous({want.begin(), want.end()}, DType::kF32).shape_str());
    EXPECT_EQ(m.dtype, DType::kF32);
  }
}

const Case kC{{3}, 8, 16};

TEST(LinearW16, C1_RejectsBf16Activation) {
  auto c = make_call(kC, 1);
  c[0] = rnd({3, 16}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C1"}));
}
TEST(LinearW16, C2_RejectsF32Weight) {
  auto c = make_call(kC, 1);
  c[1] = rnd({8, 16}, DType::kF32, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C2"}));
}
TEST(LinearW16, C2_RejectsOneDimensionalWeight) {
  auto c = make_call(kC, 1);
  c[1] = rnd({16}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c).second, "C2");
}
TEST(LinearW16, C3_RejectsKMismatch) {
  auto c = make_call(kC, 1);
  c[0] = rnd({3, 15}, DType::kF32, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape-mismatch", "C3"}));
}
TEST(LinearW16, C4_RejectsBiasOfWeightDtype) {
  auto c = make_call(kC, 1);
  c[2] = rnd({8}, DType::kBF16, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C4"}));
}
TEST(LinearW16, C4_RejectsBiasOfWrongLength) {
  auto c = make_call(kC, 1);
  c[2] = rnd({9}, DType::kF32, 1);
  EXPECT_EQ(fake_error(def(), c), (Err{"shape-mismatch", "C4"}));
}

}  // namespace
}  // namespace symtrace::ops
