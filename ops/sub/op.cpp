// sub(self, other) = self - other, and sub_scalar: PyTorch broadcasting and type promotion;
// integers wrap; bool operands are refused, as PyTorch does.
#include "ops/common/binary_op.hpp"

namespace symtrace::ops {
namespace {
double sub_f(double a, double b) { return a - b; }
std::int64_t sub_i(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
}  // namespace

void register_sub(op::Registry& r) {
  register_binary(r, {.name = "sub",
                      .doc = "self - other",
                      .f64 = sub_f,
                      .i64 = sub_i,
                      .bool_error = "Subtraction, the `-` operator, with a bool tensor is not supported. If "
                                    "you are trying to invert a mask, use the `~` or `logical_not()` operator "
                                    "instead."});
}

}  // namespace symtrace::ops
