// Minimal JSON writing for the graph's exports (Boost.JSON is left to the model layer, which
// links it; these outputs are flat and written in a fixed order).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace symtrace::graph {

// Appends s as a JSON string literal (quotes, escapes, UTF-8 passed through).
void json_string(std::string& out, std::string_view s);
std::string json_quote(std::string_view s);
// ["a","b"]
std::string json_strings(const std::vector<std::string>& v);

class Graph;
// The "findings" array of findings_json (shared with to_json).
void write_findings(std::string& out, const Graph& g);

}  // namespace symtrace::graph
