// `symtrace ops`: the op registry from the command line.
//
//   symtrace ops [--json]          every op: schema, one-line doc, kernels
//   symtrace ops NAME [--json]     one op: schema, constraints, and each kernel's ISA, whether
//                                  this CPU runs it, and its applicability rule
#include <algorithm>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <symtrace/ops.hpp>

#include "cli/command.hpp"

namespace symtrace::cli::ops_cmd {
namespace {

namespace json = boost::json;

constexpr std::string_view kUsage =
    "usage: symtrace ops [--json]\n"
    "       symtrace ops NAME [--json]\n";

std::string kernel_list(const op::OpDef& d) {
  std::string out;
  for (const op::Variant& v : d.variants) out += fmt::format("{} [{}], ", v.name, op::isa_name(v.isa));
  return out + "reference";
}

// Edit distance, to suggest the op a user probably meant.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

json::object op_json(const op::OpDef& d, bool detail) {
  json::object o;
  o["name"] = d.name;
  o["schema"] = d.schema.str();
  o["doc"] = d.doc;
  o["view"] = d.is_view;
  json::array kernels;
  for (const op::Variant& v : d.variants) {
    json::object k;
    k["name"] = v.name;
    k["isa"] = std::string(op::isa_name(v.isa));
    if (detail) {
      k["available"] = op::cpu_supports(v.isa);
      k["rule"] = v.rule;
      if (v.prepare) k["prepare"] = v.prepare->name;
    }
    kernels.push_back(std::move(k));
  }
  json::object ref;
  ref["name"] = "reference";
  ref["isa"] = "scalar";
  if (detail) {
    ref["available"] = true;
    ref["rule"] = "any call the fake accepts";
  }
  kernels.push_back(std::move(ref));
  o["kernels"] = std::move(kernels);
  if (detail) {
    json::array c;
    for (const std::string& s : d.constraints) c.push_back(json::string(s));
    o["constraints"] = std::move(c);
  }
  return o;
}

std::string list_text(const op::Registry& r) {
  std::string out;
  for (const op::OpDef* d : r.all()) {
    out += fmt::format("{}\n", d->schema.str());
    if (!d->doc.empty()) out += fmt::format("    {}\n", d->doc);
    out += fmt::format("    kernels: {}\n", kernel_list(*d));
  }
  return out + fmt::format("{} ops\n", r.all().size());
}

std::string detail_text(const op::OpDef& d) {
  std::string out = fmt::format("{}\n", d.schema.str());
  if (!d.doc.empty()) out += fmt::format("  {}{}\n", d.doc, d.is_view ? " (a view: outputs alias inputs)" : "");
  if (!d.constraints.empty()) {
    out += "constraints:\n";
    for (const std::string& c : d.constraints) out += fmt::format("  {}\n", c);
  }
  out += "kernels, in the order they are tried:\n";
  for (const op::Variant& v : d.variants) {
    out += fmt::format("  {:<28} {:<12} {}\n", v.name, op::isa_name(v.isa),
                       op::cpu_supports(v.isa) ? "available" : "not on this CPU (or capped by SYMTRACE_ISA)");
    out += fmt::format("      when: {}\n", v.rule.empty() ? "always" : v.rule);
    if (v.prepare) out += fmt::format("      prepare: {} (rewrites {})\n", v.prepare->name, fmt::join(v.prepare->rewrites, ", "));
  }
  out += fmt::format("  {:<28} {:<12} available\n      when: any call the fake accepts\n", "reference", "scalar");
  return out;
}

}  // namespace

int run(std::span<const std::string> args, std::string& out, std::string& err) {
  bool as_json = false;
  std::vector<std::string> names;
  for (const std::string& a : args) {
    if (a == "--json") {
      as_json = true;
    } else if (a == "-h" || a == "--help") {
      out += kUsage;
      return kExitClean;
    } else if (a.starts_with("-")) {
      err += fmt::format("symtrace ops: unknown option '{}'\n{}", a, kUsage);
      return kExitBadInput;
    } else {
      names.push_back(a);
    }
  }
  if (names.size() > 1) {
    err += fmt::format("symtrace ops: one op name at most\n{}", kUsage);
    return kExitBadInput;
  }
  const op::Registry& r = ops::registry();
  if (names.empty()) {
    if (!as_json) {
      out += list_text(r);
      return kExitClean;
    }
    json::array all;
    for (const op::OpDef* d : r.all()) all.push_back(op_json(*d, false));
    out += json::serialize(all) + "\n";
    return kExitClean;
  }
  const op::OpDef* d = r.find(names[0]);
  if (!d) {
    std::vector<std::pair<std::size_t, std::string>> near;
    for (const op::OpDef* o : r.all()) near.emplace_back(distance(names[0], o->name), o->name);
    std::sort(near.begin(), near.end());
    std::string hint;
    for (std::size_t i = 0; i < near.size() && i < 3 && near[i].first <= 3; ++i) {
      if (i) hint += ", ";
      hint += near[i].second;
    }
    err += fmt::format("error[unknown-op]: no op named '{}'{}\n", names[0],
                       hint.empty() ? "" : fmt::format(" (did you mean {}?)", hint));
    return kExitBadInput;
  }
  out += as_json ? json::serialize(op_json(*d, true)) + "\n" : detail_text(*d);
  return kExitClean;
}

}  // namespace symtrace::cli::ops_cmd

#ifndef SYMTRACE_OPS_CMD_NO_REGISTER  // tests call ops_cmd::run directly
namespace {
int run_ops(std::span<const std::string> args) {
  std::string out, err;
  const int rc = symtrace::cli::ops_cmd::run(args, out, err);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fwrite(err.data(), 1, err.size(), stderr);
  return rc;
}
const symtrace::cli::RegisterCommand reg{{"ops", "list the registered ops, their schemas and kernels", &run_ops}};
}  // namespace
#endif
