// A kernel author's test of their own quantized MLP block, written with symtrace/testing.
//
// It traces the block once with symbolic batch and sequence, checks every shape with
// patterns, plants the classic fake-impl bug (flattening [B, S, K] to [B*S, N]) in a local
// op and expects the test to catch it (the shape pattern, the B == 1 guard it forces, and
// opcheck), and compares the traced graph with a golden dump
// (SYMTRACE_UPDATE_GOLDEN=1 rewrites examples/golden/my_layer.txt).
#include <gtest/gtest.h>

#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>
#include <symtrace/op/opcheck.hpp>
#include <symtrace/ops.hpp>
#include <symtrace/testing/gtest.hpp>

namespace {

using symtrace::graph::Traced;
using symtrace::graph::Tracer;
using symtrace::sym::SymInt;
using symtrace::tensor::DType;
namespace graph = symtrace::graph;
namespace op = symtrace::op;
namespace st = symtrace::testing;

// The layer under test: an int8 W8A8 MLP (gate/up fused, down), residual added.
//   x -> quantize -> int8_gemm(gate_up) -> silu_and_mul -> quantize -> int8_gemm(down) -> + x
// `projection` names the op used for the projections, so a test can swap in its own.
Traced my_mlp(Tracer& tr, Traced x, SymInt H, SymInt I) {
  auto mlp = tr.scope("model.layers.0.mlp");
  auto project = [&](const char* name, Traced in, SymInt n, SymInt k) {
    auto s = tr.scope(name);
    Traced w = tr.weight(std::string(name) + ".weight", {n, k}, DType::kI8);
    Traced ws = tr.scale(std::string(name) + ".weight_scale", w, {n, 1}, graph::per_channel());
    std::vector<Traced> q = tr.call_all("quantize_int8", {in});  // per-token, dynamic
    return tr.call("int8_gemm", {q[0], w, ws, q[1], DType::kF32});
  };
  Traced gate_up = project("gate_up_proj", x, I * 2, H);
  Traced act = [&] {
    auto s = tr.scope("act");
    return tr.call("silu_and_mul", {gate_up});
  }();
  Traced down = project("down_proj", act, H, I);
  auto s = tr.scope("residual");
  return tr.call("add", {x, down});
}

struct Traced3 {
  SymInt B, S, H, I;
  Traced x;
};

Traced3 inputs(Tracer& tr) {
  Traced3 t;
  t.B = tr.symbol("B", "input x dim 0");
  t.S = tr.symbol("S", "input x dim 1");
  t.H = tr.config("H", 256, "config.hidden_size");
  t.I = tr.config("I", 384, "config.intermediate_size");
  t.x = tr.input("x", {t.B, t.S, t.H}, DType::kF32);
  // The int8 kernels accumulate exactly in int32 only up to a K bound: state the sizes this
  // layer is built for, so their rules can be proven instead of falling back.
  tr.env().set_range(t.H.expr(), {1, 16384});
  tr.env().set_range(t.I.expr(), {1, 16384});
  return t;
}

TEST(MyLayer, ShapesFollowThePatterns) {
  graph::Graph g;
  Tracer tr(g);
  Traced3 in = inputs(tr);
  tr.output("y", my_mlp(tr, in.x, in.H, in.I));
  graph::run_pipeline(g);

  st::ShapeBindings b;
  EXPECT_THAT(in.x.meta(), st::MatchesShape("[B, S, H]", b));
  EXPECT_SHAPE_AT(g, "model.layers.0.mlp.act", "[B, S, I]", b);
  EXPECT_SHAPE_AT(g, "model.layers.0.mlp.gate_up_proj", "[B, S, 2*I]", b);
  EXPECT_SHAPE_AT(g, "model.layers.0.mlp.down_proj", "[B, S, H]", b);
  EXPECT_SHAPE_AT(g, "model.layers.0.mlp.residual", "[*, H]", b);
  EXPECT_NO_FINDINGS(g);
  EXPECT_NO_GUARDS(g);
  EXPECT_KERNEL(g, "model.layers.0.mlp.residual", g.kernel_name(g.at("model.layers.0.mlp.residual").back()));
  std::puts(st::explain_kernel(g, "model.layers.0.mlp.down_proj").c_str());
}

// A projection op whose fake flattens leading dims to 2-D, as in vLLM PR #39984: right
// numel, wrong rank. The real kernel is fine; only the fake lies.
op::OpDef flattening_projection() {
  op::OpDef def = symtrace::ops::registry().get("linear");
  def.name = "my_linear";
  def.schema = op::Schema::parse("my_linear(Tensor x, Tensor w, Tensor? bias=None) -> Tensor");
  def.variants.clear();
  def.fake = [](const op::Args& a, op::FakeContext&) -> op::Outputs {
    const auto& x = a.meta("x");
    SymInt M = 1;
    for (std::int64_t d = 0; d + 1 < x.dim(); ++d) M = M * x.sizes[d];
    return {symtrace::tensor::TensorMeta::contiguous({M, a.meta("w").sizes[0]}, x.dtype)};
  };
  return def;
}

TEST(MyLayer, FlatteningFakeIsCaughtAtTheResidual) {
  op::Registry reg;
  for (const op::OpDef* d : symtrace::ops::registry().all()) reg.add(*d);
  reg.add(flattening_projection());

  graph::Graph g;
  Tracer tr(g, reg);
  Traced3 in = inputs(tr);
  Traced y;
  {
    auto s = tr.scope("model.layers.0.mlp");
    Traced up = [&] {
      auto p = tr.scope("up_proj");
      return tr.call("my_linear", {in.x, tr.weight("up_proj.weight", {in.H, in.H}, DType::kF32)});
    }();
    auto r = tr.scope("residual");
    y = tr.call("add", {in.x, up});
  }
  tr.output("y", y);
  graph::run_pipeline(g);

  // The projection's output is 2-D where the layer needs [B, S, H] ...
  st::ShapeBindings b;
  auto shape = st::check_shape_at(g, "model.layers.0.mlp.up_proj", "[B, S, H]", b);
  EXPECT_FALSE(shape);
  EXPECT_NE(shape.message.find("shape [B*S, H]"), std::string::npos) << shape.message;
  // ... and the residual add could only broadcast [B*S, H] against [B, S, H] under the guard
  // S == B*S, which holds for B == 1 alone: the trace is no longer valid for every batch.
  auto guards = st::check_no_guards(g);
  EXPECT_FALSE(guards);
  EXPECT_NE(guards.message.find("S == B*S"), std::string::npos) << guards.message;
  EXPECT_NE(guards.message.find("model.layers.0.mlp.residual"), std::string::npos) << guards.message;
  std::puts(guards.message.c_str());

  // opcheck catches the same lie per op, before any graph exists.
  op::OpcheckReport report = op::opcheck(reg.get("my_linear"));
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.str().find("my_linear"), std::string::npos) << report.str();
}

TEST(MyLayer, GraphMatchesGolden) {
  graph::Graph g;
  Tracer tr(g);
  Traced3 in = inputs(tr);
  tr.output("y", my_mlp(tr, in.x, in.H, in.I));
  EXPECT_GOLDEN(g, SYMTRACE_SOURCE_DIR "/examples/golden/my_layer.txt");
}

}  // namespace
