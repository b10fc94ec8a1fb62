// Constant hoisting: kernels whose data follows from parameters alone, with sizes and int
// arguments in config symbols only, run once and are reused across runs and rebinds — and
// run again when a parameter is set or a bind changes their arguments.
#include <map>

#include <gtest/gtest.h>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>
#include <symtrace/ops.hpp>

#include "tests/graph/toy_ops.hpp"

namespace symtrace::exec {
namespace {

using graph::Traced;
using sym::SymInt;
using tensor::DType;
using tensor::TensorMeta;

// "table(rows, cols, base, shift)": [rows, cols] f32 with base + shift + r * cols + c, no
// tensor input.
op::OpDef table_op(std::map<double, int>& calls) {
  op::OpDef d;
  d.name = "table";
  d.schema =
      op::Schema::parse("table(SymInt rows, SymInt cols, float base, SymInt shift=0) -> Tensor");
  d.fake = [](const op::Args& a, op::FakeContext&) -> op::Outputs {
    return {TensorMeta::contiguous({a.sym_int("rows"), a.sym_int("cols")}, DType::kF32)};
  };
  d.reference = [&calls](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const double base = a.f64("base");
    ++calls[base];
    const double shift = static_cast<double>(a.int_value("shift"));
    const std::int64_t rows = a.int_value("rows"), cols = a.int_value("cols");
    std::vector<float> v;
    for (std::int64_t i = 0; i < rows * cols; ++i)
      v.push_back(static_cast<float>(base + shift + double(i)));
    Tensor out = cx.alloc.output(0, {rows, cols}, DType::kF32);
    toy::store(out, v);
    return {out};
  };
  return d;
}

op::OpDef counted(op::OpDef d, int& calls) {
  d.reference = [k = d.reference, &calls](const op::Args& a, op::KernelContext& cx) {
    ++calls;
    return k(a, cx);
  };
  return d;
}

// x [S, H] (S per run), w [P, H] (a parameter); P, Q, H config symbols.
//   t  = table(P, H, 0.5)                         hoisted: no tensor input
//   u  = padd(view(t, [P*H]), view(w, [P*H]))     hoisted: views of a hoisted node and a parameter
//   y1 = linear(x, view(u, [P, H]))               [S, P]: reads the hoisted chain every run
//   q  = table(Q, H, 2.0)                         hoisted, a graph output itself
//   y2 = add(x, table(S, H, 1.0))                 table(S, ...) depends on S: not hoisted
struct Model {
  static constexpr std::int64_t kH = 4, kP = 6, kQ = 3;
  std::map<double, int> table_calls;
  int padd_calls = 0;
  op::Registry reg;
  graph::Graph g;
  std::unique_ptr<Plan> plan;

  Model() {
    reg.add(table_op(table_calls));
    reg.add(counted(toy::add_op("padd"), padd_calls));
    reg.add(toy::add_op());
    reg.add(toy::linear_op());
    reg.add(toy::view_op());
    graph::Tracer tr(g, reg);
    SymInt S = tr.symbol("S", "input x dim 0");
    SymInt H = tr.config("H", kH, "config.hidden_size");
    SymInt P = tr.config("P", kP, "config.max_positions");
    SymInt Q = tr.config("Q", kQ, "config.q");
    Traced x = tr.input("x", {S, H}, DType::kF32);
    Traced w = tr.weight("w", {P, H}, DType::kF32);
    Traced t = tr.call("table", {P, H, 0.5});
    Traced u = tr.call("padd", {tr.call("view", {t, std::vector<SymInt>{P * H}}),
                                tr.call("view", {w, std::vector<SymInt>{P * H}})});
    tr.output("u", u);
    tr.output("y1", tr.call("linear", {x, tr.call("view", {u, std::vector<SymInt>{P, H}})}));
    tr.output("q", tr.call("table", {Q, H, 2.0}));
    tr.output("y2", tr.call("add", {x, tr.call("table", {S, H, 1.0})}));
    EXPECT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
    plan = std::make_unique<Plan>(g);
  }

  // y1, q and y2 against plain loops; u is table(P, H, 0.5) + w.
  void check(const Tensor& x, const Tensor& w, std::int64_t Q = kQ) {
    const std::int64_t S = x.size(0);
    const std::vector<float> xs = x.to_f32(), ws = w.to_f32();
    std::vector<float> u(ws.size());
    for (std::size_t i = 0; i < u.size(); ++i) u[i] = float(0.5 + double(i)) + ws[i];
    EXPECT_EQ(plan->output("u").to_f32(), u);
    std::vector<float> y1 = plan->output("y1").to_f32(), y2 = plan->output("y2").to_f32();
    ASSERT_EQ(y1.size(), static_cast<std::size_t>(S * kP));
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t p = 0; p < kP; ++p) {
        double acc = 0;
        for (std::int64_t h = 0; h < kH; ++h) acc += double(xs[s * kH + h]) * u[p * kH + h];
        EXPECT_EQ(y1[s * kP + p], static_cast<float>(acc)) << "s=" << s << " p=" << p;
      }
    for (std::size_t i = 0; i < y2.size(); ++i) EXPECT_EQ(y2[i], xs[i] + float(1.0 + double(i)));
    const std::vector<float> q = plan->output("q").to_f32();
    ASSERT_EQ(q.size(), static_cast<std::size_t>(Q * kH));
    for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], float(2.0 + double(i)));
  }
};

Tensor random(tensor::Shape s, std::uint64_t seed) {
  Tensor t = Tensor::empty(std::move(s), DType::kF32);
  t.fill_random(seed, -1, 1);
  return t;
}

TEST(PlanHoist, ConstantNodesRunOnceAcrossRunsAndRebinds) {
  Model m;
  EXPECT_EQ(m.plan->hoisted(), 3u);  // table(P), padd, table(Q); not table(S), not views
  std::map<std::string, bool> hoisted;
  for (const NodeTiming& t : m.plan->timings()) hoisted[t.label] = t.hoisted;
  EXPECT_EQ(hoisted.at("padd"), true);
  EXPECT_EQ(hoisted.at("linear"), false);
  EXPECT_EQ(hoisted.at("add"), false);

  const Tensor w = random({Model::kP, Model::kH}, 1);
  m.plan->set_param("w", w);
  // Growing and shrinking S reallocates and relays the arena; the hoisted values stay.
  for (std::int64_t S : {2, 5, 5, 1, 9}) {
    const Tensor x = random({S, Model::kH}, 10 + static_cast<std::uint64_t>(S));
    m.plan->run(std::vector<Tensor>{x});
    m.check(x, w);
  }
  EXPECT_EQ(m.table_calls[0.5], 1);
  EXPECT_EQ(m.table_calls[2.0], 1);
  EXPECT_EQ(m.padd_calls, 1);
  EXPECT_EQ(m.table_calls[1.0], 5);  // table(S, ...) runs every time
}

TEST(PlanHoist, SetParamRecomputes) {
  Model m;
  Tensor w = random({Model::kP, Model::kH}, 1);
  m.plan->set_param("w", w);
  const Tensor x = random({3, Model::kH}, 2);
  m.plan->run(std::vector<Tensor>{x});
  m.check(x, w);

  const Tensor w2 = random({Model::kP, Model::kH}, 3);
  m.plan->set_param("w", w2);
  m.plan->run(std::vector<Tensor>{x});
  m.check(x, w2);
  EXPECT_EQ(m.padd_calls, 2);

  m.plan->set_param("w", w);
  m.plan->run(std::vector<Tensor>{x});
  m.check(x, w);
  EXPECT_EQ(m.padd_calls, 3);
  // The same tensor with new values, set again: its address is unchanged, so only
  // set_param tells the plan.
  w.fill_random(4, -1, 1);
  m.plan->set_param("w", w);
  m.plan->run(std::vector<Tensor>{x});
  m.check(x, w);
  EXPECT_EQ(m.padd_calls, 4);
  m.plan->run(std::vector<Tensor>{x});
  EXPECT_EQ(m.padd_calls, 4);
}

TEST(PlanHoist, ABindThatChangesTheirArgumentsRecomputesOnlyThose) {
  Model m;
  const Tensor w = random({Model::kP, Model::kH}, 1);
  m.plan->set_param("w", w);
  const Tensor x = random({3, Model::kH}, 2);
  m.plan->run(std::vector<Tensor>{x});
  for (std::int64_t Q : {5, 5, 2}) {
    m.plan->bind({{"Q", Q}});
    m.plan->input("x").copy_from(x);
    m.plan->run();
    m.check(x, w, Q);
  }
  EXPECT_EQ(m.table_calls[2.0], 3);  // Q = 3, 5, 2
  EXPECT_EQ(m.table_calls[0.5], 1);  // P never moved
  EXPECT_EQ(m.padd_calls, 1);
}

TEST(PlanHoist, VerifyRecomputesAndChecksThem) {
  Model m;
  const Tensor w = random({Model::kP, Model::kH}, 1);
  m.plan->set_param("w", w);
  const Tensor x = random({4, Model::kH}, 2);
  m.plan->run(std::vector<Tensor>{x});
  m.plan->run(std::vector<Tensor>{x}, {.verify = true});
  m.check(x, w);
  EXPECT_EQ(m.padd_calls, 2);
  EXPECT_EQ(m.table_calls[0.5], 2);
}

TEST(PlanHoist, ANewThreadCountRecomputes) {
  Model m;
  m.plan->set_param("w", random({Model::kP, Model::kH}, 1));
  const Tensor x = random({4, Model::kH}, 2);
  for (int threads : {1, 1, 2, 2}) m.plan->run(std::vector<Tensor>{x}, {.threads = threads});
  EXPECT_EQ(m.padd_calls, 2);
}

// A hoisted node whose arguments change while its layout (and so the address its reader
// sees) stays: the reader is recomputed too.
TEST(PlanHoist, ReadersOfARecomputedNodeFollowIt) {
  std::map<double, int> table_calls;
  int padd_calls = 0;
  op::Registry reg;
  reg.add(table_op(table_calls));
  reg.add(counted(toy::add_op("padd"), padd_calls));
  graph::Graph g;
  {
    graph::Tracer tr(g, reg);
    SymInt R = tr.config("R", 3, "config.rows");
    Traced w = tr.weight("w", {3, 2}, DType::kF32);
    // Its values follow R, its layout does not.
    Traced t = tr.call("table", {3, 2, 0.5}, {{"shift", R}});
    tr.output("y", tr.call("padd", {t, w}));
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  Plan plan(g);
  EXPECT_EQ(plan.hoisted(), 2u);
  plan.set_param("w", Tensor::zeros({3, 2}, DType::kF32));
  for (std::int64_t R : {3, 3, 7}) {
    plan.bind({{"R", R}});
    plan.run();
    const std::vector<float> y = plan.output("y").to_f32();
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], float(0.5 + double(R) + double(i)));
  }
  EXPECT_EQ(table_calls[0.5], 2);
  EXPECT_EQ(padd_calls, 2);
}

TEST(PlanHoist, TimingsAreZeroWhenReused) {
  Model m;
  m.plan->set_param("w", random({Model::kP, Model::kH}, 1));
  const Tensor x = random({4, Model::kH}, 2);
  for (int run = 0; run < 2; ++run) {
    m.plan->run(std::vector<Tensor>{x}, {.timings = true});
    for (const NodeTiming& t : m.plan->timings()) {
      if (m.g.node(t.node).op->is_view || (t.hoisted && run > 0)) {
        EXPECT_EQ(t.ns, 0) << t.label << " run " << run;
      } else {
        EXPECT_GT(t.ns, 0) << t.label << " run " << run;
      }
    }
  }
}

// The built-in rope_cos_sin (its arguments P, rotary dim, theta) feeding rotary: hoisted,
// and the rotated q, k equal eager op calls for every binding.
TEST(PlanHoist, RopeCosSinIsHoistedAndRotaryMatchesEagerCalls) {
  constexpr std::int64_t kP = 32, kD = 16;
  const op::Registry& reg = ops::registry();
  graph::Graph g;
  {
    graph::Tracer tr(g);
    SymInt B = tr.symbol("B", "input q dim 0"), S = tr.symbol("S", "input q dim 1");
    SymInt P = tr.config("P", kP, "config.max_position_embeddings");
    Traced q = tr.input("q", {B, S, 4, kD}, DType::kF32);
    Traced k = tr.input("k", {B, S, 2, kD}, DType::kF32);
    Traced pos = tr.input("positions", {B, S}, DType::kI64);
    Traced cs = tr.call("rope_cos_sin", {P, SymInt(kD), 10000.0});
    std::vector<Traced> qk =
        tr.call_all("rotary", {q, k, pos, cs, std::string("neox"), SymInt(kD)});
    tr.output("q_rot", qk[0]);
    tr.output("k_rot", qk[1]);
  }
  ASSERT_EQ(graph::run_pipeline(g), 0u) << graph::render_findings(g);
  Plan plan(g);
  EXPECT_EQ(plan.hoisted(), 1u);
  const Tensor cs = boost::variant2::get<Tensor>(
      op::call(reg.get("rope_cos_sin"), {SymInt(kP), SymInt(kD), 10000.0})[0]);
  for (auto [B, S] : {std::pair{2, 7}, std::pair{1, 1}, std::pair{3, 12}, std::pair{1, 1}}) {
    const Tensor q = random({B, S, 4, kD}, 5), k = random({B, S, 2, kD}, 6);
    Tensor pos = Tensor::empty({B, S}, DType::kI64);
    pos.fill_random(static_cast<std::uint64_t>(B * 31 + S), 0.f, float(kP - 1));
    for (bool verify : {false, true}) {
      const std::vector<Tensor> got =
          plan.run(std::vector<Tensor>{q, k, pos}, {.verify = verify, .timings = true});
      const op::Outputs want =
          op::call(reg.get("rotary"), {q, k, pos, cs, std::string("neox"), SymInt(kD)});
      for (std::size_t i = 0; i < 2; ++i)
        EXPECT_EQ(got[i].to_f32(), boost::variant2::get<Tensor>(want[i]).to_f32())
            << "B=" << B << " S=" << S;
    }
    for (const NodeTiming& t : plan.timings())
      if (t.hoisted) {
        EXPECT_EQ(g.op_name(t.node), "rope_cos_sin");
      }
  }
  plan.run(std::vector<Tensor>{random({1, 1, 4, kD}, 7), random({1, 1, 2, kD}, 8),
                               Tensor::zeros({1, 1}, DType::kI64)},
           {.timings = true});
  for (const NodeTiming& t : plan.timings())
    if (t.hoisted) {
      EXPECT_EQ(t.ns, 0) << t.label;
    }
}

}  // namespace
}  // namespace symtrace::exec
