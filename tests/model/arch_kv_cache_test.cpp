// build_model_graph with kv_cache: per-layer k/v cache states and cached_attention. One
// graph serves prefill (past = 0) and decode (S = 1, past = tokens cached) by rebinding; its
// logits equal the full prefill's (transformers' reference logits of refdata hf-tiny-llama).
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

struct KvModel {
  ModelConfig cfg;
  CheckpointSpec spec;
  BuiltModel m;
};

KvModel build_kv(const std::filesystem::path& dir, std::optional<DType> dtype) {
  KvModel k{load_hf_config(dir), {}, {}};
  k.spec = build_checkpoint_spec(k.cfg);
  k.m = build_model_graph(k.cfg, k.spec, {.compute_dtype = dtype, .kv_cache = true});
  return k;
}

TEST(ArchKvCache, GraphHasCacheStatesAndPassesPipeline) {
  KvModel k = build_kv(testing::refdata() / "hf-tiny-llama", std::nullopt);
  graph::Graph& g = k.m.graph;
  EXPECT_EQ(graph::run_pipeline(g), 0u) << testing::errors_of(g);
  const auto kc = g.find(graph::NodeKind::kState, "model.layers.1.self_attn.k_cache");
  ASSERT_TRUE(kc.has_value());
  EXPECT_EQ(tensor::shape_str(g.meta({*kc, 0}).sizes), "[B, T, Hkv, D]");
  EXPECT_EQ(g.meta({*kc, 0}).dtype, DType::kBF16);
  EXPECT_TRUE(g.find(graph::NodeKind::kState, "model.layers.0.self_attn.v_cache").has_value());
  EXPECT_EQ(g.nodes_of_kind(graph::NodeKind::kState).size(), 4u);
  EXPECT_TRUE(g.env().find_symbol("past").has_value());
  testing::expect_params_match(g, SafetensorsCheckpoint::open(testing::refdata() / "hf-tiny-llama"));
}

// Prefill 12 tokens, then decode the last 4 one by one: every step's logits equal the full
// 16-token forward of transformers at that position (max |d| <= 1e-3).
void expect_prefill_then_decode(const graph::Graph& g, const SafetensorsCheckpoint& ckpt,
                                const Tensor& want, std::int64_t V) {
  exec::Plan plan = testing::load_plan(g, ckpt);
  const std::vector<std::vector<std::int64_t>> prompts = testing::hf_prompts();
  const auto step = [&](std::int64_t past, std::int64_t S) {
    std::vector<std::vector<std::int64_t>> rows;
    for (const auto& p : prompts) rows.emplace_back(p.begin() + past, p.begin() + past + S);
    plan.bind({{"B", 2}, {"S", S}, {"past", past}, {"T", 20}});
    plan.input("input_ids").copy_from(testing::ids_tensor(rows));
    plan.input("positions").copy_from(testing::positions_tensor(2, S, past));
    plan.run();
    const Tensor& got = plan.output("logits");
    ASSERT_EQ(got.sizes(), (tensor::Shape{2, S, V}));
    for (std::int64_t b = 0; b < 2; ++b) {
      const testing::Diff d = testing::diff(got.select(0, b), want.select(0, b).narrow(0, past, S));
      EXPECT_LE(d.max_abs, 1e-3) << "past " << past << " S " << S << " row " << b;
    }
  };
  step(0, 12);
  for (std::int64_t past = 12; past < 16; ++past) step(past, 1);
}

TEST(ArchKvCache, PrefillThenDecodeEqualsFullPrefill) {
  const auto dir = testing::refdata() / "hf-tiny-llama";
  KvModel k = build_kv(dir, DType::kF32);
  ASSERT_EQ(graph::run_pipeline(k.m.graph), 0u) << testing::errors_of(k.m.graph);
  expect_prefill_then_decode(k.m.graph, SafetensorsCheckpoint::open(dir),
                             SafetensorsFile::open(dir / "reference_logits.safetensors").tensor("logits"), 512);
}

// Sliding windows, MoE layers and MLA's expanded per-head caches through the same loop,
// against transformers' logits (arch_hf_test.cpp's cases).
class ArchKvCacheHf : public ::testing::TestWithParam<const char*> {};

TEST_P(ArchKvCacheHf, PrefillThenDecodeMatchesTransformers) {
  const testing::HfCase c = testing::hf_case(GetParam());
  testing::ScratchDir dir;
  const ModelConfig cfg = parse_hf_config(c.config);
  write_checkpoint(dir.path(), c.config, make_checkpoint_tensors(build_checkpoint_spec(cfg), /*seed=*/1));
  KvModel k = build_kv(dir.path(), DType::kF32);
  ASSERT_EQ(graph::run_pipeline(k.m.graph), 0u) << testing::errors_of(k.m.graph);
  expect_prefill_then_decode(k.m.graph, SafetensorsCheckpoint::open(dir.path()), testing::hf_logits(c.name),
                             cfg.vocab_size.value);
}

INSTANTIATE_TEST_SUITE_P(Transformers, ArchKvCacheHf,
                         ::testing::Values("mistral_window", "qwen3_moe", "deepseek_v3"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace symtrace::model
