// build_model_graph on the MoE and MLA architectures (Mixtral, Qwen3-MoE, DeepSeek-V3) from
// the bundled example configs: the graphs pass the pipeline and read exactly the checkpoint's
// tensors.
#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/checkpoint_writer.hpp>
#include <symtrace/model/hf_config.hpp>

#include "tests/model/arch_test_util.hpp"
#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

class ArchExample : public ::testing::TestWithParam<const char*> {};

TEST_P(ArchExample, GraphPassesPipelineAndReadsCheckpointTensors) {
  testing::ScratchDir dir;
  write_example_checkpoint(GetParam(), dir.path());
  const ModelConfig cfg = load_hf_config(dir / GetParam());
  const CheckpointSpec spec = build_checkpoint_spec(cfg);
  BuiltModel m = build_model_graph(cfg, spec);
  for (const auto& f : m.findings) EXPECT_NE(f.severity, diag::Severity::kError) << f.message;
  EXPECT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
  const bool quark = cfg.quant && cfg.quant->method == QuantMethod::kQuark;
  testing::expect_params_match(m.graph, SafetensorsCheckpoint::open(dir / GetParam()), !quark);
}

INSTANTIATE_TEST_SUITE_P(Examples, ArchExample,
                         ::testing::Values("llama-fp8-block", "llama-fp8-block-ragged",
                                           "llama-nvfp4-w4a16", "qwen3-moe-bf16",
                                           "qwen3-moe-fp8-block", "qwen3-moe-w8a8-int8",
                                           "mixtral-bf16", "mixtral-fp8-block",
                                           "mixtral-quark-int8", "deepseek-v3-bf16",
                                           "deepseek-v3-fp8-block"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& ch : s) ch = ch == '-' ? '_' : ch;
                           return s;
                         });

}  // namespace
}  // namespace symtrace::model
