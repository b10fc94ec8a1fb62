// Private helper for the config parsers: typed reads from a Boost.JSON object whose every
// error is a diag::Error naming the file and the full key ("config.rope_scaling.factor").
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::model::detail {

class ObjectReader {
 public:
  ObjectReader(const boost::json::object& o, std::string path, std::string file)
      : o_(&o), path_(std::move(path)), file_(std::move(file)) {}

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  std::string key_path(std::string_view key) const;  // "config.hidden_size"

  // The value, or null when the key is absent or JSON null. Marks the key as read.
  const boost::json::value* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }

  std::optional<std::int64_t> opt_int(std::string_view key) const;
  std::int64_t req_int(std::string_view key) const;         // config-missing when absent
  std::int64_t req_positive(std::string_view key) const;     // also config-value when <= 0
  std::optional<double> opt_number(std::string_view key) const;
  double number_or(std::string_view key, double fallback) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  bool bool_or(std::string_view key, bool fallback) const;
  std::optional<std::string> opt_string(std::string_view key) const;
  std::optional<ObjectReader> opt_object(std::string_view key) const;
  const boost::json::array* opt_array(std::string_view key) const;
  std::vector<std::string> string_list(std::string_view key) const;  // null/absent -> empty
  std::vector<std::int64_t> int_list(std::string_view key) const;

  // Keys never read: unknown fields, reported as findings by the quantization parser.
  std::vector<std::string> unread_keys() const;

  [[noreturn]] void fail(std::string code, std::string_view key, std::string message,
                         std::string expected = {}, std::string got = {}) const;

 private:
  const boost::json::object* o_;
  std::string path_, file_;
  mutable std::set<std::string, std::less<>> read_;
};

// Parses a whole JSON document; config-json error naming the file otherwise.
boost::json::value parse_json(std::string_view text, std::string_view file);

// A finding (not an error) about a config.
diag::Diagnostic finding(std::string code, diag::Severity severity, std::string argument,
                         std::string message);

}  // namespace symtrace::model::detail
