// symtrace/testing.hpp — assertions for users' own tests on traced graphs, free of any test
// framework (symtrace/testing/gtest.hpp adds GoogleTest matchers on top).
//
//   graph::Graph g;  graph::Tracer tr(g);  ...trace my layer...
//   testing::ShapeBindings b;
//   auto r = testing::match_shape(x.meta(), "[B, S, H]", b);        // binds B, S, H
//   r = testing::match_shape(up.meta(), "[B, S, 2*H]", b);           // must agree
//   if (!r) std::puts(r.message.c_str());
//   testing::check_golden(g, "tests/golden/my_layer.txt");           // diff on mismatch
//
// Patterns: a bracketed, comma-separated list of dims. A bare name binds to the actual dim
// on first use within one ShapeBindings and must agree afterwards; an integer must be equal;
// an expression over names (`2*H`, `H // 128`, `S + 1`) is compared after substituting the
// bindings; `_` matches any one dim; `*` (first position only) matches any number of
// leading dims. Two dims agree when they are the same expression, or when the graph's
// ShapeEnv proves them equal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/graph/graph.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::testing {

// The result of a check: ok, or a message that says what was expected, what was found and
// why they differ. Converts to bool.
struct CheckResult {
  bool ok = true;
  std::string message;
  explicit operator bool() const { return ok; }
  static CheckResult pass() { return {}; }
  static CheckResult failure(std::string m) { return {false, std::move(m)}; }
};

// Names bound by earlier patterns, with where each was bound (for messages).
class ShapeBindings {
 public:
  std::optional<sym::SymInt> get(std::string_view name) const;
  void bind(std::string name, sym::SymInt value, std::string where);
  std::string where(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted
  void clear() { values_.clear(); }

 private:
  struct Bound {
    sym::SymInt value;
    std::string where;
  };
  std::map<std::string, Bound, std::less<>> values_;
};

// Matches a symbolic shape against a pattern; binds new names into `bindings` only when
// the whole pattern matches. `env` (optional) proves equalities that are not syntactic.
// A malformed pattern is a failure whose message points at the column.
CheckResult match_shape(const tensor::SymShape& shape, std::string_view pattern,
                        ShapeBindings& bindings, const sym::ShapeEnv* env = nullptr);
CheckResult match_shape(const tensor::TensorMeta& meta, std::string_view pattern,
                        ShapeBindings& bindings, const sym::ShapeEnv* env = nullptr);

// --- traced graphs --------------------------------------------------------------------------

// The output meta of the module at `path`: the first output of the last live op node whose
// module path is exactly `path`. nullopt (with why in *why) when there is none.
std::optional<tensor::TensorMeta> output_at(const graph::Graph& g, std::string_view path,
                                            std::string* why = nullptr);
CheckResult check_shape_at(const graph::Graph& g, std::string_view path,
                           std::string_view pattern, ShapeBindings& bindings);

// No error or warning findings (notes are allowed). The message lists them, rendered.
CheckResult check_no_findings(const graph::Graph& g);
// Some finding with this code ("" = any code) whose node's module path contains `path_part`
// ("" = any path).
CheckResult check_finding(const graph::Graph& g, std::string_view code,
                          std::string_view path_part = {});
// No guards were recorded: the graph holds for every size its symbols' facts allow. A
// guard such as `S == B*S` (recorded when [B*S, N] meets [B, S, N] in a broadcast) holds only
// for B == 1; the message lists each guard with its reason and the node that recorded it.
CheckResult check_no_guards(const graph::Graph& g);
// The kernel chosen for the (last) op node at `path` is `kernel` ("linear.avx512_bf16").
CheckResult check_kernel(const graph::Graph& g, std::string_view path, std::string_view kernel);
// Why the kernel at `path` was chosen: chosen kernel and every rejected variant's reason.
std::string explain_kernel(const graph::Graph& g, std::string_view path);

// --- golden graphs ------------------------------------------------------------------------

// A stable, readable dump: one line per live node —
//   model.layers.0.mlp.up  linear  (bf16[B, S, H], bf16[I, H]) -> bf16[B, S, I]  [linear.avx512_bf16]
// Inputs, parameters, states and outputs appear as `input x : bf16[B, S, H]`. No addresses,
// source lines or hash order; kernels are shown as chosen (run select_kernels first to see
// them; before that the column reads "-"). The chosen kernel depends on the CPU; pass
// `with_kernels = false` for a dump that is the same on every machine.
std::string golden_text(const graph::Graph& g, bool with_kernels = false);

// Compares `actual` with the file at `path`. On a mismatch the message holds a unified diff
// (expected = file, actual = new text). With SYMTRACE_UPDATE_GOLDEN=1 in the environment the
// file is (re)written and the check passes; a missing file fails unless updating.
CheckResult check_golden_text(const std::string& actual, const std::filesystem::path& path);
CheckResult check_golden(const graph::Graph& g, const std::filesystem::path& path,
                         bool with_kernels = false);

// A unified diff (3 lines of context) of two texts, "" when equal.
std::string unified_diff(std::string_view expected, std::string_view actual,
                         std::string_view expected_name = "expected",
                         std::string_view actual_name = "actual");

}  // namespace symtrace::testing
