// libFuzzer target: config.json / quantization_config parsing and the checkpoint spec built
// from what parses. Any input must end in a value or a diag::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/quant_config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace symtrace::model;
  try {
    (void)parse_quant_config(text, "fuzz.json");
  } catch (const symtrace::diag::Error&) {
  }
  try {
    const ModelConfig c = parse_hf_config(text, "fuzz.json");
    // Enumerating tensors costs time per layer and expert, not per element: keep the model
    // small enough for many executions per second.
    const std::int64_t experts = c.moe ? c.moe->num_experts.value : 0;
    if (c.num_hidden_layers.value * (1 + experts) <= 16) {
      SpecOptions opt;
      opt.tp = 1 + static_cast<std::int64_t>(size % 4);
      opt.ep = 1 + static_cast<std::int64_t>((size / 4) % 3);
      const CheckpointSpec s = build_checkpoint_spec(c, nullptr, opt);
      for (const auto& t : s.tensors) (void)t.symbolic_shape();
    }
  } catch (const symtrace::diag::Error&) {
  }
  return 0;
}
