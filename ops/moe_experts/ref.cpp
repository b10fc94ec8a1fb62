// moe_experts reference: for every token and each of its k routes (expert e, weight w),
// h = W13[e] · x in f64, a = silu(h[:I]) · h[I:], y = w · (W2[e] · a); the token's output is
// the sum of its y in route order, rounded once to f32.
#include <cmath>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>

#include "ops/common/quantizers.hpp"
#include "ops/moe_experts/moe_experts.hpp"

namespace symtrace::ops::moe_experts {

namespace {

double at(const tensor::Tensor& t, std::int64_t i0, std::int64_t i1, std::int64_t i2) {
  return quant::load_f32(t.data_ptr(), t.dtype(), i0 * t.stride(0) + i1 * t.stride(1) + i2 * t.stride(2));
}

}  // namespace

void reference_experts(const op::Args& a, const Routes& r, tensor::Tensor& out) {
  const tensor::Tensor& x = a.tensor("x");
  const tensor::Tensor& w13 = a.tensor("w13");
  const tensor::Tensor& w2 = a.tensor("w2");
  const std::int64_t E = w13.size(0), H = w13.size(2), I = w2.size(2);
  const tensor::Tensor xc = x.contiguous();
  const float* xv = xc.data<float>();
  float* o = out.data<float>();
  std::vector<double> h(static_cast<std::size_t>(2 * I)), sum(static_cast<std::size_t>(H));
  for (std::int64_t t = 0; t < r.M; ++t) {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::int64_t j = 0; j < r.k; ++j) {
      const std::int32_t e = r.ids[t * r.k + j];
      if (e < 0 || e >= E) diag::fail("value", "moe_experts: topk_ids holds an expert id outside [0, E)");
      const double wt = r.w[t * r.k + j];
      for (std::int64_t n = 0; n < 2 * I; ++n) {
        double s = 0;
        for (std::int64_t c = 0; c < H; ++c) s += at(w13, e, n, c) * static_cast<double>(xv[t * H + c]);
        h[static_cast<std::size_t>(n)] = s;
      }
      for (std::int64_t i = 0; i < I; ++i) {
        const double g = h[static_cast<std::size_t>(i)];
        h[static_cast<std::size_t>(i)] = g / (1.0 + std::exp(-g)) * h[static_cast<std::size_t>(I + i)];
      }
      for (std::int64_t n = 0; n < H; ++n) {
        double s = 0;
        for (std::int64_t i = 0; i < I; ++i) s += at(w2, e, n, i) * h[static_cast<std::size_t>(i)];
        sum[static_cast<std::size_t>(n)] += wt * s;
      }
    }
    for (std::int64_t n = 0; n < H; ++n) o[t * H + n] = static_cast<float>(sum[static_cast<std::size_t>(n)]);
  }
}

}  // namespace symtrace::ops::moe_experts
