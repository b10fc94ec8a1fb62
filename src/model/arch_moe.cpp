// Routed experts (Mixtral, Qwen3-MoE, DeepSeek-V3).
#include <fmt/format.h>

#include "model/arch_layers.hpp"

namespace symtrace::model::detail {

Traced moe_block(ArchBuilder& b, const std::string& layer, const Traced&) {
  diag::fail("config", fmt::format("{}: {} experts are not traced yet", layer,
                                   architecture_name(b.cfg().arch)));
}

}  // namespace symtrace::model::detail
