// mul(self, other) = self * other, and mul_scalar: PyTorch broadcasting and type promotion
// (refdata meta_shapes.json "mul", "mul_scalar_float", "mul_fp8_fp8"). bool * bool is logical
// and; integers wrap. Fast kernels: contiguous same-shape f32 or bf16, AVX-512 and scalar.
#include "ops/common/binary_op.hpp"

namespace symtrace::ops {
namespace {
double mul_f(double a, double b) { return a * b; }
std::int64_t mul_i(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
}  // namespace

void register_mul(op::Registry& r) {
  register_binary(r, {.name = "mul", .doc = "self * other", .f64 = mul_f, .i64 = mul_i, .fast = ewk::BinOp::kMul});
}

}  // namespace symtrace::ops
