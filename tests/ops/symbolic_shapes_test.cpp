// The view and elementwise fakes on symbolic sizes: leading dims carried symbol for symbol,
// no guard where the algebra proves the answer, a guard (never a guess) where it cannot, and
// structured errors where the call is proven wrong.
#include <gtest/gtest.h>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

namespace symtrace {
namespace {

namespace v2 = boost::variant2;
using sym::Expr;
using sym::SymInt;
using tensor::DType;
using tensor::SymShape;
using tensor::TensorMeta;

class SymbolicShapes : public ::testing::Test {
 protected:
  sym::ShapeEnv env;
  Expr B = env.new_symbol("B", "input x dim 0");
  Expr S = env.new_symbol("S", "input x dim 1");
  Expr H = env.new_symbol("H", "config.num_heads", sym::SymbolKind::kConfig);
  Expr D = env.new_symbol("D", "config.head_dim", sym::SymbolKind::kConfig);

  TensorMeta x(SymShape s, DType d = DType::kBF16) { return TensorMeta::contiguous(std::move(s), d); }

  op::Outputs call(std::string_view op, std::vector<op::Value> args) {
    return op::bind_and_fake(ops::registry().get(op), std::move(args), env);
  }
  TensorMeta one(std::string_view op, std::vector<op::Value> args) {
    return v2::get<TensorMeta>(call(op, std::move(args)).at(0));
  }
  diag::Diagnostic error(std::string_view op, std::vector<op::Value> args) {
    try {
      call(op, std::move(args));
    } catch (const diag::Error& e) {
      return e.diagnostic();
    }
    ADD_FAILURE() << op << " accepted the call";
    return {};
  }
  static std::string strides(const TensorMeta& m) { return tensor::shape_str(m.strides); }
};

TEST_F(SymbolicShapes, ViewSplitsHeadsWithoutGuards) {
  const TensorMeta q = x({B, S, H * D});
  const TensorMeta out = one("view", {q, std::vector<SymInt>{B, S, H, D}});
  EXPECT_EQ(out.shape_str(), "[B, S, H, D]");
  EXPECT_TRUE(out.strides[0].identical(SymInt(S * H * D)));
  EXPECT_TRUE(out.strides[2].identical(SymInt(D)));
  EXPECT_TRUE(out.strides[3].identical(SymInt(1)));
  EXPECT_TRUE(env.guards().empty());
}

TEST_F(SymbolicShapes, ViewInfersMinusOneSymbolically) {
  const TensorMeta out = one("view", {x({B, S, 4096}), std::vector<SymInt>{-1, 4096}});
  EXPECT_TRUE(out.sizes[0].identical(SymInt(B * S))) << out.shape_str();
  EXPECT_EQ(strides(out), "[4096, 1]");
  EXPECT_TRUE(env.guards().empty());
}

TEST_F(SymbolicShapes, FlattenOfLeadingDimsViewsAndOfTransposedCopies) {
  const TensorMeta flat = one("flatten", {x({B, S, 64}), SymInt(0), SymInt(1)});
  EXPECT_TRUE(flat.sizes[0].identical(SymInt(B * S)));
  EXPECT_EQ(strides(flat), "[64, 1]");
  // [S, B, K] strides [K, S*K, 1]: merging S and B is a view only when B or S is 1, which is
  // not proven, so reshape copies (contiguous) rather than guess.
  const TensorMeta t = one("transpose", {x({B, S, 64}), SymInt(0), SymInt(1)});
  const TensorMeta merged = one("flatten", {t, SymInt(0), SymInt(1)});
  EXPECT_EQ(strides(merged), "[64, 1]");
  EXPECT_TRUE(env.guards().empty());
}

TEST_F(SymbolicShapes, ViewOfATransposeThatCannotBeProvenIsAGuardNotAGuess) {
  const TensorMeta t = one("transpose", {x({B, S, 64}), SymInt(0), SymInt(1)});
  call("view", {t, std::vector<SymInt>{-1, 64}});
  EXPECT_FALSE(env.guards().empty());  // holds only if B or S is 1: recorded, checked at bind
}

TEST_F(SymbolicShapes, BroadcastCarriesLeadingDimsAndGuardsUnknownPairs) {
  const TensorMeta bias = x({4096});
  EXPECT_EQ(one("add", {x({B, S, 4096}), bias}).shape_str(), "[B, S, 4096]");
  EXPECT_EQ(one("mul", {x({B, S, 4096}), x({B, S, 1}, DType::kF32)}).dtype, DType::kF32);
  EXPECT_TRUE(env.guards().empty());
  const Expr B2 = env.new_symbol("B2", "input y dim 0");
  EXPECT_EQ(one("add", {x({B, 8}), x({B2, 8})}).shape_str(), "[B, 8]");
  ASSERT_EQ(env.guards().size(), 1u);
  EXPECT_NE(env.guards()[0].cond.str().find("B2"), std::string::npos);
}

TEST_F(SymbolicShapes, BroadcastOfProvenDifferentSizesIsAnError) {
  const diag::Diagnostic d = error("add", {x({2, 3}), x({4})});
  EXPECT_EQ(d.code, "broadcast");
  EXPECT_EQ(d.op, "add");
  EXPECT_EQ(d.argument, "other");
  EXPECT_EQ(d.expected, "3");
  EXPECT_EQ(d.got, "4");
}

TEST_F(SymbolicShapes, SiluAndMulHalvesTheLastDim) {
  const Expr I = env.new_symbol("I", "config.intermediate_size", sym::SymbolKind::kConfig);
  const TensorMeta out = one("silu_and_mul", {x({B, S, I * 2})});
  EXPECT_EQ(out.shape_str(), "[B, S, I]");
  EXPECT_TRUE(env.guards().empty());
  one("silu_and_mul", {x({B, I})});  // I even is not known: a guard
  EXPECT_EQ(env.guards().size(), 1u);
  const diag::Diagnostic d = error("silu_and_mul", {x({B, 7})});
  EXPECT_EQ(d.code, "shape-mismatch");
  EXPECT_EQ(d.argument, "x");
}

TEST_F(SymbolicShapes, NarrowSelectAndSliceMoveTheOffsetSymbolically) {
  const TensorMeta in = x({B, S, 64});
  EXPECT_EQ(one("narrow", {in, SymInt(2), SymInt(16), SymInt(32)}).storage_offset.str(), "16");
  const TensorMeta sel = one("select", {in, SymInt(1), SymInt(2)});
  EXPECT_EQ(sel.shape_str(), "[B, 64]");
  EXPECT_TRUE(sel.storage_offset.identical(SymInt(128)));
  const TensorMeta last = one("slice", {in, SymInt(1), SymInt(-1), op::None{}, SymInt(1)});
  EXPECT_EQ(last.shape_str(), "[B, 1, 64]");  // x[:, -1:]: the last token
  EXPECT_TRUE(last.storage_offset.identical(SymInt((S - 1) * 64)));
}

TEST_F(SymbolicShapes, CatAddsSymbolicSizesAndSplitWithSizesTakesThemApart) {
  const Expr T = env.new_symbol("T", "cache length");
  const TensorMeta kv = one("cat", {std::vector<TensorMeta>{x({B, T, H, D}), x({B, S, H, D})}, SymInt(1)});
  EXPECT_TRUE(kv.sizes[1].identical(SymInt(T + S)));
  const auto parts = v2::get<std::vector<TensorMeta>>(
      call("split_with_sizes", {x({B, H * D * 3}), std::vector<SymInt>{H * D, H * D, H * D}, SymInt(-1)})[0]);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(parts[2].storage_offset.identical(SymInt(H * D * 2)));
  EXPECT_TRUE(env.guards().empty());
}

TEST_F(SymbolicShapes, ExpandAndContiguous) {
  const TensorMeta e = one("expand", {x({1, 64}), std::vector<SymInt>{B, 64}});
  EXPECT_EQ(strides(e), "[0, 1]");
  const TensorMeta c = one("contiguous", {e});
  EXPECT_EQ(c.shape_str(), "[B, 64]");
  EXPECT_EQ(strides(c), "[64, 1]");
  const TensorMeta already = x({B, S, 64});
  EXPECT_TRUE(one("contiguous", {already}).identical(already));  // returns self
}

TEST_F(SymbolicShapes, ErrorsNameArgumentExpectedAndGot) {
  diag::Diagnostic d = error("view", {one("transpose", {x({4, 6}), SymInt(0), SymInt(1)}), std::vector<SymInt>{24}});
  EXPECT_EQ(d.code, "view");
  EXPECT_NE(d.message.find("Use .reshape"), std::string::npos);
  d = error("cat", {std::vector<TensorMeta>{x({2, 3}), x({2, 4})}, SymInt(0)});
  EXPECT_EQ(d.code, "shape-mismatch");
  EXPECT_EQ(d.argument, "tensors[1]");
  EXPECT_EQ(d.expected, "3");
  EXPECT_EQ(d.got, "4");
  d = error("expand", {x({1, 3, 5}), std::vector<SymInt>{1, 6, 5}});
  EXPECT_EQ(d.code, "shape-mismatch");
  d = error("narrow", {x({B, 3}), SymInt(1), SymInt(2), SymInt(5)});
  EXPECT_EQ(d.argument, "length");
  d = error("unsqueeze", {x({2, 3}), SymInt(3)});
  EXPECT_EQ(d.code, "dim");
  EXPECT_EQ(d.expected, "[-3, 2]");
}

}  // namespace
}  // namespace symtrace
