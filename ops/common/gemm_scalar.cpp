// Scalar microkernels: the same packed formats and accumulation order as the vector ones,
// in plain loops (the fallback when neither AVX2 nor AVX-512 may run).
#include <cstring>

#include "ops/common/gemm_kernels.hpp"

namespace symtrace::ops::gemm {
namespace {

constexpr int kMR = 4;
constexpr int kNR = 8;

void s16_4x8(std::int64_t kw, const void* const* a, const void* bp, void* c, std::int64_t ldc,
             bool accumulate) {
  auto* ci = static_cast<std::int32_t*>(c);
  std::int32_t acc[kMR][kNR];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = accumulate ? ci[i * ldc + j] : 0;
  const auto* b = static_cast<const std::int16_t*>(bp);
  for (std::int64_t w = 0; w < kw; ++w, b += 2 * kNR) {
    for (int i = 0; i < kMR; ++i) {
      std::int16_t av[2];
      std::memcpy(av, static_cast<const std::byte*>(a[i]) + 4 * w, 4);
      for (int j = 0; j < kNR; ++j) acc[i][j] += av[0] * b[2 * j] + av[1] * b[2 * j + 1];
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) ci[i * ldc + j] = acc[i][j];
}

template <bool Scaled>
void f32_4x8(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
             bool accumulate, const float* rs, const float* cs) {
  float acc[kMR][kNR];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) acc[i][j] = (!Scaled && accumulate) ? c[i * ldc + j] : 0.f;
  const auto* b = static_cast<const float*>(bp);
  for (std::int64_t w = 0; w < kw; ++w, b += kNR) {
    for (int i = 0; i < kMR; ++i) {
      float av;
      std::memcpy(&av, static_cast<const std::byte*>(a[i]) + 4 * w, 4);
      for (int j = 0; j < kNR; ++j) acc[i][j] += av * b[j];
    }
  }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) {
      if constexpr (Scaled)
        c[i * ldc + j] += acc[i][j] * (rs[i] * cs[j]);
      else
        c[i * ldc + j] = acc[i][j];
    }
}

void f32_run(std::int64_t kw, const void* const* a, const void* bp, void* c, std::int64_t ldc,
             bool accumulate) {
  f32_4x8<false>(kw, a, bp, static_cast<float*>(c), ldc, accumulate, nullptr, nullptr);
}
void f32_scaled(std::int64_t kw, const void* const* a, const void* bp, float* c, std::int64_t ldc,
                const float* rs, const float* cs) {
  f32_4x8<true>(kw, a, bp, c, ldc, false, rs, cs);
}

}  // namespace

namespace scalar {
const Microkernel kS16{PackKind::kS16, kMR, kNR, "scalar", s16_4x8, nullptr};
const Microkernel kF32{PackKind::kF32, kMR, kNR, "scalar", f32_run, f32_scaled};
}  // namespace scalar

}  // namespace symtrace::ops::gemm
