// silu(self) = self / (1 + e^-self) (OPS.md 11.4's silu alone; refdata "silu"), floats only.
#include <cmath>

#include "ops/common/unary_op.hpp"

namespace symtrace::ops {

void register_silu(op::Registry& r) {
  register_unary(r, {.name = "silu",
                     .doc = "self * sigmoid(self)",
                     .result = UnarySpec::Result::kFloatOnly,
                     .f64 = [](const op::Args&) { return [](double x) { return x / (1 + std::exp(-x)); }; }});
}

}  // namespace symtrace::ops
