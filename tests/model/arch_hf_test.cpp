// Every architecture against Hugging Face transformers: tiny checkpoints written here from
// their configs (seeded weights, make_checkpoint_tensors), run through build_model_graph and
// exec::Plan in f32, compared with the logits transformers 5.17 computed for the same files
// in float32 (tests/model/arch_hf_logits.safetensors; docs/architectures.md says how they were
// made). The reference prompts are refdata's; tolerance max |d| <= 1e-3 as for hf-tiny-llama.
#include <cstdlib>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/checkpoint_writer.hpp>
#include <symtrace/model/hf_config.hpp>

#include "tests/model/arch_hf_cases.hpp"
#include "tests/model/arch_test_util.hpp"
#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using tensor::DType;
using tensor::Tensor;
using testing::hf_cases;
using testing::hf_logits;
using testing::hf_prompts;
using testing::HfCase;

// Writes the case's checkpoint (config.json + model.safetensors, weights seeded by name) to
// `dir`. SYMTRACE_ARCH_HF_DIR=path keeps them there for the transformers run.
void write_case(const HfCase& c, const std::filesystem::path& dir) {
  const ModelConfig cfg = parse_hf_config(c.config);
  write_checkpoint(dir, c.config, make_checkpoint_tensors(build_checkpoint_spec(cfg), /*seed=*/1));
  if (const char* keep = std::getenv("SYMTRACE_ARCH_HF_DIR"))
    write_checkpoint(std::filesystem::path(keep) / c.name, c.config,
                     make_checkpoint_tensors(build_checkpoint_spec(cfg), 1));
}

class ArchHf : public ::testing::TestWithParam<HfCase> {};

TEST_P(ArchHf, F32LogitsMatchTransformers) {
  const HfCase& c = GetParam();
  testing::ScratchDir dir;
  write_case(c, dir.path());
  const ModelConfig cfg = load_hf_config(dir.path());
  const CheckpointSpec spec = build_checkpoint_spec(cfg);
  const auto ckpt = SafetensorsCheckpoint::open(dir.path());
  {  // in the checkpoint's dtype, the graph's parameters are its tensors
    BuiltModel m = build_model_graph(cfg, spec);
    for (const auto& f : m.findings) EXPECT_NE(f.severity, diag::Severity::kError) << f.message;
    EXPECT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
    testing::expect_params_match(m.graph, ckpt);
  }
  BuiltModel m = build_model_graph(cfg, spec, {.compute_dtype = DType::kF32});
  ASSERT_EQ(graph::run_pipeline(m.graph), 0u) << testing::errors_of(m.graph);
  exec::Plan plan = testing::load_plan(m.graph, ckpt);
  const std::vector<Tensor> in{testing::ids_tensor(hf_prompts()), testing::positions_tensor(2, 16)};
  const Tensor got = plan.run(in, {.verify = true}, /*copy=*/true).at(0);
  const Tensor want = hf_logits(c.name);
  ASSERT_EQ(got.sizes(), want.sizes());
  const testing::Diff d = testing::diff(got, want);
  EXPECT_LE(d.max_abs, 1e-3) << "rel L2 " << d.rel_l2;
}

INSTANTIATE_TEST_SUITE_P(Transformers, ArchHf, ::testing::ValuesIn(hf_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace symtrace::model
