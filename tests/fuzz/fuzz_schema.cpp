// libFuzzer target: op::Schema::parse and argument binding (body in fuzz_bodies.hpp, also
// replayed by tests/model/fuzz_corpus_test.cpp).
#include "fuzz_bodies.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  symtrace::fuzz::schema_one(data, size);
  return 0;
}
