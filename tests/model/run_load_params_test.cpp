// load_params: checkpoint tensors into a Plan by name — bf16 converted to a traced f32, [N]
// scales viewed as a traced [N, 1], and one error per defect (missing tensor, shape, dtype,
// bad scale values), each naming the tensor.
#include <gtest/gtest.h>

#include <cmath>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/graph/tracer.hpp>
#include <symtrace/model/load_params.hpp>
#include <symtrace/ops.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using graph::Traced;
using sym::SymInt;
using tensor::DType;
using tensor::Tensor;

Tensor random(tensor::Shape s, DType d, std::uint64_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t = Tensor::empty(std::move(s), DType::kF32);
  t.fill_random(seed, lo, hi);
  return t.to(d);
}

// y = linear(rms_norm(x, norm), w): f32 compute over a bf16 checkpoint.
struct Model {
  graph::Graph g;
  Model() {
    graph::Tracer tr(g);
    SymInt B = tr.symbol("B", "input x dim 0");
    SymInt H = tr.config("H", 32, "config.hidden_size"), N = tr.config("N", 24, "config.out");
    Traced x = tr.input("x", {B, H}, DType::kF32);
    Traced norm = tr.parameter("model.norm.weight", tensor::TensorMeta::contiguous({H}, DType::kF32));
    Traced w = tr.weight("model.proj.weight", {N, H}, DType::kF32);
    tr.output("y", tr.call("linear", {tr.call("rms_norm", {x, norm, 1e-6}), w}));
  }
};

struct Checkpoint {
  testing::ScratchDir dir;
  SafetensorsWriter w;
  SafetensorsCheckpoint open() {
    w.write(dir / "model.safetensors");
    return SafetensorsCheckpoint::open(dir.path());
  }
};

std::string error_code(const std::function<void()>& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const diag::Error& e) {
    if (what) *what = e.what();
    return e.diagnostic().code;
  }
  return "";
}

TEST(LoadParams, Bf16CheckpointRunsInF32) {
  Model m;
  ASSERT_EQ(graph::run_pipeline(m.g), 0u) << graph::render_findings(m.g);
  Checkpoint c;
  const Tensor norm = random({32}, DType::kBF16, 1, 0.5f, 1.5f), w = random({24, 32}, DType::kBF16, 2);
  c.w.add("model.norm.weight", norm);
  c.w.add("model.proj.weight", w);
  exec::Plan plan(m.g);
  const LoadReport r = load_params(plan, c.open());
  EXPECT_EQ(r.params, 2u);
  EXPECT_EQ(r.converted, 2u);
  EXPECT_EQ(r.bytes_converted, (32u + 24u * 32u) * 4u);
  const Tensor x = random({3, 32}, DType::kF32, 3);
  const Tensor y = plan.run(std::span<const Tensor>(&x, 1), {.verify = true}, true)[0];
  // The same computation eagerly on the exactly-widened weights.
  const auto call = [](const char* op, std::vector<op::Value> args) {
    return boost::variant2::get<Tensor>(op::call(ops::registry().get(op), std::move(args)).at(0));
  };
  const Tensor want = call("linear", {call("rms_norm", {x, norm.to(DType::kF32), 1e-6}), w.to(DType::kF32)});
  EXPECT_EQ(y.to_f64(), want.to_f64());
}

TEST(LoadParams, MissingTensorNamesIt) {
  Model m;
  ASSERT_EQ(graph::run_pipeline(m.g), 0u);
  Checkpoint c;
  c.w.add("model.norm.weight", random({32}, DType::kF32, 1));
  const SafetensorsCheckpoint ck = c.open();
  exec::Plan plan(m.g);
  std::string what;
  EXPECT_EQ(error_code([&] { load_params(plan, ck); }, &what), "missing-tensor");
  EXPECT_NE(what.find("model.proj.weight"), std::string::npos) << what;
  // A provider fills what the checkpoint lacks.
  const LoadOptions opt{.extra = [](std::string_view name, const tensor::TensorMeta&) -> std::optional<Tensor> {
    if (name == "model.proj.weight") return random({24, 32}, DType::kF32, 5);
    return std::nullopt;
  }};
  EXPECT_EQ(load_params(plan, ck, opt).params, 2u);
}

TEST(LoadParams, ShapeMismatchNamesBothShapes) {
  Model m;
  ASSERT_EQ(graph::run_pipeline(m.g), 0u);
  Checkpoint c;
  c.w.add("model.norm.weight", random({32}, DType::kF32, 1));
  c.w.add("model.proj.weight", random({32, 24}, DType::kF32, 2));  // transposed
  const SafetensorsCheckpoint ck = c.open();
  exec::Plan plan(m.g);
  std::string what;
  EXPECT_EQ(error_code([&] { load_params(plan, ck); }, &what), "param-shape");
  EXPECT_NE(what.find("[32, 24]"), std::string::npos) << what;
  EXPECT_NE(what.find("[N, H]"), std::string::npos) << what;
}

// A graph with a per-channel scale and an fp8 weight (param_tensor needs no kernels).
struct ScaledModel {
  graph::Graph g;
  graph::NodeId w, s;
  ScaledModel() {
    graph::Tracer tr(g);
    SymInt N = tr.config("N", 8, "config.out"), K = tr.config("K", 16, "config.in");
    Traced wt = tr.weight("proj.weight", {N, K}, DType::kF8E4M3FN);
    Traced st = tr.scale("proj.weight_scale", wt, {N, 1}, graph::per_channel());
    w = wt.ref().node, s = st.ref().node;
  }
};

TEST(LoadParams, UnitDimsOfAScaleAreViewedAndBadValuesRejected) {
  ScaledModel m;
  Checkpoint c;
  c.w.add("proj.weight", random({8, 16}, DType::kF8E4M3FN, 1));
  Tensor scale = random({8}, DType::kF32, 2, 0.5f, 1.f);  // [N] where [N, 1] was traced
  c.w.add("proj.weight_scale", scale);
  {
    const SafetensorsCheckpoint ck = c.open();
    const Tensor t = param_tensor(m.g, m.s, ck);
    EXPECT_EQ(t.sizes(), (tensor::Shape{8, 1}));
    EXPECT_EQ(t.to_f64(), scale.to_f64());
    EXPECT_EQ(param_tensor(m.g, m.w, ck).dtype(), DType::kF8E4M3FN);
  }
  Checkpoint bad;
  bad.w.add("proj.weight", random({8, 16}, DType::kF32, 1));  // unquantized where fp8 was traced
  std::vector<float> sv(8, 1.f);
  sv[5] = std::nanf("");
  bad.w.add("proj.weight_scale", Tensor::from_f32({8, 1}, sv));
  const SafetensorsCheckpoint ck = bad.open();
  std::string what;
  EXPECT_EQ(error_code([&] { param_tensor(m.g, m.s, ck); }, &what), "bad-scale");
  EXPECT_NE(what.find("flat index 5"), std::string::npos) << what;
  EXPECT_EQ(error_code([&] { param_tensor(m.g, m.s, ck, {.check_scales = false}); }), "");
  EXPECT_EQ(error_code([&] { param_tensor(m.g, m.w, ck); }, &what), "param-dtype");
  EXPECT_NE(what.find("proj.weight"), std::string::npos) << what;
}

}  // namespace
}  // namespace symtrace::model
