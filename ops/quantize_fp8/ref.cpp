// quantize_fp8 reference: plain loops over any strides, the scalar formulas of OPS.md §15.3.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/common/quantizers_op.hpp"
#include "ops/quantize_fp8/quantize_fp8.hpp"

namespace symtrace::ops::quantize_fp8 {

namespace v2 = boost::variant2;

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const Config c = config(a);
  const tensor::Tensor& x = a.tensor("x");
  tensor::Tensor q = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor s = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  const std::vector<std::int64_t> rows = qop::row_offsets(x);
  const auto M = static_cast<std::int64_t>(rows.size());
  const std::int64_t K = x.size(-1), xs = x.stride(-1);
  const auto xv = [&](std::int64_t m, std::int64_t k) {
    return quant::load_f32(x.data_ptr(), x.dtype(), rows[static_cast<std::size_t>(m)] + k * xs);
  };
  auto* qp = q.data<std::uint8_t>();
  auto* sp = s.data<float>();
  const auto absmax = [&](std::int64_t m, std::int64_t k0, std::int64_t k1) {
    float amax = 0.f;
    for (std::int64_t k = k0; k < k1; ++k) {
      const float v = std::fabs(xv(m, k));
      if (std::isnan(v)) return std::numeric_limits<float>::quiet_NaN();
      amax = std::max(amax, v);
    }
    return amax;
  };

  switch (c.mode) {
    case Mode::kStatic: {
      const tensor::Tensor& given = a.tensor("scale");
      const std::int64_t n = given.numel();
      for (std::int64_t i = 0; i < n; ++i)
        sp[i] = static_cast<float>(given.item(std::vector<std::int64_t>{i}));
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t k = 0; k < K; ++k)
          qp[m * K + k] = quant::e4m3fn_encode_sat(xv(m, k) / sp[n == 1 ? 0 : k]);
      break;
    }
    case Mode::kTensor: {
      float amax = 0.f;
      for (std::int64_t m = 0; m < M && !std::isnan(amax); ++m) {
        const float r = absmax(m, 0, K);
        amax = std::isnan(r) ? r : std::max(amax, r);
      }
      sp[0] = quant::fp8_tensor_scale(amax);
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t k = 0; k < K; ++k)
          qp[m * K + k] = quant::e4m3fn_encode_sat(xv(m, k) / sp[0]);
      break;
    }
    case Mode::kToken:
      for (std::int64_t m = 0; m < M; ++m) {
        sp[m] = quant::fp8_token_scale(absmax(m, 0, K), c.ub);
        for (std::int64_t k = 0; k < K; ++k)
          qp[m * K + k] = quant::e4m3fn_encode_sat(xv(m, k) / sp[m]);
      }
      break;
    case Mode::kGroup: {
      const std::int64_t G = (K + c.group - 1) / c.group;
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t j = 0; j < G; ++j) {
          const std::int64_t k0 = j * c.group, k1 = std::min(K, k0 + c.group);
          const float sc = quant::fp8_group_scale(absmax(m, k0, k1), c.pow2);
          sp[c.col_major ? m + j * M : m * G + j] = sc;
          for (std::int64_t k = k0; k < k1; ++k)
            qp[m * K + k] = quant::e4m3fn_encode_sat(xv(m, k) / sc);
        }
      break;
    }
  }
  return {q, s};
}

}  // namespace symtrace::ops::quantize_fp8
