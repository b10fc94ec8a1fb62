// libFuzzer target: config.json / quantization_config parsing and the checkpoint spec built
// from what parses (body in fuzz_bodies.hpp, also replayed by tests/model/fuzz_corpus_test.cpp).
#include "fuzz_bodies.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  symtrace::fuzz::hf_config_one(data, size);
  return 0;
}
