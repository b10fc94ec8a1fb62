// Quantized linears per format (OPS.md §5-§10, §12): a Llama checkpoint quantized by the
// writer runs through its format's kernels and is compared with the unquantized twin graph
// run on weights dequantized here (q · s per format, NVFP4 decoded from its nibbles). Weight-
// only formats must match to f32 noise; W8A8 formats differ by their activation quantization.
#include <array>
#include <cstring>
#include <functional>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/checkpoint_writer.hpp>
#include <symtrace/model/hf_config.hpp>

#include "tests/model/arch_test_util.hpp"
#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using tensor::DType;
using tensor::Tensor;

std::string group(const char* weights, const char* input, const char* format) {
  return fmt::format(R"({{"quant_method": "compressed-tensors", "format": "{}",
    "quantization_status": "compressed", "ignore": ["lm_head"],
    "config_groups": {{"group_0": {{"targets": ["Linear"], "weights": {}, "input_activations": {}}}}}}})",
                     format, weights, input);
}

constexpr const char* kFp8Channel = R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "channel", "dynamic": false})";
constexpr const char* kFp8Tensor = R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "tensor", "dynamic": false})";
constexpr const char* kFp8Token = R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "token", "dynamic": true})";
constexpr const char* kFp8StaticIn = R"({"num_bits": 8, "type": "float", "symmetric": true, "strategy": "tensor", "dynamic": false})";
constexpr const char* kInt8Channel = R"({"num_bits": 8, "type": "int", "symmetric": true, "strategy": "channel", "dynamic": false})";
constexpr const char* kInt8Token = R"({"num_bits": 8, "type": "int", "symmetric": true, "strategy": "token", "dynamic": true})";
constexpr const char* kInt8Static = R"({"num_bits": 8, "type": "int", "symmetric": true, "strategy": "tensor", "dynamic": false})";
constexpr const char* kInt8StaticAsym = R"({"num_bits": 8, "type": "int", "symmetric": false, "strategy": "tensor", "dynamic": false})";

struct FormatCase {
  const char* name;
  std::string quant;  // quantization_config
  double max_abs;     // vs the dequantized twin (weight-only formats)
  double rel_l2;      // (W8A8 formats)
  const char* op;     // the op every quantized linear runs on
};

std::vector<FormatCase> format_cases() {
  const std::string ct_nvfp4 = boost::json::serialize(
      boost::json::parse(example_config("llama-nvfp4-w4a16")).as_object().at("quantization_config"));
  return {
      {"fp8_channel_token", group(kFp8Channel, kFp8Token, "float-quantized"), 0, 0.07, "fp8_gemm"},
      {"fp8_tensor_static", group(kFp8Tensor, kFp8StaticIn, "float-quantized"), 0, 0.07, "fp8_gemm"},
      {"fp8_weight_only", group(kFp8Channel, "null", "float-quantized"), 1e-3, 0, "fp8_gemm_w8a16"},
      {"int8_channel_token", group(kInt8Channel, kInt8Token, "int-quantized"), 0, 0.02, "int8_linear"},
      // The writer's static input scale 0.02 clips activations beyond ±2.54 (int8 ±127): 7.6%
      // measured; a scale applied twice or not at all is off by orders of magnitude.
      {"int8_static", group(kInt8Channel, kInt8Static, "int-quantized"), 0, 0.10, "int8_linear"},
      {"nvfp4_w4a16", ct_nvfp4, 1e-3, 0, "nvfp4_w4a16_gemm"},
  };
}

std::string llama_config(const std::string& quant) {
  boost::json::object o = boost::json::parse(example_config("llama-fp8-block")).as_object();
  o.erase("quantization_config");
  if (!quant.empty()) o["quantization_config"] = boost::json::parse(quant);
  return boost::json::serialize(o);
}

// w [N, K] f32 from a quantized linear's tensors.
Tensor dequantized(const SafetensorsCheckpoint& ck, const LinearSpec& ls) {
  const std::int64_t N = ls.N.value, K = ls.K.value;
  std::vector<float> w(static_cast<std::size_t>(N * K));
  if (const TensorInfo* packed = ck.find(ls.name + ".weight_packed")) {  // NVFP4, OPS.md §10
    constexpr std::array<float, 8> kE2m1 = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};
    const Tensor q = ck.tensor(packed->name);
    const std::vector<float> s = ck.tensor(ls.name + ".weight_scale").to_f32();
    const float g = ck.tensor(ls.name + ".weight_global_scale").to_f32().at(0);
    const auto* bytes = static_cast<const std::uint8_t*>(q.data_ptr());
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t k = 0; k < K; ++k) {
        const std::uint8_t b = bytes[(n * K + k) / 2], nib = k % 2 ? b >> 4 : b & 15;
        const float v = (nib & 8 ? -1.f : 1.f) * kE2m1[nib & 7];
        w[static_cast<std::size_t>(n * K + k)] = v * s[static_cast<std::size_t>(n * (K / 16) + k / 16)] / g;
      }
  } else {
    const std::vector<float> q = ck.tensor(ls.name + ".weight").to_f32();
    const std::vector<float> s = ck.tensor(ls.name + ".weight_scale").to_f32();
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t k = 0; k < K; ++k) {
        const auto i = static_cast<std::size_t>(n * K + k);
        w[i] = q[i] * (s.size() == 1 ? s[0] : s[static_cast<std::size_t>(n)]);
      }
  }
  return Tensor::from_f32({N, K}, w);
}

Tensor run_f32(const graph::Graph& g, const std::function<Tensor(const std::string&)>& param) {
  exec::Plan plan(g);
  for (graph::NodeId id : g.nodes_of_kind(graph::NodeKind::kParameter)) {
    if (g.node(id).dead) continue;
    const std::string name(g.name(id));
    const graph::PrepareRecord* prep = g.prepared(id);
    const DType want = (prep ? prep->original : g.meta({id, 0})).dtype;
    const Tensor t = param(name);
    plan.set_param(name, t.dtype() == want ? t : t.to(want));
  }
  std::vector<std::int64_t> a;
  for (std::int64_t i = 0; i < 16; ++i) a.push_back(1 + 4 * i);
  const std::vector<Tensor> in{testing::ids_tensor({a, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5}}),
                               testing::positions_tensor(2, 16)};
  return plan.run(in, {.verify = true}, /*copy=*/true).at(0);
}

class ArchFormat : public ::testing::TestWithParam<FormatCase> {};

TEST_P(ArchFormat, QuantizedGraphMatchesDequantizedTwin) {
  const FormatCase& c = GetParam();
  testing::ScratchDir dir;
  const std::string text = llama_config(c.quant);
  const ModelConfig cfg = parse_hf_config(text);
  const CheckpointSpec spec = build_checkpoint_spec(cfg);
  write_checkpoint(dir.path(), text, make_checkpoint_tensors(spec, /*seed=*/1));
  const auto ckpt = SafetensorsCheckpoint::open(dir.path());
  {  // checkpoint dtypes: passes the pipeline, reads exactly the checkpoint's tensors
    BuiltModel m = build_model_graph(cfg, spec);
    for (const auto& f : m.findings) EXPECT_NE(f.severity, diag::Severity::kError) << f.message;
    EXPECT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
    testing::expect_params_match(m.graph, ckpt);
    std::vector<std::string> ops;
    for (graph::NodeId id : m.graph.at("model.layers.1.mlp.down_proj")) ops.push_back(m.graph.op_name(id));
    EXPECT_EQ(ops.back(), c.op) << fmt::format("{}", fmt::join(ops, ", "));
  }
  BuiltModel q = build_model_graph(cfg, spec, {.compute_dtype = DType::kF32});
  ASSERT_EQ(graph::run_pipeline(q.graph), 0u) << testing::errors_of(q.graph);
  const Tensor got = run_f32(q.graph, [&](const std::string& n) { return ckpt.tensor(n); });

  // The twin holds the dequantized weights in f32: under a bf16 checkpoint dtype, f32 compute
  // would trace its linears' weights in bf16 (linear_w16) and round them at load.
  boost::json::object twin_config = boost::json::parse(llama_config("")).as_object();
  twin_config["dtype"] = "float32";
  const ModelConfig plain = parse_hf_config(boost::json::serialize(twin_config));
  BuiltModel twin = build_model_graph(plain, build_checkpoint_spec(plain), {.compute_dtype = DType::kF32});
  ASSERT_EQ(graph::run_pipeline(twin.graph), 0u) << testing::errors_of(twin.graph);
  const Tensor want = run_f32(twin.graph, [&](const std::string& n) {
    const std::string module = n.substr(0, n.rfind('.'));
    const LinearSpec* ls = spec.linear(module);
    return ls != nullptr && ls->quantized ? dequantized(ckpt, *ls) : ckpt.tensor(n);
  });
  const testing::Diff d = testing::diff(got, want);
  if (c.max_abs > 0) {
    EXPECT_LE(d.max_abs, c.max_abs) << "rel L2 " << d.rel_l2;
  } else {
    EXPECT_LE(d.rel_l2, c.rel_l2) << "max " << d.max_abs;
  }
  std::printf("%s: max |d| %.3g, rel L2 %.3g\n", c.name, d.max_abs, d.rel_l2);
}

// Static asymmetric int8 activations: compressed-tensors stores input_zero_point as i8 (the
// spec's dtype); the graph reads it as stored and casts it to the i32 int8_linear takes.
TEST(ArchFormatStructure, Int8StaticAsymmetricZeroPointIsReadAsStoredAndCast) {
  testing::ScratchDir dir;
  const std::string text = llama_config(group(kInt8Channel, kInt8StaticAsym, "int-quantized"));
  const ModelConfig cfg = parse_hf_config(text);
  const CheckpointSpec spec = build_checkpoint_spec(cfg);
  write_checkpoint(dir.path(), text, make_checkpoint_tensors(spec, /*seed=*/1));
  BuiltModel m = build_model_graph(cfg, spec);
  EXPECT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
  testing::expect_params_match(m.graph, SafetensorsCheckpoint::open(dir.path()));
  const std::string module = "model.layers.0.self_attn.o_proj";
  const auto zp = m.graph.find(graph::NodeKind::kParameter, module + ".input_zero_point");
  ASSERT_TRUE(zp.has_value());
  const std::vector<graph::NodeId> users = m.graph.consumers(*zp);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(m.graph.op_name(users[0]), "to");
  EXPECT_EQ(m.graph.meta({users[0], 0}).dtype, DType::kI32);
  EXPECT_EQ(m.graph.op_name(m.graph.consumers(users[0]).at(0)), "int8_linear");
}

INSTANTIATE_TEST_SUITE_P(Formats, ArchFormat, ::testing::ValuesIn(format_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace symtrace::model
