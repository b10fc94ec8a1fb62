// Tracer, graph structure, module paths, exports.
#include <gtest/gtest.h>

#include <symtrace/graph/export.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>

#include "tests/graph/toy_ops.hpp"

namespace symtrace::graph {
namespace {

using sym::SymInt;
using tensor::DType;

class TracerTest : public ::testing::Test {
 protected:
  op::Registry reg = toy::basic_registry();
  Graph g;
};

TEST_F(TracerTest, RecordsNodesWithSymbolicMetasOnEveryEdge) {
  Tracer tr(g, reg);
  SymInt B = tr.symbol("B", "input x dim 0"), S = tr.symbol("S", "input x dim 1");
  SymInt H = tr.config("H", 64, "config.hidden_size");
  Traced x = tr.input("x", {B, S, H}, DType::kF32);
  Traced w = tr.weight("mlp.up.weight", {H, H}, DType::kF32);
  Traced y;
  {
    auto scope = tr.scope("model");
    auto inner = tr.scope("mlp.up");
    y = tr.call("linear", {x, w});
    EXPECT_EQ(tr.module_path(), "model.mlp.up");
  }
  EXPECT_EQ(tr.module_path(), "");
  Traced z = tr.call("add", {x, y});
  tr.output("z", z);

  EXPECT_EQ(g.size(), 5u);
  EXPECT_EQ(g.edge_count(), 5u);  // x->linear, w->linear, x->add, linear->add, add->output
  EXPECT_TRUE(g.findings().empty());
  EXPECT_EQ(y.meta().shape_str(), "[B, S, H]");
  EXPECT_EQ(g.module(y.ref().node), "model.mlp.up");
  EXPECT_EQ(g.at("model.mlp.up"), std::vector<NodeId>{y.ref().node});
  EXPECT_EQ(g.consumers(x.ref().node), (std::vector<NodeId>{y.ref().node, z.ref().node}));
  EXPECT_EQ(g.label(y.ref().node), "model.mlp.up (linear)");
  EXPECT_NE(g.location(y.ref().node).find("tracer_test.cpp:"), std::string::npos);
  EXPECT_EQ(Tracer::current(), &tr);
  EXPECT_EQ(g.config_values().at("H"), 64);
}

TEST_F(TracerTest, CurrentTracerNestsAndRestores) {
  EXPECT_EQ(Tracer::current(), nullptr);
  {
    Tracer outer(g, reg);
    {
      Graph g2;
      Tracer inner(g2, reg);
      EXPECT_EQ(Tracer::current(), &inner);
    }
    EXPECT_EQ(Tracer::current(), &outer);
  }
  EXPECT_EQ(Tracer::current(), nullptr);
}

TEST_F(TracerTest, BindingErrorsAreFindingsAndPoisonConsumersWithoutCascade) {
  Tracer tr(g, reg);
  SymInt B = tr.symbol("B", "input x dim 0");
  Traced x = tr.input("x", {B, 8}, DType::kF32);
  Traced bad = tr.call("linear", {x});  // missing w
  EXPECT_TRUE(bad.poisoned());
  EXPECT_EQ(bad.size(-1).maybe_value(), 1);  // model code reading shapes keeps going
  Traced after = tr.call("add", {bad, bad});
  EXPECT_TRUE(after.poisoned());
  ASSERT_EQ(g.findings().size(), 1u);
  EXPECT_EQ(g.findings()[0].diag.code, "schema-call");
  EXPECT_EQ(g.findings()[0].node, bad.ref().node);
}

TEST_F(TracerTest, DumpDotAndJsonAreDeterministicAndComplete) {
  auto build = [&](Graph& graph) {
    Tracer tr(graph, reg);
    SymInt B = tr.symbol("B", "input x dim 0");
    Traced x = tr.input("x", {B, 16}, DType::kF32);
    Traced w = tr.weight("w", {16, 16}, DType::kF32);
    auto s = tr.scope("proj");
    tr.output("y", tr.call("linear", {x, w}));
  };
  build(g);
  Graph g2;
  build(g2);
  select_kernels(g);
  select_kernels(g2);
  EXPECT_EQ(dump(g), dump(g2));
  EXPECT_EQ(to_dot(g), to_dot(g2));
  EXPECT_EQ(to_json(g), to_json(g2));
  const std::string d = dump(g);
  EXPECT_NE(d.find("%2 = linear(%0, %1) : f32[B, 16]"), std::string::npos) << d;
  EXPECT_NE(d.find("[linear.reference]"), std::string::npos) << d;
  const std::string dot = to_dot(g);
  EXPECT_NE(dot.find("n0 -> n2 [label=\"x: f32[B, 16]"), std::string::npos) << dot;
  const std::string json = to_json(g);
  EXPECT_NE(json.find("\"symbols\":[{\"id\":0,\"name\":\"B\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"kernel\":{\"name\":\"linear.reference\",\"selection\":\"reference\""),
            std::string::npos)
      << json;
}

TEST_F(TracerTest, DeadCodeEliminationKeepsOutputsAndStateWriters) {
  Tracer tr(g, reg);
  SymInt B = tr.symbol("B", "input x dim 0");
  Traced x = tr.input("x", {B, 8}, DType::kF32);
  Traced w = tr.weight("w", {8, 8}, DType::kF32);
  Traced unused_w = tr.weight("unused", {8, 8}, DType::kF32);
  Traced used = tr.call("linear", {x, w});
  Traced dead = tr.call("linear", {x, unused_w});
  Traced dead2 = tr.call("add", {dead, dead});
  Traced st = tr.state("cache", TensorMeta::contiguous({B, 8}, DType::kF32));
  Traced writer = tr.call("add", {st, x});  // reads a state: kept although unused
  tr.output("y", used);
  EXPECT_EQ(eliminate_dead_code(g), 3u);  // dead, dead2, unused
  EXPECT_TRUE(g.node(dead.ref().node).dead);
  EXPECT_TRUE(g.node(dead2.ref().node).dead);
  EXPECT_TRUE(g.node(unused_w.ref().node).dead);
  EXPECT_FALSE(g.node(writer.ref().node).dead);
  EXPECT_EQ(g.live_size(), g.size() - 3);
}

}  // namespace
}  // namespace symtrace::graph
