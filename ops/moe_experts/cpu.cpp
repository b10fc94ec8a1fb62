// moe_experts grouped kernel: routes sorted by expert (moe::make_plan), each route's token
// row gathered once, then per (active expert, chunk of weight rows) the chunk widened to f32
// in per-thread scratch and one f32 GEMM (kernels::gemm_nt_on_path) over the expert's routed
// rows; silu_and_mul per route; the same for w2; per token the route-weighted sum over its k
// routes in route order (f64, as the reference). Expert compute is k/E of the dense one.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <omp.h>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/moe.hpp"
#include "ops/linear/kernels.hpp"
#include "ops/moe_experts/moe_experts.hpp"

namespace symtrace::ops::moe_experts {

namespace {

// Widened weight rows per work item: ~256 KiB of f32 (stays in L2 while the routed rows
// stream past), a multiple of 16 rows.
constexpr std::int64_t kChunkBytes = 256 << 10;

int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

std::int64_t chunk_rows(std::int64_t K) {
  const std::int64_t rows = kChunkBytes / (4 * std::max<std::int64_t>(K, 1));
  return std::clamp<std::int64_t>(rows / 16 * 16, 16, 1024);
}

struct Sizes {
  std::int64_t E, H, I;
};
Sizes sizes_of(const op::Args& a) { return {a.tensor("w13").size(0), a.tensor("w13").size(2), a.tensor("w2").size(2)}; }

std::size_t scratch_floats(const Sizes& s) {
  return static_cast<std::size_t>(std::max(chunk_rows(s.H) * s.H, chunk_rows(s.I) * s.I));
}

}  // namespace

std::size_t grouped_workspace(const op::Args& a, std::int64_t M, std::int64_t k, int threads) {
  const Sizes s = sizes_of(a);
  const auto R = static_cast<std::size_t>(M * k);
  using moe::Carve;
  return moe::Plan::bytes(M, k, s.E) + Carve::bytes<float>(R * s.H) + Carve::bytes<float>(R * 2 * s.I) +
         Carve::bytes<float>(R * s.H) +
         Carve::bytes<float>(static_cast<std::size_t>(thread_count(threads)) * scratch_floats(s));
}

void run_grouped(const op::Args& a, const Routes& r, tensor::Tensor& out, std::span<std::byte> ws, int threads,
                 tensor::Isa isa) {
  const tensor::Tensor& w13t = a.tensor("w13");
  const tensor::Tensor& w2t = a.tensor("w2");
  const Sizes sz = sizes_of(a);
  const std::int64_t H = sz.H, I = sz.I, N1 = 2 * I, k = r.k;
  const int T = thread_count(threads);
  const tensor::DType wdt = w13t.dtype();
  const std::size_t wes = tensor::info(wdt).bytes;
  const auto* w13 = static_cast<const std::byte*>(w13t.data_ptr());
  const auto* w2 = static_cast<const std::byte*>(w2t.data_ptr());

  moe::Carve carve(ws);
  const moe::Plan plan = moe::make_plan(carve, r.M, k, sz.E, r.ids, k, nullptr, 0);
  auto* a1 = carve.take<float>(static_cast<std::size_t>(plan.R * H));
  auto* h = carve.take<float>(static_cast<std::size_t>(plan.R * N1));
  auto* y = carve.take<float>(static_cast<std::size_t>(plan.R * H));
  const std::size_t per_thread = scratch_floats(sz);
  auto* scratch = carve.take<float>(static_cast<std::size_t>(T) * per_thread);

  const quant::Rows xrows = qop::rows_of(a.tensor("x"), "x");
  const tensor::Isa path = kernels::gemm_nt_path(tensor::DType::kF32, isa);
  const std::int64_t c1 = chunk_rows(H), c2 = chunk_rows(I);
  const std::int64_t items1 = plan.n_active * ((N1 + c1 - 1) / c1);
  const std::int64_t items2 = plan.n_active * ((H + c2 - 1) / c2);

  // Expert active[item / chunks], weight rows [n0, n0 + nn) of w ([E, N, K]): widened, then
  // out[p, n0 + n] = act[p] · w[e, n0 + n] for the expert's routes p.
  const auto gemm_item = [&](std::int64_t item, std::int64_t N, std::int64_t K, std::int64_t chunk,
                             const std::byte* w, const float* act, std::int64_t lda, float* o,
                             std::int64_t ldo) {
    const std::int64_t chunks = (N + chunk - 1) / chunk;
    const std::int32_t e = plan.active[item / chunks];
    const std::int64_t n0 = (item % chunks) * chunk, nn = std::min(chunk, N - n0);
    float* wf = scratch + static_cast<std::size_t>(omp_get_thread_num()) * per_thread;
    tensor::convert(w + static_cast<std::size_t>((e * N + n0) * K) * wes, wdt, wf, tensor::DType::kF32,
                    static_cast<std::size_t>(nn * K));
    const std::int64_t p0 = plan.offset[e], rows = plan.offset[e + 1] - p0;
    kernels::gemm_nt_on_path(rows, nn, K, {act + p0 * lda, tensor::DType::kF32, lda}, {wf, tensor::DType::kF32, K},
                             nullptr, tensor::DType::kF32, o + p0 * ldo + n0, tensor::DType::kF32, ldo, path);
  };

#pragma omp parallel num_threads(T)
  {
    // P1: the routed token rows, in expert order.
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < plan.R; ++p)
      std::memcpy(a1 + p * H, xrows.row(plan.sorted[p] / k), static_cast<std::size_t>(H) * sizeof(float));
      // P2: h = a1 · w13[e]ᵀ per expert.
#pragma omp for schedule(dynamic)
    for (std::int64_t item = 0; item < items1; ++item) gemm_item(item, N1, H, c1, w13, a1, H, h, N1);
      // P3: silu(gate) · up into the gate half.
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < plan.R; ++p) {
      float* row = h + p * N1;
      for (std::int64_t i = 0; i < I; ++i) row[i] = row[i] / (1.f + std::exp(-row[i])) * row[I + i];
    }
    // P4: y = a · w2[e]ᵀ (a: the gate half of h, row stride 2I).
#pragma omp for schedule(dynamic)
    for (std::int64_t item = 0; item < items2; ++item) gemm_item(item, H, I, c2, w2, h, N1, y, H);
      // P5: the route-weighted sum per token, in route order.
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < r.M; ++t) {
      const std::int32_t* pos = plan.pos + t * k;
      float* o = out.data<float>() + t * H;
      for (std::int64_t n = 0; n < H; ++n) {
        double sum = 0;
        for (std::int64_t j = 0; j < k; ++j)
          if (pos[j] >= 0) sum += static_cast<double>(r.w[t * k + j]) * y[pos[j] * H + n];
        o[n] = static_cast<float>(sum);
      }
    }
  }
}

}  // namespace symtrace::ops::moe_experts
