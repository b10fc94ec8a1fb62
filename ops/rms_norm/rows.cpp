// RMS norm driver (OpenMP over rows) and the portable row.
#include <cmath>

#include "ops/linear/elem.hpp"
#include "ops/rms_norm/kernels.hpp"
#include "ops/rms_norm/rms_impl.hpp"

namespace symtrace::ops {

namespace rms_detail {

namespace {
float round_to(tensor::DType d, float v) {
  switch (d) {
    case tensor::DType::kBF16: return elem::bf16_to_f32(elem::f32_to_bf16(v));
    case tensor::DType::kF16: return elem::f16_to_f32(elem::f32_to_f16(v));
    default: return v;
  }
}
}  // namespace

void row_scalar(const Row& r) {
  float ss = 0.f;
  for (std::int64_t i = 0; i < r.H; ++i) {
    float v = elem::load(r.x, r.dtype, i);
    if (r.residual != nullptr) {
      v = round_to(r.dtype, v + elem::load(r.residual, r.dtype, i));
      elem::store(r.residual_out, r.dtype, i, v);
    }
    ss += v * v;
  }
  const float inv = 1.f / std::sqrt(ss / static_cast<float>(r.H) + r.eps);
  const void* src = r.residual != nullptr ? r.residual_out : r.x;
  for (std::int64_t i = 0; i < r.H; ++i) {
    const float n = round_to(r.dtype, elem::load(src, r.dtype, i) * inv);
    elem::store(r.y, r.dtype, i, elem::load(r.w, r.dtype, i) * n);
  }
}

}  // namespace rms_detail

namespace kernels {

namespace {

rms_detail::RowFn pick(tensor::Isa isa) {
  const auto allowed = [&](tensor::Isa want) {
    return static_cast<int>(isa) >= static_cast<int>(want) && tensor::cpu_supports(want);
  };
  return allowed(tensor::Isa::kAvx512) ? rms_detail::row_avx512
         : allowed(tensor::Isa::kAvx2) ? rms_detail::row_avx2
                                       : rms_detail::row_scalar;
}

void run(std::int64_t rows, std::int64_t H, const void* x, std::int64_t ldx, const void* residual,
         std::int64_t ldr, const void* w, void* y, std::int64_t ldy, void* residual_out,
         std::int64_t ldro, float eps, tensor::DType dtype, tensor::Isa isa) {
  const rms_detail::RowFn row = pick(isa);
  const std::size_t es = dtype == tensor::DType::kF32 ? 4 : 2;
  const auto at = [es](const void* p, std::int64_t r, std::int64_t ld) {
    return static_cast<const char*>(p) + static_cast<std::size_t>(r * ld) * es;
  };
#pragma omp parallel for schedule(static) if (rows > 1 && rows * H >= 8192)
  for (std::int64_t r = 0; r < rows; ++r) {
    rms_detail::Row a{at(x, r, ldx),
                      residual != nullptr ? at(residual, r, ldr) : nullptr,
                      residual != nullptr ? const_cast<char*>(at(residual_out, r, ldro)) : nullptr,
                      w,
                      const_cast<char*>(at(y, r, ldy)),
                      H,
                      eps,
                      dtype};
    row(a);
  }
}

}  // namespace

void rms_norm_rows(std::int64_t rows, std::int64_t H, const void* x, std::int64_t ldx,
                   const void* w, void* y, std::int64_t ldy, float eps, tensor::DType dtype,
                   tensor::Isa isa) {
  run(rows, H, x, ldx, nullptr, 0, w, y, ldy, nullptr, 0, eps, dtype, isa);
}

void fused_add_rms_norm_rows(std::int64_t rows, std::int64_t H, const void* x, std::int64_t ldx,
                             const void* residual, std::int64_t ldr, const void* w, void* y,
                             std::int64_t ldy, void* residual_out, std::int64_t ldro, float eps,
                             tensor::DType dtype, tensor::Isa isa) {
  run(rows, H, x, ldx, residual, ldr, w, y, ldy, residual_out, ldro, eps, dtype, isa);
}

}  // namespace kernels
}  // namespace symtrace::ops
