// The layout catches (issue 5, catches 1-3): each traces a small model with the bug planted
// and expects the finding, with a clean control beside it.
#include <gtest/gtest.h>

#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>

#include "tests/graph/qlinear_ops.hpp"

namespace symtrace::graph {
namespace {

using sym::SymInt;
using tensor::DType;

const Finding* find(const Graph& g, std::string_view code, NodeId node) {
  for (const Finding& f : g.findings())
    if (f.diag.code == code && f.node == node) return &f;
  return nullptr;
}

std::string all_findings(const Graph& g) { return render_findings(g); }

// --- 1. A fake that flattens [B, S, K] to [B*S, N] ------------------------------------------

struct FlattenModel {
  op::Registry reg;
  Graph g;
  NodeId down = kNoNode, residual = kNoNode;

  explicit FlattenModel(bool bug) {
    reg.add(toy::add_op());
    reg.add(toy::linear_op("linear"));
    reg.add(toy::linear_op("xpu_linear", bug));  // a user-registered fake
    Tracer tr(g, reg);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    SymInt H = tr.config("H", 64, "config.hidden_size");
    SymInt I = tr.config("I", 128, "config.intermediate_size");
    Traced x = tr.input("x", {B, S, H}, DType::kF32);
    Traced up = tr.weight("mlp.up.weight", {I, H}, DType::kF32);
    Traced dn = tr.weight("mlp.down.weight", {H, I}, DType::kF32);
    auto s = tr.scope("model.layers.0");
    Traced h;
    {
      auto m = tr.scope("mlp.up_proj");
      h = tr.call("linear", {x, up});
    }
    Traced y;
    {
      auto m = tr.scope("mlp.down_proj");
      y = tr.call("xpu_linear", {h, dn});
      down = y.ref().node;
    }
    Traced r = tr.call("add", {x, y});  // the residual: needs [B, S, H]
    residual = r.ref().node;
    Traced r2 = tr.call("add", {r, r});  // downstream of the failure: no second finding
    tr.output("out", r2);
  }
};

TEST(Catch1FlattenedLeadingDims, CaughtAtTheResidualAddNamingBothNodes) {
  FlattenModel m(/*bug=*/true);
  ASSERT_EQ(m.g.findings().size(), 1u) << all_findings(m.g);
  const Finding& f = m.g.findings()[0];
  EXPECT_EQ(f.diag.code, "shape");
  EXPECT_EQ(f.node, m.residual);
  EXPECT_EQ(f.diag.node, "model.layers.0");
  EXPECT_EQ(f.diag.op, "add");
  EXPECT_EQ(f.related, std::vector<NodeId>{m.down});
  const std::string text = render(m.g, f);
  EXPECT_NE(text.find("got [B*S, H]"), std::string::npos) << text;
  EXPECT_NE(text.find("expected [B, S, H]"), std::string::npos) << text;
  EXPECT_NE(text.find("model.layers.0.mlp.down_proj (xpu_linear)"), std::string::npos) << text;
  EXPECT_NE(text.find("turned the leading dims [B, S] of its input `x` [B, S, I] into [B*S]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("B from input x dim 0"), std::string::npos) << text;
  EXPECT_NE(text.find("catches_layout_test.cpp:"), std::string::npos) << text;
  EXPECT_TRUE(m.g.node(m.residual).poisoned);
}

TEST(Catch1FlattenedLeadingDims, CorrectFakeTracesClean) {
  FlattenModel m(/*bug=*/false);
  EXPECT_TRUE(m.g.findings().empty()) << all_findings(m.g);
  EXPECT_EQ(m.g.meta({m.down, 0}).shape_str(), "[B, S, H]");
}

// --- 2. Weight transposed to KN while its per-channel scale stays NK ---------------------

struct KnModel {
  op::Registry reg;
  Graph g;
  NodeId w = kNoNode, scale = kNoNode, call = kNoNode;

  // symbolic: N and K are config symbols (both 4096); else the plain int 4096 for both.
  KnModel(toy::KnPrepare kind, bool symbolic) {
    op::OpDef q = toy::qlinear_op();
    q.variants = {toy::qlinear_kn_variant(kind)};
    reg.add(std::move(q));
    Tracer tr(g, reg);
    SymInt B = tr.symbol("B", "input x dim 0");
    SymInt N = symbolic ? tr.config("N", 4096, "config.hidden_size") : SymInt(4096);
    SymInt K = symbolic ? tr.config("K", 4096, "config.num_heads*head_dim") : SymInt(4096);
    Traced x = tr.input("x", {B, K}, DType::kBF16);
    auto s = tr.scope("model.layers.0.self_attn.o_proj");
    Traced wt = tr.weight("o_proj.weight", {N, K}, DType::kF8E4M3FN);
    Traced sc = tr.scale("o_proj.weight_scale", wt, {N, 1}, per_channel());
    Traced y = tr.call("qlinear", {x, wt, sc});
    tr.output("y", y);
    w = wt.ref().node;
    scale = sc.ref().node;
    call = y.ref().node;
    run_pipeline(g);
  }
};

TEST(Catch2ScaleLeftBehind, WeightOnlyTransposeCaughtWithDistinctSymbols) {
  KnModel m(toy::KnPrepare::kWeightOnly, /*symbolic=*/true);
  const Finding* f = find(m.g, "scale-layout", m.scale);
  ASSERT_NE(f, nullptr) << all_findings(m.g);
  EXPECT_EQ(f->diag.expected, "[1, N]");
  EXPECT_EQ(f->diag.got, "[N, 1]");
  EXPECT_EQ(f->pass, "verify");
  EXPECT_EQ(f->related, (std::vector<NodeId>{m.w, m.call}));  // the weight, the prepare site
  const std::string text = render(m.g, *f);
  EXPECT_NE(text.find("N from config.hidden_size = 4096"), std::string::npos) << text;
  EXPECT_NE(text.find("[1, N] for KN"), std::string::npos) << text;
}

TEST(Catch2ScaleLeftBehind, WeightOnlyTransposeCaughtWhenNEqualsKConcretely) {
  KnModel m(toy::KnPrepare::kWeightOnly, /*symbolic=*/false);
  const Finding* f = find(m.g, "scale-layout", m.scale);
  ASSERT_NE(f, nullptr) << all_findings(m.g);
  EXPECT_EQ(f->diag.expected, "[1, 4096]");  // from the KN tag, not from the square shape
  EXPECT_EQ(f->diag.got, "[4096, 1]");
}

TEST(Catch2ScaleLeftBehind, LayoutDecidedByShapeIsReportedWithDistinctSymbols) {
  KnModel m(toy::KnPrepare::kByShape, /*symbolic=*/true);
  const Finding* f = find(m.g, "layout", m.call);
  ASSERT_NE(f, nullptr) << all_findings(m.g);
  EXPECT_NE(f->diag.message.find("decides a layout by comparing shapes"), std::string::npos);
  EXPECT_NE(f->diag.got.find("N"), std::string::npos);
  EXPECT_NE(f->diag.got.find("K"), std::string::npos);
  EXPECT_FALSE(f->diag.proven);
}

TEST(Catch2ScaleLeftBehind, LayoutDecidedByShapeLeavesMismatchedTagsWhenNEqualsK) {
  // With N == K as plain ints the shape test passes silently and skips the weight
  // transpose while the scale is transposed: the tags disagree.
  KnModel m(toy::KnPrepare::kByShape, /*symbolic=*/false);
  const Finding* f = find(m.g, "scale-layout", m.scale);
  ASSERT_NE(f, nullptr) << all_findings(m.g);
  EXPECT_EQ(f->diag.expected, "layout NK");
  EXPECT_EQ(f->diag.got, "layout KN");
}

TEST(Catch2ScaleLeftBehind, CorrectPrepareIsCleanAndRecordsTheOriginal) {
  for (bool symbolic : {true, false}) {
    KnModel m(toy::KnPrepare::kCorrect, symbolic);
    EXPECT_EQ(m.g.count(diag::Severity::kError), 0u) << all_findings(m.g);
    EXPECT_EQ(m.g.count(diag::Severity::kWarning), 0u) << all_findings(m.g);
    ASSERT_NE(m.g.prepared(m.scale), nullptr);
    EXPECT_EQ(m.g.prepared(m.scale)->by, m.call);
    EXPECT_EQ(m.g.meta({m.w, 0}).layout, tensor::WeightLayout::kKN);
    EXPECT_EQ(m.g.kernel_name(m.call), "qlinear.kn");
  }
}

// --- 3. Per-channel scales without their unit dim ----------------------------------------

TEST(Catch3ScaleRank, OneDimensionalPerChannelScaleWithALaxFake) {
  op::Registry reg;
  reg.add(toy::qlinear_op(/*check_scale=*/false));  // the kernel "runs fine" on [N]
  Graph g;
  Tracer tr(g, reg);
  SymInt B = tr.symbol("B", "input x dim 0");
  SymInt N = tr.config("N", 256, "config.intermediate_size"), K = tr.config("K", 128, "config.hidden_size");
  Traced x = tr.input("x", {B, K}, DType::kBF16);
  Traced w = tr.weight("up.weight", {N, K}, DType::kI8);
  Traced s = tr.scale("up.weight_scale", w, {N}, per_channel());  // Quark stores [N]
  tr.output("y", tr.call("qlinear", {x, w, s}));
  EXPECT_TRUE(g.findings().empty());  // tracing alone does not see it: the fake is lax
  verify(g);
  const Finding* f = find(g, "scale-layout", s.ref().node);
  ASSERT_NE(f, nullptr) << all_findings(g);
  EXPECT_EQ(f->diag.expected, "[N, 1]");
  EXPECT_EQ(f->diag.got, "[N]");
  EXPECT_TRUE(f->diag.proven);
  EXPECT_NE(f->diag.hint.find("append the trailing 1"), std::string::npos);
}

TEST(Catch3ScaleRank, StrictFakeReportsItAtTheCallToo) {
  op::Registry reg;
  reg.add(toy::qlinear_op(/*check_scale=*/true));
  Graph g;
  Tracer tr(g, reg);
  SymInt B = tr.symbol("B", "input x dim 0");
  SymInt N = tr.config("N", 256, "config.intermediate_size"), K = tr.config("K", 128, "config.hidden_size");
  Traced x = tr.input("x", {B, K}, DType::kBF16);
  Traced w = tr.weight("up.weight", {N, K}, DType::kI8);
  Traced s = tr.scale("up.weight_scale", w, {N}, per_channel());
  Traced y = tr.call("qlinear", {x, w, s});
  const Finding* f = find(g, "scale-layout", y.ref().node);
  ASSERT_NE(f, nullptr) << all_findings(g);
  EXPECT_EQ(f->diag.argument, "w_scale");
  EXPECT_EQ(f->related, std::vector<NodeId>{s.ref().node});
}

TEST(Catch3ScaleRank, StackedMoeScalesNeedTheTrailingOne) {
  op::Registry reg;
  reg.add(toy::moe_op());
  Graph g;
  Tracer tr(g, reg);
  SymInt B = tr.symbol("B", "input x dim 0");
  SymInt E = tr.config("E", 8, "config.num_experts"), I = tr.config("I", 32, "config.moe_intermediate_size");
  SymInt H = tr.config("H", 64, "config.hidden_size");
  Traced x = tr.input("x", {B, H}, DType::kBF16);
  auto scope = tr.scope("model.layers.3.mlp.experts");
  Traced w13 = tr.weight("w13_weight", {E, 2 * I, H}, DType::kI8);
  Traced s13 = tr.scale("w13_weight_scale", w13, {E, 2 * I}, per_channel());
  tr.output("y", tr.call("moe", {x, w13, s13}));
  verify(g);
  const Finding* f = find(g, "scale-layout", s13.ref().node);
  ASSERT_NE(f, nullptr) << all_findings(g);
  EXPECT_EQ(f->diag.expected, "[E, 2*I, 1]");
  EXPECT_EQ(f->diag.got, "[E, 2*I]");
  EXPECT_EQ(f->diag.node, "model.layers.3.mlp.experts");
  const std::string text = render(g, *f);
  EXPECT_NE(text.find("E from config.num_experts = 8"), std::string::npos) << text;
  EXPECT_NE(text.find("I from config.moe_intermediate_size = 32"), std::string::npos) << text;

  // The canonical [E, 2I, 1] is clean.
  Graph ok;
  Tracer tr2(ok, reg);
  SymInt B2 = tr2.symbol("B", "input x dim 0");
  Traced x2 = tr2.input("x", {B2, 64}, DType::kBF16);
  Traced w2 = tr2.weight("w13_weight", {8, 64, 64}, DType::kI8);
  Traced sc2 = tr2.scale("w13_weight_scale", w2, {8, 64, 1}, per_channel());
  tr2.output("y", tr2.call("moe", {x2, w2, sc2}));
  EXPECT_EQ(verify(ok), 0u) << all_findings(ok);
}

}  // namespace
}  // namespace symtrace::graph
