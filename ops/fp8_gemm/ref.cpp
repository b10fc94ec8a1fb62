// fp8_gemm reference: exact decode, f64 accumulation, one rounding (OPS.md §15.4:
// y = sa[m]*sb[n]*sum_k A[m,k]*B[n,k] + bias[n]).
#include <cmath>

#include "ops/common/quantizers_op.hpp"
#include "ops/fp8_gemm/fp8_gemm.hpp"

namespace symtrace::ops::fp8_gemm {

gemm_op::RefResult ref_result(const op::Args& a) {
  const Tensor& x = a.tensor("a");
  const Tensor& b = a.tensor("b");
  const std::int64_t K = b.size(1), N = b.size(0), M = leading_numel(x);
  const std::vector<double> av = gemm_op::values(x), bv = gemm_op::values(b);
  const std::vector<double> sa = gemm_op::expand(&a.tensor("scale_a"), M);
  const std::vector<double> sb = gemm_op::expand(&a.tensor("b_scale"), N);
  const Tensor* bias = a.opt_tensor("bias");
  const std::vector<double> bs = bias ? gemm_op::values(*bias) : std::vector<double>(N, 0.0);
  gemm_op::RefResult r{M, N, std::vector<double>(M * N), std::vector<double>(M * N)};
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double acc = 0, abs_sum = 0;
      for (std::int64_t k = 0; k < K; ++k) {
        const double p = av[m * K + k] * bv[n * K + k];
        acc += p;
        abs_sum += std::fabs(p);
      }
      const double s = sa[m] * sb[n];
      r.y[m * N + n] = s * acc + bs[n];
      r.bound[m * N + n] =
          (K + 2) * std::ldexp(1.0, -24) * (std::fabs(s) * abs_sum + std::fabs(bs[n]));
    }
  return r;
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  return {
      gemm_op::write_result(cx.alloc, boost::variant2::get<TensorMeta>(metas[0]), ref_result(a))};
}

}  // namespace symtrace::ops::fp8_gemm
