// The bodies of the fuzz targets, shared with tests/model/fuzz_corpus_test.cpp so that every
// seed and every past crash input also runs in the normal (and ASan) test suite.
// Contract: any input ends in a value or a diag::Error; anything else escapes as a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/checkpoint_spec.hpp>
#include <symtrace/model/hf_config.hpp>
#include <symtrace/model/quant_config.hpp>
#include <symtrace/model/safetensors.hpp>
#include <symtrace/op/op_def.hpp>
#include <symtrace/op/schema.hpp>

namespace symtrace::fuzz {

// Bytes as a whole safetensors file; every tensor's bytes and view are touched, so ASan
// proves they lie inside the file.
inline void safetensors_header_one(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size != 0) std::memcpy(bytes.data(), data, size);
  try {
    const auto f = model::SafetensorsFile::from_bytes(std::move(bytes), "fuzz.safetensors");
    unsigned sum = 0;
    for (const auto& t : f.tensors()) {
      const auto b = f.bytes(t.name);
      if (!b.empty()) sum += std::to_integer<unsigned>(b.front()) + std::to_integer<unsigned>(b.back());
      sum += static_cast<unsigned>(f.tensor(t.name).numel());
    }
    (void)sum;
  } catch (const diag::Error&) {
  }
}

// Text as config.json and as a quantization_config object; what parses becomes a spec.
inline void hf_config_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)model::parse_quant_config(text, "fuzz.json");
  } catch (const diag::Error&) {
  }
  try {
    const model::ModelConfig c = model::parse_hf_config(text, "fuzz.json");
    // Enumerating costs time per layer and expert, not per element: keep models small enough
    // for many executions per second (dims themselves may be huge).
    const std::int64_t experts = c.moe ? c.moe->num_experts.value : 0;
    if (c.num_hidden_layers.value * (1 + experts) <= 16) {
      model::SpecOptions opt;
      opt.tp = 1 + static_cast<std::int64_t>(size % 4);
      opt.ep = 1 + static_cast<std::int64_t>((size / 4) % 3);
      const model::CheckpointSpec s = model::build_checkpoint_spec(c, nullptr, opt);
      for (const auto& t : s.tensors) (void)t.symbolic_shape();
    }
  } catch (const diag::Error&) {
  }
}

// Text as an op schema: it parses (and its canonical form re-parses to itself, and binding no
// arguments gives a value or a "schema-call" error) or it is a "schema" error. A broken
// contract is a bug: it traps, which libFuzzer and the test suite both report.
inline void schema_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  op::Schema s;
  try {
    s = op::Schema::parse(text);
  } catch (const diag::Error& e) {
    if (e.diagnostic().code != "schema") __builtin_trap();
    return;
  }
  const std::string canonical = s.str();
  try {
    if (op::Schema::parse(canonical).str() != canonical) __builtin_trap();
  } catch (const diag::Error&) {
    __builtin_trap();  // the canonical form of a valid schema must parse
  }
  try {
    (void)op::bind_args(s, {});
  } catch (const diag::Error& e) {
    if (e.diagnostic().code != "schema-call") __builtin_trap();
  }
}

}  // namespace symtrace::fuzz
