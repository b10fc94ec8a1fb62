// add(self, other) = self + other, and add_scalar(self, other) with a Python number: PyTorch
// broadcasting and type promotion (OPS.md 11.6; refdata meta_shapes.json has all 8×8 dtype
// pairs, Python scalars and 0-d tensors). bool + bool is logical or; integers wrap.
// Fast kernels (ops/common/ew_kernels*): contiguous same-shape f32 or bf16, AVX-512 and scalar.
#include "ops/common/binary_op.hpp"

namespace symtrace::ops {
namespace {
double add_f(double a, double b) { return a + b; }
std::int64_t add_i(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
}  // namespace

void register_add(op::Registry& r) {
  register_binary(r, {.name = "add", .doc = "self + other", .f64 = add_f, .i64 = add_i, .fast = ewk::BinOp::kAdd});
}

}  // namespace symtrace::ops
