// model::CheckpointTensors — a checkpoint made from its own spec: seeded random weights,
// quantized per the format with correct scales, ready to be broken on purpose and written.
//
//   ModelConfig cfg = parse_hf_config(config_json);
//   CheckpointTensors t = make_checkpoint_tensors(build_checkpoint_spec(cfg), /*seed=*/1);
//   t.transpose2d("model.layers.0.mlp.gate_proj.weight_scale_inv");   // a broken variant
//   write_checkpoint("out/llama-fp8", config_json, t);   // config.json + model.safetensors
//
// The bundled examples (`symtrace make-examples OUTDIR`, docs/checkpoints.md) are built
// this way; each names the finding a checker must report for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/safetensors.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::model {

struct TensorData {
  tensor::DType dtype = tensor::DType::kF32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;  // row-major
};

class CheckpointTensors {
 public:
  std::map<std::string, TensorData, std::less<>> tensors;

  TensorData& at(std::string_view name);  // diag::Error code missing-tensor when absent
  void erase(std::string_view name);
  // [a, b] -> [b, a] with the elements moved (a scale transposed without its weight).
  void transpose2d(std::string_view name);
  // Same elements, another shape ([N, 1] -> [N]); numel must match.
  void reshape(std::string_view name, std::vector<std::int64_t> shape);
  // Element `flat` of an F32 tensor.
  void set_f32(std::string_view name, std::size_t flat, float value);
  // Re-encodes a tensor in another float dtype (values through f32; fp8 -> decoded).
  void convert(std::string_view name, tensor::DType to);

  SafetensorsWriter writer() const;  // metadata {"format": "pt"}, like transformers
};

// Every non-optional tensor of `spec` (and the zero points Quark always writes). Weights are
// uniform random per tensor (seeded by name and `seed`), quantized per their format:
// block/channel/tensor/group scales = amax / qmax (e4m3 448, int8 127), NVFP4 with a global
// divisor and e4m3 block scales (OPS.md §10), int4 pack-quantized (symmetric only).
CheckpointTensors make_checkpoint_tensors(const CheckpointSpec& spec, std::uint64_t seed = 0);

// Writes DIR/config.json (the text as given) and DIR/model.safetensors.
void write_checkpoint(const std::filesystem::path& dir, std::string_view config_json,
                      const CheckpointTensors& tensors);

struct ExampleCheckpoint {
  std::string name;
  std::string summary;
  std::string expect_code;      // the finding a checker must report; empty for clean examples
  std::string expect_argument;  // the tensor or module it names
  bool clean() const { return expect_code.empty(); }
};

// The bundled examples, clean ones first.
const std::vector<ExampleCheckpoint>& example_checkpoints();
// Writes example `name` into OUTDIR/name; diag::Error code "usage" for an unknown name.
void write_example_checkpoint(std::string_view name, const std::filesystem::path& outdir);
// Its config.json text.
std::string example_config(std::string_view name);

}  // namespace symtrace::model
