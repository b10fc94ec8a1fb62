// `symtrace make-examples OUTDIR [NAME...]`: writes the bundled example checkpoints
// (config.json + model.safetensors each, docs/checkpoints.md); `--list` names them.
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <symtrace/model/checkpoint_writer.hpp>

#include "cli/command.hpp"

namespace {

using symtrace::model::example_checkpoints;
using symtrace::model::ExampleCheckpoint;

constexpr std::string_view kUsage =
    "usage: symtrace make-examples OUTDIR [NAME...]   write all (or the named) examples\n"
    "       symtrace make-examples --list             list them with what a checker must find\n";

std::string describe(const ExampleCheckpoint& e) {
  return e.clean() ? std::string("clean")
                   : fmt::format("broken: {} on {}", e.expect_code, e.expect_argument);
}

int run_make_examples(std::span<const std::string> args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    fmt::print(args.empty() ? stderr : stdout, "{}", kUsage);
    return args.empty() ? symtrace::cli::kExitBadInput : symtrace::cli::kExitClean;
  }
  if (args[0] == "--list") {
    for (const auto& e : example_checkpoints())
      fmt::print("{:<26} {}\n{:<26} ({})\n", e.name, e.summary, "", describe(e));
    return symtrace::cli::kExitClean;
  }
  const std::filesystem::path outdir = args[0];
  std::vector<std::string> names(args.begin() + 1, args.end());
  if (names.empty())
    for (const auto& e : example_checkpoints()) names.push_back(e.name);
  for (const auto& name : names) {
    symtrace::model::write_example_checkpoint(name, outdir);  // diag::Error -> exit 2 in main
    for (const auto& e : example_checkpoints())
      if (e.name == name) fmt::print("wrote {}  ({})\n", (outdir / name).string(), describe(e));
  }
  return symtrace::cli::kExitClean;
}

symtrace::cli::RegisterCommand reg{
    {"make-examples", "write the bundled example checkpoints (clean and broken)", &run_make_examples}};

}  // namespace
