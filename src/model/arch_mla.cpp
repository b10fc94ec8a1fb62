// DeepSeek-V3 multi-head latent attention.
#include <fmt/format.h>

#include "model/arch_layers.hpp"

namespace symtrace::model::detail {

Traced mla_attention(ArchBuilder&, const Context&, const std::string& p, const Traced&) {
  diag::fail("config", fmt::format("{}: multi-head latent attention is not traced yet", p));
}

}  // namespace symtrace::model::detail
