// Reference kernel of linear: plain loops, f64 accumulation, one rounding (OPS.md §15.4).
#include <symtrace/op/op_def.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

op::Outputs linear_fake(const op::Args& a, op::FakeContext& cx);  // op.cpp

op::Outputs linear_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs fake = nn::fake_of_real(linear_fake, a, "linear");
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const Tensor* bias = a.opt_tensor("bias");
  const std::vector<double> X = nn::read_f64(x), W = nn::read_f64(w);
  const std::vector<double> B = bias != nullptr ? nn::read_f64(*bias) : std::vector<double>{};
  const std::int64_t K = w.size(-1), N = w.dim() == 2 ? w.size(0) : 1, M = nn::rows(x);
  std::vector<double> y(static_cast<std::size_t>(M * N));
  for (std::int64_t m = 0; m < M; ++m) {
    for (std::int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (std::int64_t k = 0; k < K; ++k)
        s += X[static_cast<std::size_t>(m * K + k)] * W[static_cast<std::size_t>(n * K + k)];
      if (!B.empty()) s += B[B.size() == 1 ? 0 : static_cast<std::size_t>(n)];
      y[static_cast<std::size_t>(m * N + n)] = s;
    }
  }
  Tensor out = cx.alloc.output(0, nn::out_sizes(fake), x.dtype());
  nn::write_f64(out, y);
  return {out};
}

}  // namespace symtrace::ops
