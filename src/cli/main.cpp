#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>

#include "cli/command.hpp"

namespace symtrace::cli {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

namespace {
void usage(std::FILE* to) {
  fmt::print(to, "usage: symtrace <command> [args]\n\ncommands:\n");
  auto cmds = commands();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (const auto& c : cmds) fmt::print(to, "  {:<8} {}\n", c.name, c.summary);
}
}  // namespace

}  // namespace symtrace::cli

int main(int argc, char** argv) {
  using namespace symtrace::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    usage(args.empty() ? stderr : stdout);
    return args.empty() ? kExitBadInput : kExitClean;
  }
  for (const auto& c : commands()) {
    if (c.name != args[0]) continue;
    try {
      return c.run(std::span<const std::string>(args).subspan(1));
    } catch (const symtrace::diag::Error& e) {
      fmt::print(stderr, "{}\n", symtrace::diag::render(e.diagnostic()));
      return kExitBadInput;
    } catch (const std::exception& e) {
      fmt::print(stderr, "symtrace: {}\n", e.what());
      return kExitBadInput;
    }
  }
  fmt::print(stderr, "symtrace: unknown command '{}'\n", args[0]);
  usage(stderr);
  return kExitBadInput;
}
