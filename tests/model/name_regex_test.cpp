// NameRegex: Python re.match semantics on module names, in time linear in the name.
#include <chrono>

#include <gtest/gtest.h>

#include "model/name_regex.hpp"
#include "tests/model/model_test_util.hpp"

namespace symtrace::model::detail {
namespace {

struct Case {
  const char* pattern;
  const char* name;
  bool match;  // what Python's re.match(pattern, name) is truthy for
};

TEST(NameRegex, AgreesWithPythonReMatch) {
  const Case cases[] = {
      {".*mlp.gate$", "model.layers.0.mlp.gate", true},
      {".*mlp.gate$", "model.layers.0.mlp.gate_proj", false},
      {".*mlp\\.gate", "model.layers.0.mlp.gate_proj", true},  // anchored at the start only
      {"model.layers.1", "model.layers.10.mlp", true},
      {"layers", "model.layers.1", false},
      {"^model", "model.x", true},
      {"", "anything", true},
      {"a|b", "b", true},
      {"(?:q|k|v)_proj", "k_proj", true},
      {"(?P<kind>q|k)_proj$", "v_proj", false},
      {".*self_attn\\.(q|k|v)_proj$", "model.layers.3.self_attn.v_proj", true},
      {"[qkv]_proj", "o_proj", false},
      {"[^o]_proj", "q_proj", true},
      {"[^o]_proj", "o_proj", false},
      {"[]x]", "]", true},
      {"[a\\-c]", "-", true},
      {"layers\\.\\d+\\.mlp", "layers.12.mlp", true},
      {"layers\\.\\d+\\.mlp", "layers.x.mlp", false},
      {"\\w+\\.\\w+", "lm_head.weight", true},
      {"\\s", " ", true},
      {"\\S+$", "a b", false},
      {"a{2}b", "aab", true},
      {"a{2}b", "ab", false},
      {"a{2,}b", "aaaab", true},
      {"a{,2}b", "aaab", false},
      {"a{1,3}?b", "aab", true},
      {"x{y}", "x{y}", true},  // not a repeat: literal braces, as in Python
      {"a*?b", "aaab", true},
      {"(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
      {"(a|aa)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", false},
      {".", "\n", false},
      {"\\Amodel\\Z", "model", true},
      {"a$", "ab", false},
  };
  for (const Case& c : cases)
    EXPECT_EQ(NameRegex::compile(c.pattern).match_prefix(c.name), c.match)
        << "re.match(" << c.pattern << ", " << c.name << ")";
}

TEST(NameRegex, RefusesWhatPythonRefusesOrWeDoNotModel) {
  for (const char* p : {".**elf_attn.*", "a++", "a{2}*", "*a", "(a", "a)", "[a", "\\", "a{3,2}",
                        "(?=x)", "(?!x)", "(?<=x)", "(?i)x", "\\1", "\\b", "\\q", "[z-a]",
                        "a{1001}", "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))"}) {
    SCOPED_TRACE(p);
    testing::expect_error([&] { NameRegex::compile(p); }, "config-value");
  }
}

TEST(NameRegex, PathologicalPatternsStayLinear) {
  // std::regex needed exponential time for these (fuzz_hf_config found the first).
  const std::string name(200, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(NameRegex::compile("(a*)*b").match_prefix(name));
  EXPECT_FALSE(NameRegex::compile("(a|a)*(a|a)*(a|a)*b").match_prefix(name));
  EXPECT_TRUE(NameRegex::compile("(.*){20}a").match_prefix(name));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 2000);  // microseconds in practice; generous for sanitizer builds
}

}  // namespace
}  // namespace symtrace::model::detail
