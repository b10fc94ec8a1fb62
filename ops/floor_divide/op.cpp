// floor_divide(self, other) = floor(self / other), rounding toward -inf (Python's //), with
// PyTorch's promotion (refdata "floor_divide": int32 // int8 stays int32). Floats follow
// PyTorch's div_floor (fmod-based, so the result is exact where a / b would round); an integer
// division by zero is an error, as in PyTorch.
#include <cmath>
#include <limits>

#include "ops/common/binary_op.hpp"

namespace symtrace::ops {
namespace {

double floordiv_f(double a, double b) {
  if (b == 0) return a / b;
  const double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;
  if (div == 0) return std::copysign(0.0, a / b);
  double floordiv = std::floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}

std::int64_t floordiv_i(std::int64_t a, std::int64_t b) {
  if (b == 0) diag::fail("division-by-zero", "floor_divide: integer division by zero");
  if (a == std::numeric_limits<std::int64_t>::min() && b == -1) return a;  // wraps, as in PyTorch
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

void register_floor_divide(op::Registry& r) {
  register_binary(r, {.name = "floor_divide", .doc = "floor(self / other)", .f64 = floordiv_f,
                      .i64 = floordiv_i, .divisor_lo = 1});
}

}  // namespace symtrace::ops
