// linear_w16 decode GEMV: the thread count, the ISA choice and the scalar kernel (baseline
// x86-64; the vector kernels live in gemv_avx512.cpp and gemv_avx2.cpp).
#include <algorithm>
#include <vector>

#include <omp.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/dtype.hpp>

#include "ops/common/gemm_kernels.hpp"
#include "ops/linear_w16/w16.hpp"

namespace symtrace::ops::linear_w16 {
namespace {

// A fork/join costs microseconds (milliseconds when another process holds the core a worker
// waits for): below this much weight per thread, fewer threads (as block_fp8_gemm's GEMV).
constexpr std::int64_t kBytesPerThread = 256 << 10;

}  // namespace

namespace detail {

// One weight row at a time, widened once into f32 and dotted with every activation row in k
// order.
void gemv_scalar(const Gemv& g, int threads) {
  const tensor::DType wd = g.f16 ? tensor::DType::kF16 : tensor::DType::kBF16;
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> row(static_cast<std::size_t>(g.K));
#pragma omp for schedule(static)
    for (std::int64_t n = 0; n < g.N; ++n) {
      tensor::convert(g.w + n * g.ldw, wd, row.data(), tensor::DType::kF32,
                      static_cast<std::size_t>(g.K));
      for (std::int64_t m = 0; m < g.M; ++m) {
        const float* x = g.x + m * g.ldx;
        float s = 0.f;
        for (std::int64_t k = 0; k < g.K; ++k) s += x[k] * row[static_cast<std::size_t>(k)];
        g.y[m * g.ldy + n] = s + (g.bias ? g.bias[n] : 0.f);
      }
    }
  }
}

}  // namespace detail

void gemv(const Gemv& g, tensor::Isa isa, int threads) {
  if (g.M < 1 || g.M > kGemvMaxM)
    throw diag::InternalError("linear_w16 gemv: needs 1 <= M <= kGemvMaxM");
  if (g.N == 0) return;
  const std::int64_t by_size = std::max<std::int64_t>(1, g.N * g.K * 2 / kBytesPerThread);
  threads = static_cast<int>(std::min<std::int64_t>(gemm::resolve_threads(threads), by_size));
  switch (isa) {
    case tensor::Isa::kAvx512:
      return detail::gemv_avx512(g, threads);
    case tensor::Isa::kAvx2:
      return detail::gemv_avx2(g, threads);
    case tensor::Isa::kNone:
      return detail::gemv_scalar(g, threads);
    default:
      break;
  }
  throw diag::InternalError("linear_w16 gemv: no kernel for this ISA");
}

}  // namespace symtrace::ops::linear_w16
