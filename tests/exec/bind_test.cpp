// Bind errors (each names what is wrong and where it came from) and verify mode (the first
// real output that differs from its fake prediction stops the run, naming the node).
#include <gtest/gtest.h>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>

#include "tests/graph/toy_ops.hpp"

namespace symtrace::exec {
namespace {

using graph::Traced;
using sym::SymInt;
using tensor::DType;
using tensor::TensorMeta;

// Runs f, expects a diag::Error with `code`, returns it for more checks.
template <class F>
diag::Diagnostic expect_error(F&& f, std::string_view code) {
  try {
    f();
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, code) << e.what();
    return e.diagnostic();
  }
  ADD_FAILURE() << "expected a diag::Error with code " << code;
  return {};
}

std::string joined(const diag::Diagnostic& d) {
  std::string s = d.message + "\n" + d.expected + "\n" + d.got;
  for (const std::string& n : d.notes) s += "\n" + n;
  return s;
}

// "tile(x, w)": a linear whose fake requires S % 4 == 0 through a recorded guard.
op::OpDef tiled_linear() {
  op::OpDef d = toy::linear_op("tiled_linear");
  auto inner = d.fake;
  d.fake = [inner](const op::Args& a, op::FakeContext& cx) -> op::Outputs {
    cx.env.require(sym::divisible(a.meta("x").size(1), 4), "tiled_linear: S % 4 == 0 (4-row tiles)");
    return inner(a, cx);
  };
  return d;
}

struct Model {
  op::Registry reg;
  graph::Graph g;
  std::unique_ptr<Plan> plan;

  explicit Model(op::OpDef layer) {
    reg.add(std::move(layer));
    reg.add(toy::add_op());
    graph::Tracer tr(g, reg);
    SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
    SymInt H = tr.config("H", 16, "config.hidden_size");
    Traced x = tr.input("x", {B, S, H}, DType::kF32);
    Traced r = tr.input("r", {B, S, H}, DType::kF32);
    Traced w = tr.weight("proj.weight", {H, H}, DType::kF32);
    auto scope = tr.scope("model.layers.0.proj");
    tr.output("y", tr.call("add", {tr.call(reg.all()[1]->name, {x, w}), r}));
    EXPECT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
    plan = std::make_unique<Plan>(g);
  }
  void weights() {
    Tensor w = Tensor::empty({16, 16}, DType::kF32);
    w.fill_random(1);
    plan->set_param("proj.weight", w);
  }
};

TEST(PlanBind, GuardViolationNamesTheGuardItsReasonAndTheNode) {
  Model m(tiled_linear());
  m.weights();
  EXPECT_NO_THROW(m.plan->bind({{"B", 2}, {"S", 8}}));
  diag::Diagnostic d = expect_error([&] { m.plan->bind({{"B", 2}, {"S", 6}}); }, "bind");
  const std::string s = joined(d);
  EXPECT_NE(s.find("tiled_linear: S % 4 == 0 (4-row tiles)"), std::string::npos) << s;
  EXPECT_NE(s.find("recorded by model.layers.0.proj (tiled_linear) --> exec/bind_test.cpp:"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("S = 6 from input x dim 1"), std::string::npos) << s;
  EXPECT_FALSE(m.plan->bound());
}

TEST(PlanBind, RangeViolationNamesTheSymbolAndItsOrigin) {
  Model m(toy::linear_op());
  m.weights();
  diag::Diagnostic d = expect_error([&] { m.plan->bind({{"B", 0}, {"S", 3}}); }, "bind");
  EXPECT_NE(joined(d).find("B = 0 is outside its range [1, inf)"), std::string::npos) << joined(d);
}

TEST(PlanBind, MissingAndMismatchedParametersAreNamed) {
  Model m(toy::linear_op());
  diag::Diagnostic missing = expect_error([&] { m.plan->bind({{"B", 1}, {"S", 3}}); }, "bind");
  EXPECT_EQ(missing.message, "parameter `proj.weight` was not given (Plan::set_param)");
  m.plan->set_param("proj.weight", Tensor::empty({16, 8}, DType::kF32));
  diag::Diagnostic bad = expect_error([&] { m.plan->bind({{"B", 1}, {"S", 3}}); }, "param-mismatch");
  EXPECT_EQ(bad.expected, "f32[16, 16]");
  EXPECT_EQ(bad.got, "f32[16, 8]");
  expect_error([&] { m.plan->set_param("no.such.weight", Tensor()); }, "bind");
}

TEST(PlanBind, InputsThatDisagreeOnASymbolOrRankAreRefused) {
  Model m(toy::linear_op());
  m.weights();
  Tensor x = Tensor::zeros({2, 3, 16}, DType::kF32);
  Tensor r = Tensor::zeros({2, 4, 16}, DType::kF32);
  diag::Diagnostic d = expect_error([&] { m.plan->run(std::vector<Tensor>{x, r}); }, "bind");
  EXPECT_EQ(d.message, "S is 3 from input x dim 1 but 4 from input r dim 1");
  Tensor flat = Tensor::zeros({6, 16}, DType::kF32);
  diag::Diagnostic rank = expect_error([&] { m.plan->run(std::vector<Tensor>{flat, r}); }, "bind");
  EXPECT_EQ(rank.message, "input `x` has rank 2, the graph traced 3");
  // H read from the inputs (8) no longer fits the weight loaded for H = 16.
  Tensor wide = Tensor::zeros({2, 3, 8}, DType::kF32);
  diag::Diagnostic h = expect_error([&] { m.plan->run(std::vector<Tensor>{wide, wide}); },
                                    "param-mismatch");
  EXPECT_EQ(h.expected, "f32[8, 8]");
  EXPECT_EQ(h.got, "f32[16, 16]");
  EXPECT_FALSE(m.plan->bound());
  expect_error([&] { m.plan->bind({{"B", 2}}); }, "unbound");  // S has no value
}

TEST(PlanBind, RunBeforeBindIsAnError) {
  Model m(toy::linear_op());
  expect_error([&] { m.plan->run(); }, "bind");
  expect_error([&] { m.plan->input("x"); }, "bind");
}

TEST(PlanBind, GraphsWithErrorsAreNotPlanned) {
  op::Registry reg;
  reg.add(toy::add_op());
  graph::Graph g;
  graph::Tracer tr(g, reg);
  Traced a = tr.input("a", {2, 3}, DType::kF32), b = tr.input("b", {3, 2}, DType::kF32);
  tr.output("y", tr.call("add", {a, b}));
  diag::Diagnostic d = expect_error([&] { Plan p(g); }, "plan");
  EXPECT_NE(d.message.find("1 error finding; the first: shape"), std::string::npos) << d.message;
}

// --- verify mode ------------------------------------------------------------------------

// A view op whose kernel returns the transpose of what its fake predicts.
op::OpDef lying_view() {
  op::OpDef d = toy::view_op();
  d.name = "lying_view";
  d.schema = op::Schema::parse("lying_view(Tensor x, SymInt[] size) -> Tensor");
  d.reference = [](const op::Args& a, op::KernelContext&) -> op::Outputs {
    const Tensor& x = a.tensor("x");
    return {x.as_strided(x.sizes(), {1, x.size(0)}, x.storage_offset())};
  };
  return d;
}

// A linear whose kernel allocates [M, N] although its fake says [*, N].
op::OpDef flattening_kernel() {
  op::OpDef d = toy::linear_op("flat_kernel");
  d.reference = [](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor& x = a.tensor("x");
    Tensor out = cx.alloc.output(0, {x.numel() / x.size(-1), a.tensor("w").size(0)}, x.dtype());
    return {out};
  };
  return d;
}

TEST(PlanVerify, FirstDivergingOutputStopsTheRunNamingTheNode) {
  op::Registry reg;
  reg.add(lying_view());
  reg.add(toy::add_op());
  graph::Graph g;
  {
    graph::Tracer tr(g, reg);
    Traced x = tr.input("x", {4, 4}, DType::kF32);
    auto s = tr.scope("model.reshape");
    Traced v = tr.call("lying_view", {x, std::vector<SymInt>{4, 4}});
    tr.output("y", tr.call("add", {v, v}));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u);
  Plan plan(g);
  plan.bind({});
  plan.input("x").fill(1);
  EXPECT_NO_THROW(plan.run());  // the view is laid out from the fake, its kernel not run
  diag::Diagnostic d = expect_error([&] { plan.run({.verify = true}); }, "fake-mismatch");
  EXPECT_EQ(d.node, "model.reshape");
  EXPECT_EQ(d.op, "lying_view");
  EXPECT_NE(d.expected.find("strides [4, 1]"), std::string::npos) << d.expected;
  EXPECT_NE(d.got.find("strides [1, 4]"), std::string::npos) << d.got;
}

TEST(PlanVerify, KernelAskingTheAllocatorForAnotherShapeIsRefused) {
  Model m(flattening_kernel());
  m.weights();
  m.plan->bind({{"B", 2}, {"S", 3}});
  diag::Diagnostic d = expect_error([&] { m.plan->run(); }, "plan-mismatch");
  EXPECT_EQ(d.node, "model.layers.0.proj");
  EXPECT_EQ(d.expected, "f32[2, 3, 16]");
  EXPECT_EQ(d.got, "f32[6, 16]");
}

TEST(PlanVerify, KernelWritingOutsideThePlanIsRefused) {
  op::OpDef d = toy::linear_op("rogue");
  d.reference = [](const op::Args& a, op::KernelContext&) -> op::Outputs {
    std::vector<std::int64_t> s = a.tensor("x").sizes();
    return {Tensor::zeros(s, DType::kF32)};  // allocated itself
  };
  Model m(std::move(d));
  m.weights();
  m.plan->bind({{"B", 1}, {"S", 2}});
  diag::Diagnostic e = expect_error([&] { m.plan->run(); }, "fake-mismatch");
  EXPECT_NE(e.message.find("not where the plan put it"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace symtrace::exec
