// fp8_gemm_w8a16 reference: y[m,n] = sw[n] * sum_k x[m,k] * W[n,k] + bias[n] in f64, one
// rounding to x's dtype (OPS.md §15.4). Reads the canonical NK bundle.
#include <cmath>

#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm_w8a16/w8a16.hpp"

namespace symtrace::ops::fp8_gemm_w8a16 {

gemm_op::RefResult ref_result(const op::Args& a) {
  const Tensor& x = a.tensor("x");
  const Tensor& w = a.tensor("w");
  const std::int64_t K = w.size(1), N = w.size(0), M = leading_numel(x);
  const std::vector<double> xv = gemm_op::values(x), wv = gemm_op::values(w);
  const std::vector<double> sw = gemm_op::expand(&a.tensor("w_scale"), N);
  const Tensor* bias = a.opt_tensor("bias");
  const std::vector<double> bs = bias ? gemm_op::values(*bias) : std::vector<double>(N, 0.0);
  gemm_op::RefResult r{M, N, std::vector<double>(M * N), std::vector<double>(M * N)};
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double acc = 0, abs_sum = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        const double p = xv[m * K + k] * wv[n * K + k];
        acc += p;
        abs_sum += std::fabs(p);
      }
      r.y[m * N + n] = sw[n] * acc + bs[n];
      r.bound[m * N + n] =
          (K + 2) * std::ldexp(1.0, -24) * (std::fabs(sw[n]) * abs_sum + std::fabs(bs[n]));
    }
  return r;
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  return {
      gemm_op::write_result(cx.alloc, boost::variant2::get<TensorMeta>(metas[0]), ref_result(a))};
}

}  // namespace symtrace::ops::fp8_gemm_w8a16
