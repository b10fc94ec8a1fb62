// Softmax over rows: the driver (OpenMP over rows, per-thread scratch) and the portable row.
#include <cmath>
#include <limits>
#include <vector>

#include "ops/linear/elem.hpp"
#include "ops/softmax/kernels.hpp"
#include "ops/softmax/softmax_impl.hpp"

namespace symtrace::ops {

namespace softmax_detail {

void row_scalar(const void* x, tensor::DType xt, void* y, tensor::DType yt, std::int64_t n,
                bool log, float* tmp) {
  float mx = -std::numeric_limits<float>::infinity();
  for (std::int64_t i = 0; i < n; ++i) {
    tmp[i] = elem::load(x, xt, i);
    mx = std::fmax(mx, tmp[i]);
  }
  float sum = 0.f;
  for (std::int64_t i = 0; i < n; ++i) {
    const float e = std::exp(tmp[i] - mx);
    sum += e;
    if (!log) tmp[i] = e;
  }
  if (log) {
    const float lse = std::log(sum);
    for (std::int64_t i = 0; i < n; ++i) elem::store(y, yt, i, (tmp[i] - mx) - lse);
  } else {
    const float inv = 1.f / sum;
    for (std::int64_t i = 0; i < n; ++i) elem::store(y, yt, i, tmp[i] * inv);
  }
}

}  // namespace softmax_detail

namespace kernels {

void softmax_rows(std::int64_t rows, std::int64_t n, const void* x, tensor::DType x_dtype,
                  std::int64_t ldx, void* y, tensor::DType y_dtype, std::int64_t ldy, bool log,
                  tensor::Isa isa) {
  using namespace softmax_detail;
  const auto allowed = [&](tensor::Isa want) {
    return static_cast<int>(isa) >= static_cast<int>(want) && tensor::cpu_supports(want);
  };
  const RowFn row = allowed(tensor::Isa::kAvx512) ? row_avx512
                    : allowed(tensor::Isa::kAvx2) ? row_avx2
                                                  : row_scalar;
  const std::size_t xes = x_dtype == tensor::DType::kF32 ? 4 : 2;
  const std::size_t yes = y_dtype == tensor::DType::kF32 ? 4 : 2;
  const bool parallel = rows > 1 && rows * n >= 4096;
#pragma omp parallel if (parallel)
  {
    std::vector<float> tmp(static_cast<std::size_t>(n));
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      row(static_cast<const char*>(x) + static_cast<std::size_t>(r * ldx) * xes, x_dtype,
          static_cast<char*>(y) + static_cast<std::size_t>(r * ldy) * yes, y_dtype, n, log,
          tmp.data());
  }
}

}  // namespace kernels
}  // namespace symtrace::ops
