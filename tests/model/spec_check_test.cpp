// check_tensor_list and scan_scales on checkpoints of ours with one defect each.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/checkpoint_writer.hpp>
#include <symtrace/model/safetensors.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::count_code;
using testing::refdata;
using testing::ScratchDir;
using tensor::DType;

constexpr const char* kScale = "model.layers.0.self_attn.o_proj.weight_scale_inv";  // [2, 2]

struct Fixture {
  ModelConfig cfg = load_hf_config(refdata() / "hf-tiny-llama-fp8");
  CheckpointSpec spec = build_checkpoint_spec(cfg);
  CheckpointTensors tensors = make_checkpoint_tensors(spec, 7);
  ScratchDir dir;

  SafetensorsCheckpoint write() {
    tensors.writer().write(dir / "model.safetensors");
    return SafetensorsCheckpoint::open(dir / "model.safetensors");
  }
};

const diag::Diagnostic* first(const std::vector<diag::Diagnostic>& fs, const std::string& code) {
  for (const auto& f : fs)
    if (f.code == code) return &f;
  return nullptr;
}

TEST(ScanScales, CleanCheckpointHasNoFindings) {
  Fixture f;
  const auto ckpt = f.write();
  EXPECT_TRUE(check_tensor_list(f.spec, ckpt).empty());
  EXPECT_TRUE(scan_scales(f.spec, ckpt).empty());
}

TEST(ScanScales, NanInfZeroNegativeAreEachReported) {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       0.f, -0.001f};
  const char* words[] = {"NaN", "infinite", "zero", "negative"};
  for (int i = 0; i < 4; ++i) {
    Fixture f;
    f.tensors.set_f32(kScale, 3, bad[i]);
    const auto fs = scan_scales(f.spec, f.write());
    ASSERT_EQ(fs.size(), 1u) << words[i];
    EXPECT_EQ(fs[0].code, "bad-scale");
    EXPECT_EQ(fs[0].severity, diag::Severity::kError);
    EXPECT_EQ(fs[0].argument, kScale);
    EXPECT_EQ(fs[0].node, "model.layers.0.self_attn.o_proj");
    EXPECT_NE(fs[0].message.find(words[i]), std::string::npos) << fs[0].message;
    EXPECT_NE(fs[0].message.find("model.safetensors"), std::string::npos) << fs[0].message;
    EXPECT_NE(fs[0].got.find("at [1, 1]"), std::string::npos) << fs[0].got;  // flat 3 of [2, 2]
  }
}

TEST(ScanScales, NonPowerOfTwoUnderUe8m0IsAWarning) {
  Fixture f;
  const auto ckpt = f.write();
  const auto fs = scan_scales(f.spec, ckpt, {.require_pow2 = true});
  // amax / 448 is a power of two only by accident.
  ASSERT_GT(count_code(fs, "scale-pow2"), 0);
  EXPECT_EQ(first(fs, "scale-pow2")->severity, diag::Severity::kWarning);
  // A checkpoint that declares scale_fmt "ue8m0" asks for the check itself.
  QuantConfig q = *f.cfg.quant;
  q.scale_fmt = "ue8m0";
  EXPECT_GT(count_code(scan_scales(build_checkpoint_spec(f.cfg, &q), ckpt), "scale-pow2"), 0);
}

TEST(CheckTensorList, MissingUnexpectedDtypeAndShape) {
  Fixture f;
  f.tensors.erase("model.layers.1.mlp.up_proj.weight_scale_inv");
  f.tensors.tensors["model.layers.0.mlp.extra.weight"] =
      TensorData{DType::kBF16, {2}, std::vector<std::byte>(4)};
  f.tensors.tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] =
      TensorData{DType::kF32, {32}, std::vector<std::byte>(128)};
  f.tensors.convert("model.layers.0.self_attn.q_proj.weight_scale_inv", DType::kBF16);
  f.tensors.transpose2d("model.layers.1.mlp.down_proj.weight");  // [256, 512] -> [512, 256]
  const auto fs = check_tensor_list(f.spec, f.write());
  const auto* missing = first(fs, "missing-tensor");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->argument, "model.layers.1.mlp.up_proj.weight_scale_inv");
  EXPECT_EQ(missing->expected, "F32 [cdiv(N, 128), cdiv(K, 128)] = [4, 2]");
  ASSERT_EQ(count_code(fs, "unexpected-tensor"), 2);
  for (const auto& d : fs) {
    if (d.code != "unexpected-tensor") continue;
    EXPECT_EQ(d.severity, d.argument.ends_with("inv_freq") ? diag::Severity::kNote
                                                           : diag::Severity::kError);
  }
  const auto* dtype = first(fs, "dtype");
  ASSERT_NE(dtype, nullptr);
  EXPECT_EQ(dtype->expected, "F32");  // HF fp8 scales are f32 only
  EXPECT_EQ(dtype->got, "BF16");
  const auto* shape = first(fs, "shape");
  ASSERT_NE(shape, nullptr);
  EXPECT_EQ(shape->argument, "model.layers.1.mlp.down_proj.weight");
  EXPECT_NE(shape->hint.find("transposed"), std::string::npos);
}

TEST(CheckTensorList, TransposedBlockGridIsAScaleLayoutError) {
  Fixture f;
  f.tensors.transpose2d("model.layers.0.mlp.gate_proj.weight_scale_inv");  // [4, 2] -> [2, 4]
  const auto fs = check_tensor_list(f.spec, f.write());
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].code, "scale-layout");
  EXPECT_EQ(fs[0].got, "[2, 4]");
  EXPECT_EQ(fs[0].expected, "[cdiv(N, 128), cdiv(K, 128)] = [4, 2]");
  EXPECT_NE(fs[0].hint.find("transposed"), std::string::npos);
  EXPECT_EQ(fs[0].notes.size(), 2u);  // where N and K come from
}

TEST(CheckTensorList, AcceptedVariantsAreNotesNotErrors) {
  // Compressed-tensors per-tensor fp8 with a 0-d scale and a bf16 scale: loaders adapt both.
  const ModelConfig cfg = load_hf_config(refdata() / "hf-tiny-llama");
  QuantConfig q = parse_quant_config(R"({"quant_method": "compressed-tensors",
      "config_groups": {"g": {"targets": ["Linear"],
        "weights": {"num_bits": 8, "type": "float", "strategy": "tensor"},
        "input_activations": {"num_bits": 8, "type": "float", "strategy": "tensor", "dynamic": false}}},
      "ignore": ["lm_head"]})");
  const CheckpointSpec spec = build_checkpoint_spec(cfg, &q);
  CheckpointTensors t = make_checkpoint_tensors(spec);
  t.reshape("model.layers.0.mlp.up_proj.weight_scale", {});
  t.convert("model.layers.0.mlp.up_proj.input_scale", DType::kBF16);
  ScratchDir dir;
  t.writer().write(dir / "m.safetensors");
  const auto fs = check_tensor_list(spec, SafetensorsCheckpoint::open(dir / "m.safetensors"));
  ASSERT_EQ(fs.size(), 2u);
  for (const auto& d : fs) EXPECT_EQ(d.severity, diag::Severity::kNote) << diag::render(d);
  EXPECT_EQ(count_code(fs, "layout-adapter"), 1);
  EXPECT_EQ(count_code(fs, "dtype-adapter"), 1);
}

TEST(CheckTensorList, QuarkOneDimensionalScaleGetsAnAdapterNote) {
  const ModelConfig cfg = load_hf_config(refdata() / "hf-tiny-llama");
  QuantConfig q = parse_quant_config(R"({"quant_method": "quark",
      "global_quant_config": {"weight": {"dtype": "int8", "qscheme": "per_channel"}}, "exclude": ["lm_head"]})");
  const CheckpointSpec spec = build_checkpoint_spec(cfg, &q);
  CheckpointTensors t = make_checkpoint_tensors(spec);
  ScratchDir dir;
  t.writer().write(dir / "m.safetensors");
  const auto fs = check_tensor_list(spec, SafetensorsCheckpoint::open(dir / "m.safetensors"));
  EXPECT_EQ(count_code(fs, "layout-adapter"), 14);  // one per quantized linear
  EXPECT_EQ(fs.size(), 14u);
  // The same [N] under compressed-tensors is an error (its spec says [N, 1]).
  QuantConfig ct = parse_quant_config(R"({"quant_method": "compressed-tensors",
      "config_groups": {"g": {"targets": ["Linear"], "weights": {"num_bits": 8, "strategy": "channel"}}},
      "ignore": ["lm_head"]})");
  const CheckpointSpec ct_spec = build_checkpoint_spec(cfg, &ct);
  CheckpointTensors u = make_checkpoint_tensors(ct_spec);
  u.reshape("model.layers.1.self_attn.k_proj.weight_scale", {128});
  u.writer().write(dir / "c.safetensors");
  const auto gs = check_tensor_list(ct_spec, SafetensorsCheckpoint::open(dir / "c.safetensors"));
  ASSERT_EQ(gs.size(), 1u);
  EXPECT_EQ(gs[0].code, "scale-layout");
  EXPECT_NE(gs[0].hint.find("1-D [N]"), std::string::npos) << gs[0].hint;
}

}  // namespace
}  // namespace symtrace::model
