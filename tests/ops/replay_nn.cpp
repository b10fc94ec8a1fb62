// meta_shapes.json replay handlers for the nn ops: matmul, mm, bmm, linear, softmax, topk,
// sum/mean/amax/argmax, rms_norm, layer_norm, sdpa, embedding, _scaled_mm and _int_mm.
// Arguments a case names in "args" are read from there; the others only appear in the call
// text ("x.sum(-1, keepdim=True)"), read with call_ints() and flag().
#include <gtest/gtest.h>

#include <symtrace/ops.hpp>

#include "tests/ops/meta_shapes_replay.hpp"

namespace symtrace::replay {
namespace {

using op::Value;

bool flag(const MetaCase& c, std::string_view text) {
  return c.call.substr(0, c.call.find('#')).find(text) != std::string::npos;
}

// The first integer of the call text, else `fallback`.
std::int64_t first_int(const MetaCase& c, std::int64_t fallback) {
  const std::vector<std::int64_t> v = c.call_ints();
  return v.empty() ? fallback : v[0];
}

const Registrar kTwoOperands({"matmul", "mm", "bmm"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake(c.op, {c.tensor(0), c.tensor(1)}, env);
});

const Registrar kLinear({"linear"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  std::vector<Value> args = {c.tensor(0), c.tensor(1)};
  if (c.num_inputs() > 2) args.emplace_back(c.tensor(2));
  return fake("linear", std::move(args), env);
});

// torch.softmax(x, d[, dtype=torch.float32])
const Registrar kSoftmax({"softmax"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  const std::int64_t dim = c.has_arg("d") ? c.arg_int("d") : first_int(c, -1);
  std::vector<std::pair<std::string, Value>> named;
  if (flag(c, "dtype=torch.float32")) named.emplace_back("dtype", DType::kF32);
  return fake("softmax", {c.tensor(0), SymInt(dim)}, env, named);
});

// torch.topk(x, k, dim=-1) with k in args, or torch.topk(x, 2, dim=0) spelled out.
const Registrar kTopk({"topk"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  const std::vector<std::int64_t> ints = c.call_ints();
  const std::int64_t k = c.has_arg("k") ? c.arg_int("k") : ints.at(0);
  const std::int64_t dim = c.has_arg("k") ? ints.at(0) : ints.at(1);
  return fake("topk", {c.tensor(0), SymInt(k), SymInt(dim)}, env);
});

// x.sum(), x.sum(1), x.sum(-1, keepdim=True), x.mean((0, 2)), x.amax(dim=(1, 3), keepdim=True)
const Registrar kReduce({"sum", "mean", "amax"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  const std::vector<std::int64_t> ints = c.call_ints();
  return fake(c.op, {c.tensor(0), std::vector<SymInt>(ints.begin(), ints.end()), flag(c, "keepdim=True")},
              env);
});

const Registrar kArgmax({"argmax"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  const std::vector<std::int64_t> ints = c.call_ints();
  const Value dim = ints.empty() ? Value(op::None{}) : Value(SymInt(ints[0]));
  return fake("argmax", {c.tensor(0), dim, flag(c, "keepdim=True")}, env);
});

// F.rms_norm(x, [H], w) and F.layer_norm(x, [H], w, b): normalized_shape is the last dim,
// which our ops take from w.
const Registrar kRmsNorm({"rms_norm"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("rms_norm", {c.tensor(0), c.tensor(1), 1e-6}, env);
});
const Registrar kLayerNorm({"layer_norm"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("layer_norm", {c.tensor(0), c.tensor(1), c.tensor(2), 1e-5}, env);
});

const Registrar kEmbedding({"embedding"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("embedding", {c.tensor(0), c.tensor(1)}, env);
});

// F.scaled_dot_product_attention(q, k, v[, enable_gqa=True]), PyTorch's [B, H, S, D] layout.
const Registrar kSdpa({"sdpa"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("scaled_dot_product_attention", {c.tensor(0), c.tensor(1), c.tensor(2)}, env,
              {{"enable_gqa", flag(c, "enable_gqa=True")}});
});

// torch._scaled_mm(a, b, scale_a, scale_b, out_dtype=bf16): every case asks for bf16 (the
// row-wise and 3-D cases abbreviate the call; their recorded outputs are bf16).
const Registrar kScaledMm({"_scaled_mm"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("scaled_mm", {c.tensor(0), c.tensor(1), c.tensor(2), c.tensor(3)}, env,
              {{"out_dtype", DType::kBF16}});
});

const Registrar kIntMm({"_int_mm"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("int_mm", {c.tensor(0), c.tensor(1)}, env);
});

// Every case of the ops above, replayed on its own so a failure names the nn op family.
TEST(RefdataMetaShapes, NnOpsReplayExactly) {
  const std::vector<std::string> mine = {"matmul", "mm",        "bmm",        "linear", "softmax",
                                         "topk",   "sum",       "mean",       "amax",   "argmax",
                                         "rms_norm", "layer_norm", "sdpa",    "embedding",
                                         "_scaled_mm", "_int_mm"};
  std::size_t total = 0, passed = 0, errors = 0, deviations = 0;
  for (const MetaCase& c : load_meta_cases()) {
    if (std::find(mine.begin(), mine.end(), c.op) == mine.end()) continue;
    SCOPED_TRACE(fmt::format("case {} ({}): {}", c.id, c.op, c.call));
    ++total;
    errors += c.error.has_value();
    sym::ShapeEnv env;
    std::vector<TensorMeta> got;
    std::string raised;
    try {
      got = (*find_handler(c.op))(c, env);
    } catch (const diag::Error& e) {
      raised = e.what();
    }
    if (c.error) {
      EXPECT_FALSE(raised.empty()) << "PyTorch raised \"" << *c.error << "\"";
      passed += !raised.empty();
      continue;
    }
    if (const MetaLooseness* m = meta_looseness(c.id)) {
      EXPECT_FALSE(raised.empty()) << "expected an error like eager PyTorch: " << m->why;
      deviations += !raised.empty();
      continue;
    }
    if (!raised.empty()) {
      ADD_FAILURE() << "ours raised: " << raised;
      continue;
    }
    bool same = got.size() == c.outputs.size();
    for (std::size_t i = 0; same && i < got.size(); ++i) {
      const ExpectedMeta& e = c.outputs[i];
      same = got[i].dim() == static_cast<std::int64_t>(e.shape.size()) &&
             got[i].storage_offset.maybe_value() == e.storage_offset &&
             dtype_from_torch(e.dtype) == got[i].dtype;
      for (std::size_t d = 0; same && d < e.shape.size(); ++d)
        same = got[i].sizes[d].maybe_value() == e.shape[d] && got[i].strides[d].maybe_value() == e.stride[d];
    }
    EXPECT_TRUE(same) << "ours: " << (got.empty() ? std::string("nothing") : got[0].str());
    passed += same;
  }
  std::printf("[ refdata ] meta_shapes.json nn ops: %zu of %zu cases replay exactly (%zu error cases); "
              "%zu raise where PyTorch's meta kernel is looser than eager\n",
              passed, total, errors, deviations);
  EXPECT_EQ(total, 73u);
  EXPECT_EQ(passed + deviations, total);
  EXPECT_EQ(deviations, 1u);  // case 171, the one nn-op entry of meta_looseness
}

}  // namespace
}  // namespace symtrace::replay
