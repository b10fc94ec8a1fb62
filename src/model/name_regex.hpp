// Private: the regular expressions of ignore lists and targets ("re:.*mlp\.gate$"), matched
// the way Python's re.match does — anchored at the start of the module name only.
//
// A Thompson NFA run in lockstep (O(pattern × name), no backtracking), because configs come
// from outside: libstdc++'s std::regex backtracks exponentially on patterns such as ".**x"
// (found by fuzz_hf_config) and recurses once per character. The syntax is the part of
// Python's that module patterns use: literals, '.', classes [a-z0-9_] [^...] \d \w \s (and
// negations), groups (...) (?:...) (?P<name>...), '|', quantifiers * + ? {n} {n,} {n,m}
// {,m} (lazy forms accepted), anchors ^ $ \A \Z. Lookarounds, backreferences and \b are
// refused with a config-value error, as is a repeat of a repeat ("**"), which Python refuses
// too ("multiple repeat").
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace symtrace::model::detail {

class NameRegex {
 public:
  // Throws diag::Error code "config-value" naming the pattern and the offending position.
  static NameRegex compile(std::string_view pattern);
  // True when the pattern matches a prefix of `name` (Python re.match(pattern, name)).
  bool match_prefix(std::string_view name) const;

  struct Inst {
    enum Op : std::uint8_t { kSet, kSplit, kJmp, kBol, kEol, kAccept } op;
    int x = 0, y = 0;  // kSet: index into sets_; kSplit: both targets; kJmp: x
  };

 private:
  std::vector<Inst> prog_;
  std::vector<std::bitset<256>> sets_;
  friend class RegexCompiler;
};

}  // namespace symtrace::model::detail
