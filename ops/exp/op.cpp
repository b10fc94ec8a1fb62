// exp(self) = e^self; integer and bool inputs give f32 (PyTorch's unary float ops).
#include <cmath>

#include "ops/common/unary_op.hpp"

namespace symtrace::ops {

void register_exp(op::Registry& r) {
  register_unary(r, {.name = "exp",
                     .doc = "e^self",
                     .result = UnarySpec::Result::kFloat,
                     .f64 = [](const op::Args&) { return [](double x) { return std::exp(x); }; }});
}

}  // namespace symtrace::ops
