// verify reports guards that pin input sizes: a flattening fake feeding the registry's
// broadcasting add leaves `S == B*S` behind (true only for B == 1), which must be an error on
// the add, not a silent guard; alignment guards and config-only guards stay guards.
#include <gtest/gtest.h>

#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>
#include <symtrace/ops.hpp>

#include "tests/graph/toy_ops.hpp"

namespace symtrace::graph {
namespace {

using sym::SymInt;
using tensor::DType;

std::vector<const Finding*> with_code(const Graph& g, std::string_view code) {
  std::vector<const Finding*> out;
  for (const Finding& f : g.findings())
    if (f.diag.code == code) out.push_back(&f);
  return out;
}

// x [B, S, H] -> linear (flattening or not) -> add(x, y): the residual of an MLP.
struct Residual {
  op::Registry reg;
  Graph g;
  NodeId down = kNoNode, residual = kNoNode;

  explicit Residual(bool flatten) {
    reg.add(ops::registry().get("add"));  // PyTorch broadcasting: guards what it cannot prove
    reg.add(toy::linear_op("xpu_linear", flatten));
    Tracer tr(g, reg);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    SymInt H = tr.config("H", 64, "config.hidden_size");
    Traced x = tr.input("x", {B, S, H}, DType::kF32);
    Traced w = tr.weight("mlp.down_proj.weight", {H, H}, DType::kF32);
    auto layer = tr.scope("model.layers.0");
    Traced y;
    {
      auto m = tr.scope("mlp.down_proj");
      y = tr.call("xpu_linear", {x, w});
      down = y.ref().node;
    }
    Traced r = tr.call("add", {x, y});
    residual = r.ref().node;
    tr.output("out", r);
  }
};

TEST(VerifyGuards, FlattenedLeadingDimsMeetingAddIsAnErrorOnTheAdd) {
  Residual m(/*flatten=*/true);
  // Tracing alone accepts it: broadcasting [B, S, H] with [B*S, H] only records a guard.
  EXPECT_TRUE(m.g.findings().empty()) << render_findings(m.g);
  EXPECT_EQ(m.g.meta({m.residual, 0}).shape_str(), "[B, S, H]");
  ASSERT_EQ(m.g.env().guards().size(), 1u);
  EXPECT_EQ(m.g.guard_site(0), m.residual);

  EXPECT_EQ(verify(m.g), 1u) << render_findings(m.g);
  const auto fs = with_code(m.g, "input-specialization");
  ASSERT_EQ(fs.size(), 1u) << render_findings(m.g);
  const Finding& f = *fs[0];
  EXPECT_EQ(f.node, m.residual);
  EXPECT_EQ(f.pass, "verify");
  EXPECT_EQ(f.diag.severity, diag::Severity::kError);
  EXPECT_EQ(f.diag.node, "model.layers.0");
  EXPECT_EQ(f.diag.op, "add");
  EXPECT_FALSE(f.diag.proven);
  const std::string text = render(m.g, f);
  EXPECT_NE(text.find("S == B*S"), std::string::npos) << text;
  EXPECT_NE(text.find("input sizes B, S"), std::string::npos) << text;
  EXPECT_NE(text.find("only for B = 1"), std::string::npos) << text;
  EXPECT_NE(text.find("B from input x dim 0"), std::string::npos) << text;
  EXPECT_NE(text.find("S from input x dim 1"), std::string::npos) << text;
  EXPECT_NE(text.find("broadcast at dim 1"), std::string::npos) << text;  // who recorded it
  EXPECT_NE(text.find("verify_guards_test.cpp:"), std::string::npos) << text;

  // Verify is rerunnable: its findings are replaced, not duplicated.
  EXPECT_EQ(verify(m.g), 1u);
  EXPECT_EQ(with_code(m.g, "input-specialization").size(), 1u);
}

TEST(VerifyGuards, ThePipelineReportsItToo) {
  Residual m(/*flatten=*/true);
  EXPECT_GE(run_pipeline(m.g), 1u);
  EXPECT_EQ(with_code(m.g, "input-specialization").size(), 1u) << render_findings(m.g);
}

TEST(VerifyGuards, KeepingTheLeadingDimsIsClean) {
  Residual m(/*flatten=*/false);
  EXPECT_EQ(run_pipeline(m.g), 0u) << render_findings(m.g);
  EXPECT_TRUE(m.g.env().guards().empty());
  EXPECT_TRUE(with_code(m.g, "input-specialization").empty());
}

// Guards recorded directly (as a fake's require would), one graph per case.
struct Guarded {
  op::Registry reg = toy::basic_registry();
  Graph g;
  SymInt B, S, N;
  Guarded() {
    Tracer tr(g, reg);
    B = tr.symbol("B", "input x dim 0");
    S = tr.symbol("S", "input x dim 1");
    N = tr.config("N", 128, "config.hidden_size");
    tr.input("x", {B, S, N}, DType::kF32);
  }
  std::size_t findings_for(const sym::Cond& c) {
    g.env().require(c, "test guard");
    verify(g);
    return with_code(g, "input-specialization").size();
  }
};

TEST(VerifyGuards, AlignmentAndBoundGuardsOnInputsAreNotSpecialisations) {
  Guarded d;
  EXPECT_EQ(d.findings_for(sym::divisible(d.S, 16)), 0u);
  Guarded a;
  EXPECT_EQ(a.findings_for(sym::divisible(a.B * a.S, 16)), 0u);
  Guarded b;
  EXPECT_EQ(b.findings_for(sym::le(b.S, 4096)), 0u);
  Guarded c;
  EXPECT_EQ(c.findings_for(sym::ne(c.B, 1)), 0u);
}

TEST(VerifyGuards, ConfigOnlyEqualitiesAreLeftToThePrepareCheck) {
  op::Registry reg = toy::basic_registry();
  Graph g;
  Tracer tr(g, reg);
  SymInt N = tr.config("N", 128, "config.hidden_size");
  SymInt K = tr.config("K", 128, "config.intermediate_size");
  g.env().require(sym::eq(N, K), "test guard");
  verify(g);
  EXPECT_TRUE(with_code(g, "input-specialization").empty()) << render_findings(g);
}

TEST(VerifyGuards, PinsToAValueOrAProductAreNamed) {
  {
    Guarded m;
    ASSERT_EQ(m.findings_for(sym::eq(m.B, 4)), 1u);
    const std::string& msg = with_code(m.g, "input-specialization")[0]->diag.message;
    EXPECT_NE(msg.find("only for B = 4"), std::string::npos) << msg;
    EXPECT_EQ(with_code(m.g, "input-specialization")[0]->node, kNoNode);  // outside any node
  }
  {
    Guarded m;  // S pinned to a product of an input and a config dim
    ASSERT_EQ(m.findings_for(sym::eq(m.S, m.B * m.N)), 1u);
    const std::string& msg = with_code(m.g, "input-specialization")[0]->diag.message;
    EXPECT_TRUE(msg.find("only for S = B*N") != std::string::npos ||
                msg.find("only for S = N*B") != std::string::npos)
        << msg;
  }
  {
    Guarded m;  // solved for the symbol that appears linearly
    ASSERT_EQ(m.findings_for(sym::eq(m.B * m.B, m.S)), 1u);
    const std::string& msg = with_code(m.g, "input-specialization")[0]->diag.message;
    EXPECT_NE(msg.find("only for S = B*B"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace symtrace::graph
