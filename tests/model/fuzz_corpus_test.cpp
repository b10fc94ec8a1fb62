// Replays every seed of the fuzz corpora (and every crash input kept there) through the fuzz
// bodies: the normal and ASan suites cover what libFuzzer starts from.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "tests/fuzz/fuzz_bodies.hpp"

namespace symtrace::model {
namespace {

template <class Body>
int replay(const std::string& corpus, Body body) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(SYMTRACE_SOURCE_DIR) /
                                                           "tests" / "fuzz" / corpus)) {
    std::ifstream in(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(e.path().string());
    body(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  return n;
}

TEST(FuzzCorpus, SafetensorsHeaderSeedsEndInValueOrError) {
  EXPECT_GE(replay("corpus_safetensors_header", fuzz::safetensors_header_one), 7);
}

TEST(FuzzCorpus, HfConfigSeedsEndInValueOrError) {
  EXPECT_GE(replay("corpus_hf_config", fuzz::hf_config_one), 9);
}

TEST(FuzzCorpus, SchemaSeedsParseOrFailWithASchemaError) {
  EXPECT_GE(replay("corpus_schema", fuzz::schema_one), 6);
}

}  // namespace
}  // namespace symtrace::model
