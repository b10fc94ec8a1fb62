// linear_w16 reference: plain loops, f64 accumulation, one rounding to f32 (OPS.md §15.4), and
// the OPS.md 15.7 comparison every variant is held to.
#include <cmath>

#include "ops/linear/nn_common.hpp"
#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops::linear_w16 {
namespace {

struct Operands {
  std::vector<double> x, w, b;
  std::int64_t M, N, K;
};
Operands operands(const op::Args& a) {
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const Tensor* bias = a.opt_tensor("bias");
  return {nn::read_f64(x),
          nn::read_f64(w),
          bias != nullptr ? nn::read_f64(*bias) : std::vector<double>{},
          nn::rows(x),
          w.size(0),
          w.size(1)};
}

}  // namespace

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(fake, a, "linear_w16");
  const Operands o = operands(a);
  std::vector<double> y(static_cast<std::size_t>(o.M * o.N));
  for (std::int64_t m = 0; m < o.M; ++m)
    for (std::int64_t n = 0; n < o.N; ++n) {
      double s = 0;
      for (std::int64_t k = 0; k < o.K; ++k)
        s +=
            o.x[static_cast<std::size_t>(m * o.K + k)] * o.w[static_cast<std::size_t>(n * o.K + k)];
      if (!o.b.empty()) s += o.b[static_cast<std::size_t>(n)];
      y[static_cast<std::size_t>(m * o.N + n)] = s;
    }
  Tensor out = cx.alloc.output(0, nn::out_sizes(f), DType::kF32);
  nn::write_f64(out, y);
  return {out};
}

std::string compare(const op::Args& in, std::size_t, const Tensor& got, const Tensor& ref) {
  const Operands o = operands(in);
  std::vector<double> bound(static_cast<std::size_t>(o.M * o.N));
  for (std::int64_t m = 0; m < o.M; ++m)
    for (std::int64_t n = 0; n < o.N; ++n) {
      double s = o.b.empty() ? 0.0 : std::fabs(o.b[static_cast<std::size_t>(n)]);
      for (std::int64_t k = 0; k < o.K; ++k)
        s += std::fabs(o.x[static_cast<std::size_t>(m * o.K + k)] *
                       o.w[static_cast<std::size_t>(n * o.K + k)]);
      bound[static_cast<std::size_t>(m * o.N + n)] = nn::f32_sum_bound(o.K, s);
    }
  return nn::compare_bounded(got, ref, bound);
}

}  // namespace symtrace::ops::linear_w16
