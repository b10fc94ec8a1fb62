// Ignore / exclude lists and scheme targets: exact names, "re:" regexes (Python re.match:
// anchored at the start only), globs, transformers' prefix-or-suffix rule, and the expansion
// of fused modules into their checkpoint parts (OPS.md §12.4).

#include <algorithm>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/quant_config.hpp>

#include "model/name_regex.hpp"

namespace symtrace::model {

namespace {

// Patterns come from config files: bounded in length; NameRegex never backtracks.
inline constexpr std::size_t kMaxPatternLength = 512;
inline constexpr std::size_t kMaxCachedPatterns = 4096;

// Shared ownership: a caller keeps its program even if another thread clears the cache.
std::shared_ptr<const detail::NameRegex> compiled(std::string_view pattern) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const detail::NameRegex>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(std::string(pattern));
  if (it != cache.end()) return it->second;
  if (pattern.size() > kMaxPatternLength) {
    diag::Diagnostic d;
    d.code = "config-value";
    d.argument = std::string(pattern.substr(0, 64));
    d.message = fmt::format("regex pattern of {} characters is longer than {} allowed",
                            pattern.size(), kMaxPatternLength);
    throw diag::Error(std::move(d));
  }
  // A config holds a handful of patterns; bound the cache for processes that read many.
  if (cache.size() >= kMaxCachedPatterns) cache.clear();
  auto re = std::make_shared<const detail::NameRegex>(detail::NameRegex::compile(pattern));
  return cache.emplace(std::string(pattern), std::move(re)).first->second;
}

bool has_glob(std::string_view s) { return s.find_first_of("*?") != std::string_view::npos; }

std::string_view last_component(std::string_view name) {
  const auto dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

}  // namespace

bool regex_match_prefix(std::string_view pattern, std::string_view name) {
  return compiled(pattern)->match_prefix(name);
}

bool glob_match(std::string_view p, std::string_view s) {
  // Iterative matcher with one backtrack point per '*': linear in |p|·|s|.
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi, ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++, mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1, si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

const FusedMapping& default_fused_mapping() {
  static const FusedMapping m{{"qkv_proj", {"q_proj", "k_proj", "v_proj"}},
                              {"gate_up_proj", {"gate_proj", "up_proj"}}};
  return m;
}

std::optional<std::string> IgnoreList::match(std::string_view module) const {
  for (const auto& e : entries) {
    bool hit = false;
    if (style == MatchStyle::kHfModules) {
      // transformers' should_convert_module: re.match(key, name) or name.endswith(key).
      hit = module.ends_with(e) || regex_match_prefix(e, module);
    } else if (e.starts_with("re:")) {
      hit = regex_match_prefix(std::string_view(e).substr(3), module);
    } else if (has_glob(e)) {
      hit = glob_match(e, module);
    } else {
      hit = e == module;
    }
    if (hit) return e;
  }
  return std::nullopt;
}

IgnoreDecision IgnoreList::decide_parts(std::string_view module,
                                        const std::vector<std::string>& parts) const {
  IgnoreDecision d;
  if (auto e = match(module)) d.fused_name_entry = *e;
  for (const auto& p : parts) {
    if (auto e = match(p)) {
      if (d.matched_entry.empty()) d.matched_entry = *e;
      d.ignored_parts.push_back(p);
    } else {
      d.quantized_parts.push_back(p);
    }
  }
  d.ignored = parts.empty() ? !d.fused_name_entry.empty() : d.quantized_parts.empty();
  d.partial = !d.ignored_parts.empty() && !d.quantized_parts.empty();
  return d;
}

IgnoreDecision IgnoreList::decide(std::string_view module, const FusedMapping& fused) const {
  const std::string_view leaf = last_component(module);
  auto it = fused.find(leaf);
  if (it == fused.end()) {
    IgnoreDecision d;
    if (auto e = match(module)) {
      d.ignored = true;
      d.matched_entry = *e;
    }
    return d;
  }
  const std::string_view parent = module.substr(0, module.size() - leaf.size());
  std::vector<std::string> parts;
  for (const auto& p : it->second) parts.push_back(fmt::format("{}{}", parent, p));
  return decide_parts(module, parts);
}

std::vector<std::string> IgnoreList::unused(const std::vector<std::string>& modules) const {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    IgnoreList one{key, {e}, style};
    const bool used = std::any_of(modules.begin(), modules.end(),
                                  [&](const std::string& m) { return one.match(m).has_value(); });
    if (!used) out.push_back(e);
  }
  return out;
}

}  // namespace symtrace::model
