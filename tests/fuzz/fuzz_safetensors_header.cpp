// libFuzzer target: the safetensors header parser and the tensor views it hands out
// (body in fuzz_bodies.hpp, also replayed by tests/model/fuzz_corpus_test.cpp).
#include "fuzz_bodies.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  symtrace::fuzz::safetensors_header_one(data, size);
  return 0;
}
