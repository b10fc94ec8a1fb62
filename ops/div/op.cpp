// div(self, other) = self / other, true division: integer and bool operands give the default
// float dtype (f32), as PyTorch (refdata "div"); x / 0 is inf or NaN.
#include "ops/common/binary_op.hpp"

namespace symtrace::ops {
namespace {
double div_f(double a, double b) { return a / b; }
// Never reached: true division always has a float result.
std::int64_t div_i(std::int64_t a, std::int64_t) { return a; }
}  // namespace

void register_div(op::Registry& r) {
  register_binary(r, {.name = "div", .doc = "self / other (true division)", .f64 = div_f, .i64 = div_i,
                      .true_division = true});
}

}  // namespace symtrace::ops
