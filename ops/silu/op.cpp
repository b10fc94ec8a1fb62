// silu(self) = self / (1 + e^-self) (OPS.md 11.4's silu alone; refdata "silu"), floats only.
#include <cmath>

#include "ops/common/unary_op.hpp"

namespace symtrace::ops {

void register_silu(op::Registry& r) {
  register_unary(r, {.name = "silu",
                     .doc = "self * sigmoid(self)",
                     .result = UnarySpec::Result::kFloatOnly,
                     .f64 = [](const op::Args&) { return [](double x) { return x / (1 + std::exp(-x)); }; },
                     .fast = ewk::UnaryOp::kSilu,
                     // f32 exp differs from the f64 reference by a few ulps; bf16 may then
                     // round one ulp apart.
                     .fast_tolerance = ew::ulp_tolerance(/*f32_ulps=*/8, /*half_ulps=*/1, /*atol=*/1e-30)});
}

}  // namespace symtrace::ops
