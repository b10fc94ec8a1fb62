#include "model/json_read.hpp"

#include <cmath>

#include <fmt/format.h>

namespace symtrace::model::detail {

namespace json = boost::json;

namespace {

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return json::serialize(v);
    case json::kind::string: return fmt::format("string {}", json::serialize(v));
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

}  // namespace

std::string ObjectReader::key_path(std::string_view key) const {
  return fmt::format("{}.{}", path_, key);
}

void ObjectReader::fail(std::string code, std::string_view key, std::string message,
                        std::string expected, std::string got) const {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.argument = key.empty() ? path_ : key_path(key);
  d.message = fmt::format("{}: {}: {}", file_, d.argument, message);
  d.expected = std::move(expected);
  d.got = std::move(got);
  throw diag::Error(std::move(d));
}

const json::value* ObjectReader::get(std::string_view key) const {
  read_.emplace(key);
  const json::value* v = o_->if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

std::optional<std::int64_t> ObjectReader::opt_int(std::string_view key) const {
  const json::value* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  // Some writers emit 4096.0; accept exact integral doubles.
  if (v->is_double()) {
    const double d = v->get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.0e15)
      return static_cast<std::int64_t>(d);
  }
  fail("config-type", key, "expected an integer", "integer", kind_of(*v));
}

std::int64_t ObjectReader::req_int(std::string_view key) const {
  auto v = opt_int(key);
  if (!v) fail("config-missing", key, "required field is missing", "integer", "absent");
  return *v;
}

std::int64_t ObjectReader::req_positive(std::string_view key) const {
  const std::int64_t v = req_int(key);
  if (v <= 0)
    fail("config-value", key, "dimension must be positive", "> 0", std::to_string(v));
  return v;
}

std::optional<double> ObjectReader::opt_number(std::string_view key) const {
  const json::value* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  fail("config-type", key, "expected a number", "number", kind_of(*v));
}

double ObjectReader::number_or(std::string_view key, double fallback) const {
  return opt_number(key).value_or(fallback);
}

std::optional<bool> ObjectReader::opt_bool(std::string_view key) const {
  const json::value* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_bool()) return v->get_bool();
  fail("config-type", key, "expected true or false", "bool", kind_of(*v));
}

bool ObjectReader::bool_or(std::string_view key, bool fallback) const {
  return opt_bool(key).value_or(fallback);
}

std::optional<std::string> ObjectReader::opt_string(std::string_view key) const {
  const json::value* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->get_string());
  fail("config-type", key, "expected a string", "string", kind_of(*v));
}

std::optional<ObjectReader> ObjectReader::opt_object(std::string_view key) const {
  const json::value* v = get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) fail("config-type", key, "expected an object", "object", kind_of(*v));
  return ObjectReader(v->get_object(), key_path(key), file_);
}

const json::array* ObjectReader::opt_array(std::string_view key) const {
  const json::value* v = get(key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) fail("config-type", key, "expected an array", "array", kind_of(*v));
  return &v->get_array();
}

std::vector<std::string> ObjectReader::string_list(std::string_view key) const {
  std::vector<std::string> out;
  const json::value* v = get(key);
  if (v == nullptr) return out;
  if (v->is_string()) {  // a lone string where a list was meant
    out.emplace_back(v->get_string());
    return out;
  }
  if (!v->is_array()) fail("config-type", key, "expected a list of strings", "array", kind_of(*v));
  for (const auto& e : v->get_array()) {
    if (!e.is_string())
      fail("config-type", key, "expected a list of strings", "string elements", kind_of(e));
    out.emplace_back(e.get_string());
  }
  return out;
}

std::vector<std::int64_t> ObjectReader::int_list(std::string_view key) const {
  std::vector<std::int64_t> out;
  const json::array* a = opt_array(key);
  if (a == nullptr) return out;
  for (const auto& e : *a) {
    if (!e.is_int64())
      fail("config-type", key, "expected a list of integers", "integer elements", kind_of(e));
    out.push_back(e.get_int64());
  }
  return out;
}

std::vector<std::string> ObjectReader::unread_keys() const {
  std::vector<std::string> out;
  for (const auto& kv : *o_)
    if (!read_.contains(std::string_view(kv.key()))) out.emplace_back(kv.key());
  return out;
}

json::value parse_json(std::string_view text, std::string_view file) {
  json::parse_options opt;
  opt.max_depth = 64;
  std::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) {
    diag::Diagnostic d;
    d.code = "config-json";
    d.argument = std::string(file);
    d.message = fmt::format("{}: not valid JSON ({})", file, ec.message());
    throw diag::Error(std::move(d));
  }
  return v;
}

diag::Diagnostic finding(std::string code, diag::Severity severity, std::string argument,
                         std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.severity = severity;
  d.argument = std::move(argument);
  d.message = std::move(message);
  return d;
}

}  // namespace symtrace::model::detail
