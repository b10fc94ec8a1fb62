// block_fp8_gemm reference (OPS.md §15.4): activations quantized per 1 x bk group with the
// scalar quantizer (bit-identical to every ISA path), then in f64
//   y[m,n] = sum_j xs[m,j] * ws[n/bn, j] * sum_{k in j} XQ[m,k] * W[n,k] + bias[n].
#include <cmath>

#include "ops/block_fp8_gemm/block_fp8.hpp"
#include "ops/common/quantizers.hpp"
#include "ops/common/quantizers_op.hpp"

namespace symtrace::ops::block_fp8_gemm {

gemm_op::RefResult ref_result(const op::Args& a, bool pow2_act) {
  const Config c = config(a);
  const Tensor x = a.tensor("x").contiguous();
  const Tensor& w = a.tensor("w");
  const std::int64_t K = w.size(1), N = w.size(0), M = leading_numel(x);
  const std::int64_t G = (K + c.bk - 1) / c.bk;
  std::vector<double> xv(M * K), xs(M * G, 1.0);
  if (c.quantize_act && M > 0) {
    std::vector<std::uint8_t> q(M * K);
    std::vector<float> s(M * G);
    quant::fp8_dynamic_group(quant::Rows{x.data_ptr(), x.dtype(), M, K, K}, c.bk, pow2_act,
                             q.data(), K, quant::GroupScales{s.data(), nullptr, G, 1}, 1,
                             &quant::row_kernels_scalar());
    for (std::int64_t i = 0; i < M * K; ++i) xv[i] = quant::e4m3fn_decode(q[i]);
    for (std::int64_t i = 0; i < M * G; ++i) xs[i] = s[i];
  } else {
    xv = gemm_op::values(x);
  }
  const std::vector<double> wv = gemm_op::values(w), ws = gemm_op::values(a.tensor("w_scale"));
  const Tensor* bias = a.opt_tensor("bias");
  const std::vector<double> bs = bias ? gemm_op::values(*bias) : std::vector<double>(N, 0.0);
  gemm_op::RefResult r{M, N, std::vector<double>(M * N), std::vector<double>(M * N)};
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double acc = 0, abs_sum = 0;
      for (std::int64_t j = 0; j < G; ++j) {
        const double s = xs[m * G + j] * ws[(n / c.bn) * G + j];
        double p = 0, pa = 0;
        for (std::int64_t k = j * c.bk; k < std::min(K, (j + 1) * c.bk); ++k) {
          p += xv[m * K + k] * wv[n * K + k];
          pa += std::fabs(xv[m * K + k] * wv[n * K + k]);
        }
        acc += s * p;
        abs_sum += std::fabs(s) * pa;
      }
      r.y[m * N + n] = acc + bs[n];
      r.bound[m * N + n] = (K + 2) * std::ldexp(1.0, -24) * (abs_sum + std::fabs(bs[n]));
    }
  return r;
}

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  return {gemm_op::write_result(cx.alloc, boost::variant2::get<TensorMeta>(metas[0]),
                                ref_result(a, false))};
}

}  // namespace symtrace::ops::block_fp8_gemm
