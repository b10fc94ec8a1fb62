#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

#include <array>
#include <cmath>

#include "ops/common/quantizers.hpp"

namespace symtrace::ops::nvfp4 {

const float* e4m3_table() {
  static const std::array<float, 256> t = [] {
    std::array<float, 256> v{};
    for (int b = 0; b < 256; ++b) v[b] = quant::e4m3fn_decode(static_cast<std::uint8_t>(b));
    return v;
  }();
  return t.data();
}

float weight(const std::uint8_t* q, const std::uint8_t* s, std::int64_t k) {
  const std::uint8_t byte = q[k / 2];
  const int code = (k % 2 == 0) ? (byte & 0xF) : (byte >> 4);
  return kE2m1[code] * e4m3_table()[s[k / kBlock]];
}

double ulp(DType d, double v) {
  const int bits = d == DType::kBF16 ? 8 : d == DType::kF16 ? 11 : 24;
  const double a = std::fabs(v);
  if (a == 0 || !std::isfinite(a)) return 0;
  int e;
  std::frexp(a, &e);                           // a = m 2^e, m in [0.5, 1)
  if (d == DType::kF16) e = std::max(e, -13);  // f16 subnormal spacing 2^-24
  return std::ldexp(1.0, e - bits);
}

void block_scalar(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                  const Fp4Rows& w, float* panel, float* acc, std::int64_t ldacc) {
  for (std::int64_t k0 = 0; k0 < K; k0 += kPanelK) {
    const std::int64_t kk = std::min(kPanelK, K - k0);
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t k = 0; k < kk; ++k)
        panel[n * kPanelK + k] = weight(w.q + n * w.ldq, w.s + n * w.lds, k0 + k);
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t n = 0; n < N; ++n) {
        float s = 0.f;
        for (std::int64_t k = 0; k < kk; ++k) s += x[m * ldx + k0 + k] * panel[n * kPanelK + k];
        acc[m * ldacc + n] += s;
      }
  }
}

}  // namespace symtrace::ops::nvfp4
