// moe_route_softmax: opcheck (every ISA vs the f64 reference), tie order, NaN visibility,
// one negative test per constraint.
#include <cmath>

#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"

namespace symtrace::ops {
namespace {

using tensor::DType;
using tensor::Tensor;
using testing::fake_error;
using Err = std::pair<std::string, std::string>;

const op::OpDef& def() { return registry().get("moe_route_softmax"); }

TEST(MoeRouteSoftmax, OpcheckSamples) {
  for (std::uint64_t seed : {1, 2, 3}) {
    const op::OpcheckReport r = op::opcheck(def(), seed);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

TEST(MoeRouteSoftmax, TiesGoToTheLowerExpertAndWeightsRenormalize) {
  const Tensor logits = Tensor::from_f32({1, 6}, std::vector<float>{1, 3, 3, 0, 3, 2});
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    testing::ScopedIsa scoped(isa);
    const op::Outputs out = op::call(def(), {logits, sym::SymInt(3), true});
    const auto& w = boost::variant2::get<Tensor>(out[0]);
    const auto& ids = boost::variant2::get<Tensor>(out[1]);
    EXPECT_EQ(ids.to_f64(), (std::vector<double>{1, 2, 4})) << isa;
    for (double v : w.to_f64()) EXPECT_NEAR(v, 1.0 / 3.0, 1e-7) << isa;
  }
}

TEST(MoeRouteSoftmax, NanLogitsStayVisible) {
  const Tensor logits = Tensor::from_f32({1, 4}, std::vector<float>{0.f, std::nanf(""), 1.f, 2.f});
  const op::Outputs out = op::call(def(), {logits, sym::SymInt(2), true});
  const auto ids = boost::variant2::get<Tensor>(out[1]).to_f64();
  EXPECT_EQ(ids[0], 1);  // NaN ranks first, as torch.topk
  for (double v : boost::variant2::get<Tensor>(out[0]).to_f64()) EXPECT_TRUE(std::isnan(v));
}

TEST(MoeRouteSoftmax, C1_RejectsIntegerLogits) {
  EXPECT_EQ(fake_error(def(), {Tensor::zeros({2, 8}, DType::kI32), sym::SymInt(2), true}),
            (Err{"dtype", "C1"}));
  EXPECT_EQ(fake_error(def(), {Tensor::zeros({}, DType::kF32), sym::SymInt(1), true}),
            (Err{"shape", "C1"}));
}
TEST(MoeRouteSoftmax, C2_RejectsKOutsideOneToE) {
  EXPECT_EQ(fake_error(def(), {Tensor::zeros({2, 8}, DType::kF32), sym::SymInt(9), true}),
            (Err{"shape", "C2"}));
  EXPECT_EQ(fake_error(def(), {Tensor::zeros({2, 8}, DType::kF32), sym::SymInt(0), true}),
            (Err{"shape", "C2"}));
}

TEST(MoeRouteSoftmax, FakeKeepsSymbolicLeadingDims) {
  sym::ShapeEnv env;
  const sym::SymInt B = env.new_symbol("B", "input dim 0"), S = env.new_symbol("S", "input dim 1");
  const sym::SymInt E =
      env.new_symbol("E", "config.num_experts", sym::SymbolKind::kConfig, sym::Range{8, 256});
  const tensor::TensorMeta logits = tensor::TensorMeta::contiguous({B, S, E}, DType::kBF16);
  const op::Outputs out = op::bind_and_fake(def(), {logits, sym::SymInt(8), true}, env);
  EXPECT_EQ(boost::variant2::get<tensor::TensorMeta>(out[0]).shape_str(), "[B, S, 8]");
  EXPECT_EQ(boost::variant2::get<tensor::TensorMeta>(out[1]).dtype, DType::kI32);
}

}  // namespace
}  // namespace symtrace::ops
