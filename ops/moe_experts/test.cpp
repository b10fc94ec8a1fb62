// moe_experts: opcheck on every variant; each variant against the reference on a larger call
// with 1 and 2 threads (identical outputs); skewed routes (busy and idle experts); one
// negative test per constraint.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"
#include "ops/int8_moe_experts/testdata.hpp"

namespace symtrace::ops {
namespace {

using tensor::DType;
using tensor::Tensor;
using testing::check_call;
using testing::fake_error;
using Err = std::pair<std::string, std::string>;
namespace v2 = boost::variant2;

const op::OpDef& def() { return registry().get("moe_experts"); }

Tensor random(tensor::Shape s, DType d, std::uint64_t seed, float lo = -0.3f, float hi = 0.3f) {
  Tensor t = Tensor::empty(std::move(s), d);
  t.fill_random(seed, lo, hi);
  return t;
}

TEST(MoeExperts, OpcheckSamples) {
  for (std::uint64_t seed : {1, 2}) {
    const op::OpcheckReport r = op::opcheck(def(), seed);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

TEST(MoeExperts, EveryVariantMatchesTheReferenceWithOneAndTwoThreads) {
  for (DType wd : {DType::kBF16, DType::kF32}) {
    const moe::Routes r = moe::make_routes({5, 14}, 8, 2, 31);
    const std::vector<op::Value> args = op::bind_args(
        def().schema, {random({5, 14, 96}, DType::kF32, 32, -2.f, 2.f), random({8, 80, 96}, wd, 33),
                       random({8, 96, 40}, wd, 34), r.topk_w, r.topk_ids});
    op::HeapAllocator heap(true);
    op::KernelContext cx{heap};
    const Tensor ref = v2::get<Tensor>(def().reference(op::Args(def().schema, args), cx)[0]);
    const std::vector<double> want = ref.to_f64();
    for (const op::Variant& v : def().variants) {
      if (!op::cpu_supports(v.isa)) continue;
      std::vector<double> first;
      for (int threads : {1, 2}) {
        op::KernelContext tcx{heap, threads};
        const std::vector<double> got = v2::get<Tensor>(v.run(op::Args(def().schema, args), tcx)[0]).to_f64();
        ASSERT_EQ(got.size(), want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
          ASSERT_LE(std::abs(got[i] - want[i]), 1e-4 + 1e-4 * std::abs(want[i])) << v.name << " element " << i;
        if (first.empty()) first = got;
        EXPECT_EQ(got, first) << v.name << ": 1 and 2 threads differ";
      }
    }
  }
}

TEST(MoeExperts, BusyAndIdleExperts) {
  // Every token on experts 0 and 3 of 5: three experts without routes, two with 40 each.
  Tensor ids = Tensor::empty({40, 2}, DType::kI32), w = Tensor::empty({40, 2}, DType::kF32);
  for (std::int64_t t = 0; t < 40; ++t) {
    ids.data<std::int32_t>()[2 * t] = t % 2 ? 0 : 3;
    ids.data<std::int32_t>()[2 * t + 1] = t % 2 ? 3 : 0;
    w.data<float>()[2 * t] = 0.75f;
    w.data<float>()[2 * t + 1] = 0.25f;
  }
  const auto f = check_call(def(), {random({40, 33}, DType::kF32, 41, -2.f, 2.f), random({5, 34, 33}, DType::kF16, 42),
                                    random({5, 33, 17}, DType::kF16, 43), w, ids});
  EXPECT_TRUE(f.empty()) << ::testing::PrintToString(f);
}

std::vector<op::Value> valid_call() {
  const moe::Routes r = moe::make_routes({4}, 3, 2, 51);
  return {random({4, 16}, DType::kF32, 52), random({3, 12, 16}, DType::kBF16, 53), random({3, 16, 6}, DType::kBF16, 54),
          r.topk_w, r.topk_ids};
}

TEST(MoeExperts, C1_RejectsBf16X) {
  std::vector<op::Value> c = valid_call();
  c[0] = random({4, 16}, DType::kBF16, 55);
  EXPECT_EQ(fake_error(def(), c), (Err{"dtype", "C1"}));
}

TEST(MoeExperts, C2_RejectsMixedOrMisshapenWeights) {
  std::vector<op::Value> c = valid_call();
  c[2] = random({3, 16, 6}, DType::kF32, 56);
  EXPECT_EQ(fake_error(def(), c).second, "C2");
  c = valid_call();
  c[1] = random({3, 13, 16}, DType::kBF16, 57);  // 2I odd against w2's I = 6
  EXPECT_EQ(fake_error(def(), c).second, "C2");
}

TEST(MoeExperts, C3_RejectsFlattenedRoutes) {
  const moe::Routes r = moe::make_routes({2, 3}, 3, 2, 58);
  std::vector<op::Value> c = valid_call();
  c[0] = random({2, 3, 16}, DType::kF32, 59);
  c[3] = r.topk_w.view({6, 2});
  c[4] = r.topk_ids.view({6, 2});
  EXPECT_EQ(fake_error(def(), c).second, "C3");
}

TEST(MoeExperts, C4_RejectsOtherActivations) {
  EXPECT_EQ(fake_error(def(), valid_call(), {{"act", std::string("gelu")}}).second, "C4");
}

}  // namespace
}  // namespace symtrace::ops
