// neg(self) = -self in self's dtype (integers wrap); bool is refused, as in PyTorch.
#include "ops/common/unary_op.hpp"

namespace symtrace::ops {

void register_neg(op::Registry& r) {
  register_unary(r, {.name = "neg",
                     .doc = "-self",
                     .result = UnarySpec::Result::kSame,
                     .bool_error = "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                                   "trying to invert a mask, use the `~` or `logical_not()` operator instead.",
                     .f64 = [](const op::Args&) { return [](double x) { return -x; }; },
                     .i64 = [](std::int64_t x) { return static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(x)); }});
}

}  // namespace symtrace::ops
