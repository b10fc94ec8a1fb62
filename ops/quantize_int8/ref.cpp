// quantize_int8 reference: plain loops over any strides, the scalar formulas of OPS.md §15.3.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/common/quantizers_op.hpp"
#include "ops/quantize_int8/quantize_int8.hpp"

namespace symtrace::ops::quantize_int8 {

namespace v2 = boost::variant2;

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const Config c = config(a);
  const tensor::Tensor& x = a.tensor("x");
  tensor::Tensor q = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor s = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  tensor::Tensor z;
  if (!c.symmetric) z = qop::alloc_like(cx.alloc, 2, v2::get<TensorMeta>(metas[2]));
  const std::vector<std::int64_t> rows = qop::row_offsets(x);
  const auto M = static_cast<std::int64_t>(rows.size());
  const std::int64_t K = x.size(-1), xs = x.stride(-1);
  const auto xv = [&](std::int64_t m, std::int64_t k) {
    return quant::load_f32(x.data_ptr(), x.dtype(), rows[static_cast<std::size_t>(m)] + k * xs);
  };
  auto* qp = q.data<std::int8_t>();
  auto* sp = s.data<float>();
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  // amax, or NaN when the range holds a NaN.
  const auto absmax = [&](std::int64_t m, std::int64_t k0, std::int64_t k1) {
    float amax = 0.f;
    for (std::int64_t k = k0; k < k1; ++k) {
      const float v = std::fabs(xv(m, k));
      if (std::isnan(v)) return kNaN;
      amax = std::max(amax, v);
    }
    return amax;
  };
  // Dynamic symmetric rule on a known amax: a == 0 -> s = 0, q = 0; else x * (127 / a).
  const auto sym_rows = [&](std::int64_t m, float amax) {
    for (std::int64_t k = 0; k < K; ++k)
      qp[m * K + k] = amax == 0.f ? 0 : quant::int8_encode(xv(m, k) * (127.f / amax));
    return amax == 0.f ? 0.f : amax / 127.f;
  };

  switch (c.mode) {
    case Mode::kStatic: {
      const auto sc = static_cast<float>(a.tensor("scale").item(std::vector<std::int64_t>{0}));
      std::int32_t zp = 0;
      if (!c.symmetric) {
        zp = static_cast<std::int32_t>(a.tensor("azp").item(std::vector<std::int64_t>{0}));
        z.data<std::int32_t>()[0] = zp;
      }
      sp[0] = sc;
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t k = 0; k < K; ++k) qp[m * K + k] = quant::int8_encode(xv(m, k) / sc, zp);
      break;
    }
    case Mode::kTensor: {
      float amax = 0.f;
      for (std::int64_t m = 0; m < M && !std::isnan(amax); ++m) {
        const float r = absmax(m, 0, K);
        amax = std::isnan(r) ? r : std::max(amax, r);
      }
      sp[0] = amax == 0.f ? 0.f : amax / 127.f;
      for (std::int64_t m = 0; m < M; ++m) sym_rows(m, amax);
      break;
    }
    case Mode::kToken:
      for (std::int64_t m = 0; m < M; ++m) sp[m] = sym_rows(m, absmax(m, 0, K));
      break;
    case Mode::kTokenAsym:
      for (std::int64_t m = 0; m < M; ++m) {
        float lo = std::numeric_limits<float>::infinity(), hi = -lo;
        bool nan = false;
        for (std::int64_t k = 0; k < K; ++k) {
          const float v = xv(m, k);
          nan |= std::isnan(v);
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        if (K == 0) lo = hi = 0.f;
        float sc = kNaN;
        std::int32_t zp = 0;
        if (!nan) {
          sc = std::max((hi - lo) / 255.f, quant::kInt8AsymMinScale);
          zp = static_cast<std::int32_t>(
              std::clamp(std::nearbyint(-128.f - lo / sc), -2147483648.f, 2147483520.f));
        }
        sp[m] = sc;
        z.data<std::int32_t>()[m] = zp;
        for (std::int64_t k = 0; k < K; ++k) qp[m * K + k] = quant::int8_encode(xv(m, k) / sc, zp);
      }
      break;
    case Mode::kGroup: {
      const std::int64_t G = (K + c.group - 1) / c.group;
      for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t j = 0; j < G; ++j) {
          const std::int64_t k0 = j * c.group, k1 = std::min(K, k0 + c.group);
          float amax = absmax(m, k0, k1);
          if (!std::isnan(amax)) amax = std::max(amax, quant::kGroupAmaxEps);
          const float sc = amax / 127.f;
          sp[m * G + j] = sc;
          for (std::int64_t k = k0; k < k1; ++k) qp[m * K + k] = quant::int8_encode(xv(m, k) / sc);
        }
      break;
    }
  }
  return {q, s, z.defined() ? op::Value(z) : op::Value(op::None{})};
}

}  // namespace symtrace::ops::quantize_int8
