// matmul / mm / bmm: torch's shape rules with symbolic dims, one negative test per
// constraint, the batched fast path on every ISA (folded, broadcast and packed operands), and
// opcheck.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <symtrace/op/opcheck.hpp>

#include "ops/linear/nn_testing.hpp"

namespace symtrace::ops {
namespace {

using namespace nn_testing;

std::string shape_of(std::string_view op, std::vector<op::Value> args) {
  sym::ShapeEnv env;
  return meta_of(fake(op, env, std::move(args))).shape_str();
}

TEST(Matmul, FakeFollowsTorchRanks) {
  EXPECT_EQ(shape_of("matmul", {meta({3}), meta({3})}), "[]");
  EXPECT_EQ(shape_of("matmul", {meta({3}), meta({3, 4})}), "[4]");
  EXPECT_EQ(shape_of("matmul", {meta({2, 3}), meta({3})}), "[2]");
  EXPECT_EQ(shape_of("matmul", {meta({5, 2, 3}), meta({3})}), "[5, 2]");
  EXPECT_EQ(shape_of("matmul", {meta({3}), meta({5, 3, 4})}), "[5, 4]");
  EXPECT_EQ(shape_of("matmul", {meta({7, 1, 2, 3}), meta({5, 3, 4})}), "[7, 5, 2, 4]");
  EXPECT_EQ(shape_of("matmul", {meta({2, 1, 4, 3}), meta({1, 6, 3, 5})}), "[2, 6, 4, 5]");
  EXPECT_EQ(shape_of("mm", {meta({2, 3}), meta({3, 4})}), "[2, 4]");
  EXPECT_EQ(shape_of("bmm", {meta({4, 2, 3}), meta({4, 3, 5})}), "[4, 2, 5]");
}

TEST(Matmul, FakeKeepsSymbolicBatchAndGuardsUnknownBroadcast) {
  sym::ShapeEnv env;
  const TensorMeta a = sym_meta(env, {"B", "S", "K"}, DType::kBF16);
  const TensorMeta b = sym_meta(env, {"K", "N"}, DType::kBF16);
  const TensorMeta y = meta_of(fake("matmul", env, {a, b}));
  EXPECT_EQ(y.shape_str(), "[B, S, N]");
  EXPECT_EQ(strides_str(y), "[S*N, N, 1]");
  EXPECT_TRUE(env.guards().empty());
  // Two different symbolic batch dims: equal is assumed and recorded (neither is known to be 1).
  const TensorMeta a2 = sym_meta(env, {"P", 4, "K"});
  const TensorMeta b2 = sym_meta(env, {"Q", "K", 2});
  fake("matmul", env, {a2, b2});
  ASSERT_EQ(env.guards().size(), 1u);
  EXPECT_NE(env.guards()[0].reason.find("C3"), std::string::npos);
}

TEST(Matmul, C1_RejectsZeroDimOperands) {
  const Rejection r = rejection("matmul", {meta({}), meta({3})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C1");
  EXPECT_EQ(r.argument, "a");
}

TEST(Matmul, C2_RejectsReductionMismatch) {
  for (auto [a, b] : std::vector<std::pair<tensor::Shape, tensor::Shape>>{
           {{2, 3}, {4, 5}}, {{3}, {4}}, {{2, 3, 5}, {4, 2}}}) {
    const Rejection r = rejection("matmul", {meta(a), meta(b)});
    EXPECT_EQ(r.code, "shape-mismatch");
    EXPECT_EQ(r.constraint, "C2");
    EXPECT_EQ(r.argument, "b");
  }
}

TEST(Matmul, C3_RejectsBatchesThatDoNotBroadcast) {
  const Rejection r = rejection("matmul", {meta({2, 2, 3}), meta({3, 3, 4})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C3");
}

TEST(Matmul, C4_RejectsBoolAndFp8) {
  EXPECT_EQ(rejection("matmul", {meta({2, 3}, DType::kBool), meta({3, 4}, DType::kBool)}).constraint, "C4");
  EXPECT_EQ(rejection("mm", {meta({2, 3}, DType::kF8E4M3FN), meta({3, 4}, DType::kF8E4M3FN)}).code, "dtype");
}

TEST(Mm, C1_RejectsNon2d) {
  EXPECT_EQ(rejection("mm", {meta({2, 2, 3}), meta({3, 4})}).constraint, "C1");
  EXPECT_EQ(rejection("mm", {meta({2, 3}), meta({3})}).argument, "b");
}

TEST(Mm, C2_RejectsReductionMismatch) {
  EXPECT_EQ(rejection("mm", {meta({2, 3}), meta({4, 5})}).constraint, "C2");
}

TEST(Bmm, C1_RejectsNon3d) { EXPECT_EQ(rejection("bmm", {meta({2, 3}), meta({3, 4})}).constraint, "C1"); }

TEST(Bmm, C2_RejectsReductionMismatch) {
  EXPECT_EQ(rejection("bmm", {meta({4, 2, 3}), meta({4, 4, 5})}).constraint, "C2");
}

TEST(Bmm, C3_RejectsBroadcastBatch) {
  const Rejection r = rejection("bmm", {meta({4, 2, 3}), meta({1, 3, 5})});
  EXPECT_EQ(r.code, "shape-mismatch");
  EXPECT_EQ(r.constraint, "C3");
}

// Every variant on shapes that fold ([B,S,K]·[K,N]), broadcast a batched b, and pack
// transposed operands; compared with the reference by opcheck's tolerance.
TEST(Matmul, BatchedPathsMatchReferenceOnEveryIsa) {
  const op::OpDef& d = def("matmul");
  const std::vector<std::pair<tensor::Shape, tensor::Shape>> cases = {
      {{3, 17, 33}, {33, 13}},  {{2, 1, 5, 7}, {3, 7, 4}},  {{5, 9}, {2, 9, 11}},
      {{1, 257, 19}, {19, 3}},  {{4, 1, 65}, {4, 65, 31}},  {{6}, {2, 6, 5}}};
  std::uint64_t seed = 40;
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    for (const auto& [as, bs] : cases)
      for (nn::Layout la : {nn::Layout::kContiguous, nn::Layout::kTransposedLast2})
        for (nn::Layout lb : {nn::Layout::kContiguous, nn::Layout::kTransposedLast2,
                              nn::Layout::kStridedRows}) {
          const Tensor a = nn::sample_tensor(as, dt, ++seed, as.size() >= 2 ? la : nn::Layout::kContiguous);
          const Tensor b = nn::sample_tensor(bs, dt, ++seed, lb);
          const std::vector<op::Value> args = {a, b};
          op::HeapAllocator heap;
          op::KernelContext cx{heap};
          const op::Outputs ref = d.reference(op::Args(d.schema, args), cx);
          for (const op::Variant& v : d.variants) {
            if (!op::cpu_supports(v.isa)) continue;
            sym::ShapeEnv env;
            const std::vector<op::Value> metas = op::metas_of(args);
            if (v.applicable(op::Args(d.schema, metas), env).truth != sym::Truth::kTrue) continue;
            const op::Outputs got = v.run(op::Args(d.schema, args), cx);
            const Tensor& g = boost::variant2::get<Tensor>(got[0]);
            const Tensor& r = boost::variant2::get<Tensor>(ref[0]);
            ASSERT_EQ(g.sizes(), r.sizes());
            ASSERT_EQ(g.strides(), r.strides());
            const std::string err = d.tolerance.compare(op::Args(d.schema, args), 0, g, r);
            EXPECT_TRUE(err.empty()) << v.name << " " << tensor::name(dt) << " a" << a.meta().str()
                                     << " b" << b.meta().str() << ": " << err;
          }
        }
}

TEST(Matmul, opcheck) {
  for (const char* op : {"matmul", "mm", "bmm"}) {
    const op::OpcheckReport r = op::opcheck(def(op), 2);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

}  // namespace
}  // namespace symtrace::ops
