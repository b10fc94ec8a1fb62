// The bundled examples: each clean one passes every check (tensor level and the traced graph:
// headers bound, kernels selected, verified), each broken one is caught with exactly its
// documented finding; quantized weights use their scales' full range.
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include <symtrace/model/check_graph.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/checkpoint_writer.hpp>
#include <symtrace/model/safetensors.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::ScratchDir;
using tensor::DType;

// Every non-note finding `symtrace check` produces for a checkpoint directory.
std::vector<diag::Diagnostic> all_findings(const std::filesystem::path& dir) {
  const ModelConfig cfg = load_hf_config(dir);
  const CheckpointSpec spec = build_checkpoint_spec(cfg);
  const auto ckpt = SafetensorsCheckpoint::open(dir);
  std::vector<diag::Diagnostic> out;
  auto take = [&](const std::vector<diag::Diagnostic>& fs) {
    for (const auto& f : fs)
      if (f.severity != diag::Severity::kNote) out.push_back(f);
  };
  take(cfg.findings);
  if (cfg.quant) take(cfg.quant->findings);
  take(spec.findings);
  const auto listed = check_tensor_list(spec, ckpt);
  take(listed);
  take(scan_scales(spec, ckpt));
  GraphCheckOptions opt;
  for (const auto& d : listed) opt.already_reported.insert(d.argument);
  take(check_graph(cfg, spec, ckpt, opt).findings);
  return out;
}

class Examples : public ::testing::TestWithParam<ExampleCheckpoint> {};

TEST_P(Examples, FindingsAreExactlyTheDocumentedOnes) {
  const ExampleCheckpoint& e = GetParam();
  ScratchDir dir;
  write_example_checkpoint(e.name, dir.path());
  const auto path = dir / e.name;
  EXPECT_LT(std::filesystem::file_size(path / "model.safetensors"), 2u << 20) << "keep examples tiny";
  const auto fs = all_findings(path);
  if (e.clean()) {
    for (const auto& f : fs) ADD_FAILURE() << diag::render(f);
    return;
  }
  ASSERT_EQ(fs.size(), 1u) << (fs.empty() ? std::string("no finding") : diag::render(fs[1]));
  EXPECT_EQ(fs[0].code, e.expect_code) << diag::render(fs[0]);
  EXPECT_TRUE(fs[0].argument == e.expect_argument || fs[0].node == e.expect_argument)
      << diag::render(fs[0]);
  EXPECT_EQ(fs[0].severity, diag::Severity::kError);
}

INSTANTIATE_TEST_SUITE_P(All, Examples, ::testing::ValuesIn(example_checkpoints()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

TEST(ExampleCheckpoints, NamesAreUniqueAndCleanOnesComeFirst) {
  std::set<std::string> names;
  bool broken_seen = false;
  for (const auto& e : example_checkpoints()) {
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    if (!e.clean()) broken_seen = true;
    else EXPECT_FALSE(broken_seen) << e.name;
  }
  EXPECT_GE(names.size(), 16u);
  testing::expect_error([] { write_example_checkpoint("nope", "/tmp"); }, "usage");
}

TEST(ExampleCheckpoints, WritingIsDeterministic) {
  ScratchDir a, b;
  write_example_checkpoint("qwen3-moe-w8a8-int8", a.path());
  write_example_checkpoint("qwen3-moe-w8a8-int8", b.path());
  auto bytes = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(bytes(a / "qwen3-moe-w8a8-int8" / "model.safetensors"),
            bytes(b / "qwen3-moe-w8a8-int8" / "model.safetensors"));
}

// max |decode(q)| over each scale's group must be the format's max: scale = amax / qmax.
TEST(ExampleCheckpoints, ScalesAreAmaxOverQmax) {
  ScratchDir dir;
  for (const char* name : {"llama-fp8-block-ragged", "qwen3-moe-w8a8-int8", "mixtral-quark-int8"}) {
    write_example_checkpoint(name, dir.path());
    const auto ckpt = SafetensorsCheckpoint::open(dir / name);
    const CheckpointSpec spec = build_checkpoint_spec(load_hf_config(dir / name));
    int checked = 0;
    for (const LinearSpec& ls : spec.linears) {
      if (!ls.quantized) continue;
      const tensor::Tensor w = ckpt.tensor(ls.name + ".weight");
      const auto q = w.to_f32();
      const std::int64_t N = ls.N.value, K = ls.K.value;
      const bool block = ls.weights->strategy == Strategy::kBlock;
      const std::int64_t bn = block ? *ls.weights->block_n : 1, bk = block ? *ls.weights->block_k : K;
      const float qmax = w.dtype() == DType::kF8E4M3FN ? 448.f : 127.f;
      std::vector<float> m(static_cast<std::size_t>(((N + bn - 1) / bn) * ((K + bk - 1) / bk)), 0.f);
      const std::int64_t cols = (K + bk - 1) / bk;
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k = 0; k < K; ++k)
          m[(n / bn) * cols + k / bk] = std::max(m[(n / bn) * cols + k / bk], std::abs(q[n * K + k]));
      for (float x : m) EXPECT_EQ(x, qmax) << ls.name;
      ++checked;
    }
    EXPECT_GT(checked, 6) << name;
  }
}

TEST(ExampleCheckpoints, Nvfp4DequantizesWithGlobalDivisor) {
  ScratchDir dir;
  write_example_checkpoint("llama-nvfp4-w4a16", dir.path());
  const auto ckpt = SafetensorsCheckpoint::open(dir / "llama-nvfp4-w4a16");
  const std::string m = "model.layers.0.self_attn.o_proj.";
  const auto packed = ckpt.bytes(m + "weight_packed");
  const auto scales = ckpt.tensor(m + "weight_scale").to_f32();
  const float global = ckpt.tensor(m + "weight_global_scale").to_f32()[0];
  // The largest block holds the tensor's amax: its e4m3 scale is 448 and its max code is 6.
  float max_scale = 0;
  for (float s : scales) max_scale = std::max(max_scale, s);
  EXPECT_EQ(max_scale, 448.f);
  float wmax = 0;
  for (std::size_t i = 0; i < packed.size() * 2; ++i) {
    const auto code = (std::to_integer<unsigned>(packed[i / 2]) >> (i % 2 ? 4 : 0)) & 0xF;
    const float w = tensor::decode(DType::kF4E2M1X2, code) * scales[i / 16] / global;
    wmax = std::max(wmax, std::abs(w));
  }
  EXPECT_NEAR(wmax, 6.f * 448.f / global, 1e-6);
  EXPECT_LE(wmax, 0.04f * 1.5f);  // weights were drawn with |w| <= 0.04 * 1.5
}

TEST(CheckpointTensors, EditsForBrokenVariants) {
  CheckpointTensors t;
  const float v[6] = {1, 2, 3, 4, 5, 6};
  TensorData d{DType::kF32, {2, 3}, std::vector<std::byte>(24)};
  std::memcpy(d.bytes.data(), v, 24);
  t.tensors["s"] = d;
  t.transpose2d("s");
  EXPECT_EQ(t.at("s").shape, (std::vector<std::int64_t>{3, 2}));
  float got[6];
  std::memcpy(got, t.at("s").bytes.data(), 24);
  EXPECT_EQ(got[1], 4.f);
  EXPECT_EQ(got[2], 2.f);
  t.reshape("s", {6});
  testing::expect_error([&] { t.reshape("s", {5}); }, "shape");
  t.set_f32("s", 5, -1.f);
  t.convert("s", DType::kBF16);
  EXPECT_EQ(t.at("s").bytes.size(), 12u);
  t.erase("s");
  testing::expect_error([&] { t.at("s"); }, "missing-tensor");
}

}  // namespace
}  // namespace symtrace::model
