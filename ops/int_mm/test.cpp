// int_mm: PyTorch 2.11's meta rules, exact products against refdata gemm_vectors, opcheck.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

TEST(IntMm, FakeIsInt32Contiguous) {
  sym::ShapeEnv env;
  const TensorMeta a = sym_meta(env, {"M", "K"}, DType::kI8);
  TensorMeta b = sym_meta(env, {"K", "N"}, DType::kI8);
  const TensorMeta y = meta_of(fake("int_mm", env, {a, b}));
  EXPECT_EQ(y.shape_str(), "[M, N]");
  EXPECT_EQ(y.dtype, DType::kI32);
}

TEST(IntMm, C1_RejectsLeadingDims) {
  EXPECT_EQ(rejection("int_mm", {meta({2, 32, 64}, DType::kI8), meta({64, 16}, DType::kI8)}).constraint, "C1");
}

TEST(IntMm, C2_RejectsNonInt8) {
  const Rejection r = rejection("int_mm", {meta({32, 64}, DType::kI8), meta({64, 16}, DType::kI32)});
  EXPECT_EQ(r.code, "dtype");
  EXPECT_EQ(r.constraint, "C2");
  EXPECT_EQ(r.argument, "b");
}

TEST(IntMm, C3_RejectsKMismatch) {
  EXPECT_EQ(rejection("int_mm", {meta({32, 64}, DType::kI8), meta({32, 16}, DType::kI8)}).constraint, "C3");
}

TEST(IntMm, refdata_GemmVectorsExact) {
  const auto t = load_safetensors(std::string(SYMTRACE_REFDATA_DIR) + "/gemm_vectors.safetensors");
  for (const char* c : {"c0", "c1", "c2", "c3"}) {
    const auto get = [&](const std::string& n) { return t.at(fmt::format("{}.{}", c, n)); };
    const Tensor a_lead = get("int8_a");
    const std::int64_t K = a_lead.size(-1);
    const op::Outputs y = op::call(def("int_mm"), {a_lead.view({a_lead.numel() / K, K}), get("int8_b")});
    const std::vector<double> got = boost::variant2::get<Tensor>(y[0]).to_f64();
    EXPECT_EQ(got, get("int_ref_i64").to_f64()) << c;
    if (t.count(fmt::format("{}.int_mm_i32", c))) {
      EXPECT_EQ(got, get("int_mm_i32").to_f64()) << c;
    }
  }
}

TEST(IntMm, opcheck) {
  const op::OpcheckReport r = op::opcheck(def("int_mm"), 10);
  EXPECT_TRUE(r.ok()) << r.str();
}

}  // namespace
}  // namespace symtrace::ops
