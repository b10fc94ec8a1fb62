// Subcommands of the `symtrace` executable register themselves here, one file each
// (cmd_sym.cpp, cmd_ops.cpp, ...). Exit codes: 0 clean, 1 findings, 2 bad input or usage.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace symtrace::cli {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<const std::string> args);  // args after the subcommand name
};

std::vector<Command>& commands();

struct RegisterCommand {
  explicit RegisterCommand(Command c) { commands().push_back(c); }
};

inline constexpr int kExitClean = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitBadInput = 2;

}  // namespace symtrace::cli
