// Assertions on traced graphs and golden dumps, with their failure messages.
#include <unistd.h>  // getpid: ctest runs tests of one binary in parallel processes

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>
#include <symtrace/testing.hpp>
#include <symtrace/testing/gtest.hpp>

namespace symtrace::testing {
namespace {

using graph::Traced;
using sym::SymInt;
using tensor::DType;

// A small bf16 MLP with an int8 projection whose scale may be stored 1-D (the Quark bug).
void trace_mlp(graph::Graph& g, bool scale_1d = false) {
  graph::Tracer tr(g);
  SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
  SymInt H = tr.config("H", 64, "config.hidden_size");
  SymInt I = tr.config("I", 96, "config.intermediate_size");
  Traced x = tr.input("x", {B, S, H}, DType::kF32);
  auto mlp = tr.scope("model.mlp");
  Traced up = [&] {
    auto s = tr.scope("gate_up_proj");
    return tr.call("linear", {x, tr.weight("gate_up_proj.weight", {I * 2, H}, DType::kF32)});
  }();
  Traced act = [&] {
    auto s = tr.scope("act");
    return tr.call("silu_and_mul", {up});
  }();
  auto s = tr.scope("down_proj");
  std::vector<Traced> q = tr.call_all("quantize_int8", {act});
  Traced w = tr.weight("down_proj.weight", {H, I}, DType::kI8);
  Traced ws = scale_1d ? tr.scale("down_proj.weight_scale", w, {H}, graph::per_channel())
                       : tr.scale("down_proj.weight_scale", w, {H, 1}, graph::per_channel());
  Traced y = tr.call("int8_gemm", {q[0], w, ws, q[1], DType::kF32});
  tr.output("y", y);
}

TEST(GraphChecks, ShapesAtModulePaths) {
  graph::Graph g;
  trace_mlp(g);
  ShapeBindings b;
  EXPECT_TRUE(check_shape_at(g, "model.mlp.act", "[B, S, I]", b));
  EXPECT_TRUE(check_shape_at(g, "model.mlp.gate_up_proj", "[B, S, 2*I]", b));
  EXPECT_TRUE(check_shape_at(g, "model.mlp.down_proj", "[B, S, H]", b));
  // Config dims are symbols of their own: the value 64 is not the symbol H.
  EXPECT_FALSE(check_shape_at(g, "model.mlp.down_proj", "[B, S, 64]", b));
  EXPECT_THAT(g.meta({g.find(graph::NodeKind::kInput, "x").value(), 0}),
              MatchesShape("[B, S, _]", b));
}

TEST(GraphChecks, UnboundExpressionAtPathSaysWhichOutput) {
  graph::Graph g;
  trace_mlp(g);
  ShapeBindings b;
  auto r = check_shape_at(g, "model.mlp.gate_up_proj", "[B, S, 2*I]", b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message.rfind("output of model.mlp.gate_up_proj: shape [B, S, 2*I]", 0), 0u)
      << r.message;
}

TEST(GraphChecks, UnknownPathListsTheKnownOnes) {
  graph::Graph g;
  trace_mlp(g);
  std::string why;
  EXPECT_FALSE(output_at(g, "model.mlp.up_proj", &why));
  EXPECT_EQ(why,
            "no live op node at module path 'model.mlp.up_proj'; paths with op nodes: "
            "model.mlp.act, model.mlp.down_proj, model.mlp.gate_up_proj");
}

TEST(GraphChecks, CleanGraphHasNoFindings) {
  graph::Graph g;
  trace_mlp(g);
  EXPECT_NO_FINDINGS(g);
  auto r = check_finding(g, "scale-layout", "down_proj");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "expected a finding [scale-layout] at a module path containing 'down_proj'; the "
            "graph has no findings");
}

TEST(GraphChecks, OneDimensionalScaleIsAFindingAtItsModule) {
  graph::Graph g;
  trace_mlp(g, /*scale_1d=*/true);
  EXPECT_FINDING(g, "scale-layout", "mlp.down_proj");
  auto r = check_no_findings(g);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message.rfind("expected no findings, got 1:\nerror[scale-layout]", 0), 0u)
      << r.message;
  r = check_finding(g, "shape-mismatch", "mlp");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "expected a finding [shape-mismatch] at a module path containing 'mlp'; the graph "
            "has [scale-layout] at model.mlp.down_proj");
}

TEST(GraphChecks, KernelsAfterSelection) {
  graph::Graph g;
  trace_mlp(g);
  auto r = check_kernel(g, "model.mlp.act", "silu_and_mul.reference");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message,
            "no kernel chosen at 'model.mlp.act' yet: run graph::select_kernels (or "
            "run_pipeline) first");
  graph::run_pipeline(g);
  const std::string chosen = g.kernel_name(g.at("model.mlp.act").back());
  EXPECT_KERNEL(g, "model.mlp.act", chosen);
  r = check_kernel(g, "model.mlp.act", "silu_and_mul.nonexistent");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message.rfind("kernel at 'model.mlp.act': expected silu_and_mul.nonexistent, chosen " +
                                chosen + "\nmodel.mlp.act: " + chosen,
                            0),
            0u)
      << r.message;
}

TEST(Golden, DumpIsStableAndReadable) {
  graph::Graph g1, g2;
  trace_mlp(g1);
  trace_mlp(g2);
  const std::string text = golden_text(g1);
  EXPECT_EQ(text, golden_text(g2));
  EXPECT_NE(text.find("%0 input x : f32[B, S, H]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("= silu_and_mul(%"), std::string::npos) << text;
  EXPECT_NE(text.find("-> f32[B, S, I]  @ model.mlp.act\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("0x"), std::string::npos) << "no addresses: " << text;
  EXPECT_EQ(text.find(".cpp"), std::string::npos) << "no source lines: " << text;
}

TEST(Golden, UnifiedDiff) {
  EXPECT_EQ(unified_diff("a\nb\nc\n", "a\nb\nc\n"), "");
  EXPECT_EQ(unified_diff("a\nb\nc\nd\n", "a\nB\nc\nd\n", "old", "new"),
            "--- old\n+++ new\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n");
  EXPECT_EQ(unified_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n",
                         "a", "b"),
            "--- a\n+++ b\n@@ -8,3 +8,4 @@\n 8\n 9\n 10\n+11\n");
}

TEST(Golden, MissingMismatchAndUpdate) {
  const auto dir = std::filesystem::temp_directory_path() / ("symtrace_golden_test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto file = dir / "g.txt";
  ::unsetenv("SYMTRACE_UPDATE_GOLDEN");
  auto r = check_golden_text("x\n", file);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message, "golden file " + file.string() +
                           " is missing; run with SYMTRACE_UPDATE_GOLDEN=1 to create it");
  ::setenv("SYMTRACE_UPDATE_GOLDEN", "1", 1);
  EXPECT_TRUE(check_golden_text("x\ny\n", file));
  ::unsetenv("SYMTRACE_UPDATE_GOLDEN");
  EXPECT_TRUE(check_golden_text("x\ny\n", file));
  r = check_golden_text("x\nz\n", file);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message, "graph differs from golden file " + file.string() +
                           " (SYMTRACE_UPDATE_GOLDEN=1 accepts it):\n--- " + file.string() +
                           "\n+++ traced graph\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace symtrace::testing

namespace symtrace::testing {
namespace {

TEST(GraphChecks, GuardsAreListedWithTheirSite) {
  graph::Graph clean;
  trace_mlp(clean);
  EXPECT_TRUE(check_no_guards(clean));

  graph::Graph g;
  graph::Tracer tr(g);
  SymInt B = tr.symbol("B", "input a dim 0"), S = tr.symbol("S", "input a dim 1");
  SymInt T = tr.symbol("T", "input b dim 1");
  auto scope = tr.scope("model.mix");
  tr.output("y", tr.call("add", {tr.input("a", {B, S}, DType::kF32), tr.input("b", {B, T}, DType::kF32)}));
  auto r = check_no_guards(g);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message.rfind("expected no guards, got 1:\n  S == T  (add: ", 0), 0u) << r.message;
  EXPECT_NE(r.message.find(") at model.mix"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace symtrace::testing
