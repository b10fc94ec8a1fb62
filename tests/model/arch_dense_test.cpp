// build_model_graph on the Hugging Face–written tiny Llama checkpoints (refdata): the traced
// graph passes the pipeline, its parameters are the checkpoint's tensors (name, shape, dtype),
// and run through exec::Plan it reproduces transformers' logits.
#include <chrono>

#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>

#include "tests/model/arch_test_util.hpp"
#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::refdata;
using tensor::DType;

// refdata/README.md: the two reference prompts.
std::vector<std::vector<std::int64_t>> reference_prompts() {
  std::vector<std::int64_t> a;
  for (std::int64_t i = 0; i < 16; ++i) a.push_back(1 + 4 * i);
  return {a, {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5}};
}

BuiltModel build(const std::filesystem::path& dir, const BuildOptions& opt = {}) {
  const ModelConfig cfg = load_hf_config(dir);
  const CheckpointSpec spec = build_checkpoint_spec(cfg);
  return build_model_graph(cfg, spec, opt);
}

tensor::Tensor run_reference_prompts(const graph::Graph& g, const SafetensorsCheckpoint& ckpt) {
  exec::Plan plan = testing::load_plan(g, ckpt);
  const std::vector<tensor::Tensor> in{testing::ids_tensor(reference_prompts()),
                                       testing::positions_tensor(2, 16)};
  return plan.run(in, {}, /*copy=*/true).at(0);
}

class HfTinyLlama : public ::testing::TestWithParam<const char*> {};

TEST_P(HfTinyLlama, GraphPassesPipelineAndReadsCheckpointTensors) {
  const auto dir = refdata() / GetParam();
  BuiltModel m = build(dir);
  EXPECT_TRUE(m.findings.empty());
  graph::run_pipeline(m.graph);
  EXPECT_EQ(m.graph.count(diag::Severity::kError), 0u) << testing::errors_of(m.graph);
  const auto out = m.graph.find(graph::NodeKind::kOutput, "logits");
  ASSERT_TRUE(out.has_value());
  const tensor::TensorMeta& logits = m.graph.meta(m.graph.node(*out).inputs.at(0).value);
  EXPECT_EQ(tensor::shape_str(logits.sizes), "[B, S, V]");
  EXPECT_EQ(logits.dtype, DType::kF32);
  testing::expect_params_match(m.graph, SafetensorsCheckpoint::open(dir));
}

TEST_P(HfTinyLlama, ConfigDimsAreSymbolsWithProvenance) {
  BuiltModel m = build(refdata() / GetParam());
  const auto H = m.graph.env().find_symbol("H");
  ASSERT_TRUE(H.has_value());
  EXPECT_EQ(m.graph.env().info(*H).provenance, "config.hidden_size = 256");
  EXPECT_EQ(m.graph.config_values().at("Hkv"), 2);
  // N = Hkv·D and K = H stay distinct symbols although both are 128 / 256 here.
  const auto pid = m.graph.find(graph::NodeKind::kParameter, "model.layers.0.self_attn.k_proj.weight");
  ASSERT_TRUE(pid.has_value());
  EXPECT_EQ(tensor::shape_str(m.graph.meta({*pid, 0}).sizes), "[D*Hkv, H]");
}

INSTANTIATE_TEST_SUITE_P(Refdata, HfTinyLlama, ::testing::Values("hf-tiny-llama", "hf-tiny-llama-fp8"),
                         [](const auto& info) {
                           return std::string(info.param) == "hf-tiny-llama" ? "bf16" : "fp8";
                         });

TEST(HfTinyLlamaRun, F32MatchesTransformersLogits) {
  const auto dir = refdata() / "hf-tiny-llama";
  BuiltModel m = build(dir, {.compute_dtype = DType::kF32});
  ASSERT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
  const tensor::Tensor got = run_reference_prompts(m.graph, SafetensorsCheckpoint::open(dir));
  const tensor::Tensor want = SafetensorsFile::open(dir / "reference_logits.safetensors").tensor("logits");
  const testing::Diff d = testing::diff(got, want);
  EXPECT_LE(d.max_abs, 1e-3) << "rel L2 " << d.rel_l2;
}

// refdata README: without activation quantization the block-fp8 graph matches the
// dequantized-weights reference to max |d| <= 1e-3.
TEST(HfTinyLlamaRun, Fp8BlockWithoutActivationQuantizationMatchesDequantizedReference) {
  const auto dir = refdata() / "hf-tiny-llama-fp8";
  BuiltModel m = build(dir, {.compute_dtype = DType::kF32, .quantize_activations = false});
  ASSERT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
  const tensor::Tensor got = run_reference_prompts(m.graph, SafetensorsCheckpoint::open(dir));
  const tensor::Tensor want =
      SafetensorsFile::open(dir / "reference_logits_dequantized_weights.safetensors").tensor("logits");
  EXPECT_LE(testing::diff(got, want).max_abs, 1e-3);
}

}  // namespace
}  // namespace symtrace::model
