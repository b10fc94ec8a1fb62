// Golden graph dumps and a small unified diff for their mismatch messages.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <symtrace/op/value.hpp>
#include <symtrace/testing.hpp>

namespace symtrace::testing {
namespace {

std::string meta_text(const tensor::TensorMeta& m) {
  std::string s = fmt::format("{}{}", tensor::name(m.dtype), m.shape_str());
  const tensor::SymShape contiguous = tensor::TensorMeta::contiguous_strides(m.sizes);
  bool plain = m.storage_offset.identical(sym::SymInt(0));
  for (std::size_t i = 0; plain && i < m.strides.size(); ++i)
    plain = m.strides[i].identical(contiguous[i]) || m.sizes[i].identical(sym::SymInt(1));
  if (!plain) {
    s += fmt::format(" strides {}", tensor::shape_str(m.strides));
    if (!m.storage_offset.identical(sym::SymInt(0))) s += fmt::format(" offset {}", m.storage_offset.str());
  }
  if (m.layout != tensor::WeightLayout::kNone) s += fmt::format(" {}", tensor::weight_layout_name(m.layout));
  if (m.scale_fmt != tensor::ScaleFormat::kNone) s += fmt::format(" {}", tensor::scale_format_name(m.scale_fmt));
  return s;
}

std::string ref_text(graph::ValueRef v) {
  return v.port == 0 ? fmt::format("%{}", v.node) : fmt::format("%{}.{}", v.node, v.port);
}

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    std::size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

std::string golden_text(const graph::Graph& g, bool with_kernels) {
  std::string out;
  for (graph::NodeId id = 0; id < g.size(); ++id) {
    const graph::Node& n = g.node(id);
    if (n.dead) continue;
    std::string line = fmt::format("%{} ", id);
    switch (n.kind) {
      case graph::NodeKind::kInput:
      case graph::NodeKind::kState:
        line += fmt::format("{} {} : {}", graph::node_kind_name(n.kind), g.name(id),
                            meta_text(n.outputs.front().meta));
        break;
      case graph::NodeKind::kParameter: {
        const graph::ParamInfo* p = g.param(id);
        line += fmt::format("param {} : {} ({}", g.name(id), meta_text(n.outputs.front().meta),
                            graph::param_role_name(p->role));
        if (p->granularity != graph::Granularity::kNone)
          line += fmt::format(", {}", graph::granularity_name(p->granularity));
        if (p->weight != graph::kNoNode) line += fmt::format(", of %{}", p->weight);
        line += ")";
        break;
      }
      case graph::NodeKind::kOutput:
        line += fmt::format("output {} = {}", g.name(id), ref_text(n.inputs.front().value));
        break;
      case graph::NodeKind::kOp: {
        std::vector<std::string> args;
        for (const graph::Input& in : n.inputs)
          args.push_back(fmt::format("{}: {}", ref_text(in.value), meta_text(g.meta(in.value))));
        for (const graph::Attr& a : n.attrs)
          args.push_back(fmt::format("{}={}", n.op->schema.args[a.arg].name, op::value_str(a.value)));
        std::vector<std::string> outs;
        for (const graph::Port& p : n.outputs) outs.push_back(p.present ? meta_text(p.meta) : "None");
        line += fmt::format("= {}({}) -> {}  @ {}", n.op->name, fmt::join(args, ", "),
                            outs.size() == 1 ? outs.front() : fmt::format("({})", fmt::join(outs, ", ")),
                            g.module(id).empty() ? "<root>" : g.module(id));
        if (n.poisoned) line += "  !poisoned";
        if (with_kernels) line += fmt::format("  [{}]", g.selection(id) ? g.kernel_name(id) : "-");
        break;
      }
    }
    line += '\n';
    out += line;
  }
  return out;
}

std::string unified_diff(std::string_view expected, std::string_view actual,
                         std::string_view expected_name, std::string_view actual_name) {
  if (expected == actual) return {};
  std::vector<std::string_view> a = split_lines(expected), b = split_lines(actual);
  const std::size_t n = a.size(), m = b.size();
  // LCS table from the end; goldens are at most a few thousand lines.
  std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  struct Line {
    char tag;  // ' ', '-', '+'
    std::string_view text;
    std::size_t ia, ib;  // line numbers (0-based) in a and b before this line
  };
  std::vector<Line> script;
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      script.push_back({' ', a[i], i, j});
      ++i, ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      script.push_back({'-', a[i], i, j});  // deletions first, as diff -u prints them
      ++i;
    } else {
      script.push_back({'+', b[j], i, j});
      ++j;
    }
  }
  constexpr std::size_t kContext = 3;
  std::string out = fmt::format("--- {}\n+++ {}\n", expected_name, actual_name);
  std::size_t k = 0;
  while (k < script.size()) {
    if (script[k].tag == ' ') {
      ++k;
      continue;
    }
    std::size_t begin = k >= kContext ? k - kContext : 0, end = k;
    // Extend the hunk while changes are within 2*context of each other.
    for (std::size_t last_change = k; end < script.size(); ++end) {
      if (script[end].tag != ' ') last_change = end;
      if (end - last_change > 2 * kContext) break;
    }
    std::size_t last = end;
    while (last > begin && script[last - 1].tag == ' ' && end - last < kContext + 1) --last;
    end = std::min(script.size(), last + kContext);
    std::size_t a_len = 0, b_len = 0;
    for (std::size_t t = begin; t < end; ++t) {
      if (script[t].tag != '+') ++a_len;
      if (script[t].tag != '-') ++b_len;
    }
    out += fmt::format("@@ -{},{} +{},{} @@\n", script[begin].ia + (a_len ? 1 : 0), a_len,
                       script[begin].ib + (b_len ? 1 : 0), b_len);
    for (std::size_t t = begin; t < end; ++t) out += fmt::format("{}{}\n", script[t].tag, script[t].text);
    k = end;
  }
  return out;
}

CheckResult check_golden_text(const std::string& actual, const std::filesystem::path& path) {
  const char* update = std::getenv("SYMTRACE_UPDATE_GOLDEN");
  if (update != nullptr && std::string_view(update) == "1") {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream f(path, std::ios::binary);
    f << actual;
    if (!f) return CheckResult::failure(fmt::format("cannot write golden file {}", path.string()));
    return CheckResult::pass();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return CheckResult::failure(fmt::format(
        "golden file {} is missing; run with SYMTRACE_UPDATE_GOLDEN=1 to create it", path.string()));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string expected = ss.str();
  if (expected == actual) return CheckResult::pass();
  return CheckResult::failure(
      fmt::format("graph differs from golden file {} (SYMTRACE_UPDATE_GOLDEN=1 accepts it):\n{}",
                  path.string(), unified_diff(expected, actual, path.string(), "traced graph")));
}

CheckResult check_golden(const graph::Graph& g, const std::filesystem::path& path, bool with_kernels) {
  return check_golden_text(golden_text(g, with_kernels), path);
}

}  // namespace symtrace::testing
