// int8_moe_experts grouped kernel (OPS.md §9.3 "cpu_grouped"): routes sorted by expert,
// tokens quantized once, then per active expert an int8 GEMM over its routed rows for
// w13, silu_and_mul + requantization per route, an int8 GEMM for w2, and a per-token sum
// over the k routes. Each phase is an OpenMP loop; the GEMM phases hand out
// (expert, row chunk) items dynamically so a few busy experts still fill both cores.
// Epilogues evaluate the reference's f64 expressions on exact int32 sums: the output is
// bit-identical to ref.cpp.
#include <algorithm>
#include <cstring>

#include <omp.h>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/int8_moe.hpp"
#include "ops/int8_moe_experts/moe.hpp"

namespace symtrace::ops::int8_moe {

void tile_scalar(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a,
                 std::int64_t lda, const std::int8_t* b, std::int64_t ldb, std::int32_t* out,
                 std::int64_t ldo) {
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      std::int32_t acc = 0;
      for (std::int64_t c = 0; c < K; ++c) acc += std::int32_t{a[m * lda + c]} * b[n * ldb + c];
      out[m * ldo + n] = acc;
    }
}

namespace {

constexpr std::int64_t kMaxChunk = 256;

int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

// Rows per work item: enough items for ~8 per thread, at most kMaxChunk (the weight chunk
// then stays in L2 while successive 16-route blocks stream past it).
std::int64_t chunk_rows(std::int64_t rows, std::int64_t n_active, int threads) {
  const std::int64_t want = (rows * n_active + 8 * threads - 1) / (8 * threads);
  return std::clamp<std::int64_t>((want + 15) / 16 * 16, 16, kMaxChunk);
}

// Scale / bias of expert e, row n: per-channel [E, N, 1] or per-tensor [E]; bias [E, N].
struct PerRow {
  const tensor::Tensor* t = nullptr;
  bool per_tensor = false;
  float operator()(std::int64_t e, std::int64_t n) const {
    if (t == nullptr) return 0.f;
    const std::int64_t off = per_tensor ? e * t->stride(0) : e * t->stride(0) + n * t->stride(1);
    return quant::load_f32(t->data_ptr(), t->dtype(), off);
  }
};
PerRow scale_of(const tensor::Tensor& s) { return {&s, s.dim() == 1}; }
PerRow bias_of(const tensor::Tensor* b) { return {b, false}; }

struct Sizes {
  std::int64_t E, H, I, R;
};
Sizes sizes_of(const op::Args& a, std::int64_t M, std::int64_t k) {
  return {a.tensor("w13").size(0), a.tensor("w13").size(2), a.tensor("w2").size(2), M * k};
}

}  // namespace

std::size_t experts_workspace(const op::Args& a, std::int64_t M, std::int64_t k, int threads) {
  const Sizes s = sizes_of(a, M, k);
  const auto R = static_cast<std::size_t>(s.R);
  using moe::Carve;
  return moe::Plan::bytes(M, k, s.E) +
         Carve::bytes<std::int8_t>(static_cast<std::size_t>(M * s.H)) +
         Carve::bytes<float>(static_cast<std::size_t>(M)) + Carve::bytes<std::int8_t>(R * s.H) +
         Carve::bytes<float>(R * 2 * s.I) + Carve::bytes<std::int8_t>(R * s.I) +
         Carve::bytes<float>(R) + Carve::bytes<float>(R * s.H) +
         Carve::bytes<std::int32_t>(
             static_cast<std::size_t>(thread_count(threads) * kTileMaxM * kMaxChunk));
}

void run_experts(const op::Args& a, const Routes& r, tensor::Tensor& out, std::span<std::byte> ws,
                 int threads, Int8Tile tile) {
  const tensor::Tensor& x = a.tensor("x");
  const auto* w13 = a.tensor("w13").data<std::int8_t>();
  const auto* w2 = a.tensor("w2").data<std::int8_t>();
  const PerRow s13 = scale_of(a.tensor("w13_scale")), s2 = scale_of(a.tensor("w2_scale"));
  const PerRow b13 = bias_of(a.opt_tensor("w13_bias")), b2 = bias_of(a.opt_tensor("w2_bias"));
  const tensor::Tensor* map_t = a.opt_tensor("expert_map");
  const tensor::Tensor map = map_t ? map_t->contiguous() : tensor::Tensor();
  const DType dt = x.dtype();
  const Sizes sz = sizes_of(a, r.M, r.k);
  const std::int64_t H = sz.H, I = sz.I, N1 = 2 * I, k = r.k;
  const int T = thread_count(threads);

  moe::Carve carve(ws);
  const moe::Plan plan =
      moe::make_plan(carve, r.M, k, sz.E, r.ids, k, map_t ? map.data<std::int32_t>() : nullptr,
                     map_t ? map.size(0) : 0);
  auto* xq = carve.take<std::int8_t>(static_cast<std::size_t>(r.M * H));
  auto* xs = carve.take<float>(static_cast<std::size_t>(r.M));
  auto* a1 = carve.take<std::int8_t>(static_cast<std::size_t>(plan.R * H));
  auto* h = carve.take<float>(static_cast<std::size_t>(plan.R * N1));
  auto* aq = carve.take<std::int8_t>(static_cast<std::size_t>(plan.R * I));
  auto* as = carve.take<float>(static_cast<std::size_t>(plan.R));
  auto* y = carve.take<float>(static_cast<std::size_t>(plan.R * H));
  auto* acc_all = carve.take<std::int32_t>(static_cast<std::size_t>(T * kTileMaxM * kMaxChunk));

  const quant::Rows xrows = qop::rows_of(x, "x");
  const quant::RowKernels& qk = quant::row_kernels();
  const std::int64_t c1 = chunk_rows(N1, plan.n_active, T), c2 = chunk_rows(H, plan.n_active, T);
  const std::int64_t items1 = plan.n_active * ((N1 + c1 - 1) / c1);
  const std::int64_t items2 = plan.n_active * ((H + c2 - 1) / c2);

  // One GEMM phase item: expert active[i / chunks], rows [n0, n0 + nn) of its weight, every
  // routed row in blocks of kTileMaxM; `epi(p, n, acc)` finishes output (route p, row n).
  const auto gemm_item = [&](std::int64_t item, std::int64_t N, std::int64_t K, std::int64_t chunk,
                             const std::int8_t* w, const std::int8_t* act, auto&& epi) {
    const std::int64_t chunks = (N + chunk - 1) / chunk;
    const std::int32_t e = plan.active[item / chunks];
    const std::int64_t n0 = (item % chunks) * chunk, nn = std::min(chunk, N - n0);
    std::int32_t* acc = acc_all + omp_get_thread_num() * kTileMaxM * kMaxChunk;
    for (std::int64_t p0 = plan.offset[e]; p0 < plan.offset[e + 1]; p0 += kTileMaxM) {
      const std::int64_t mm = std::min(kTileMaxM, plan.offset[e + 1] - p0);
      tile(mm, nn, K, act + p0 * K, K, w + (e * N + n0) * K, K, acc, nn);
      for (std::int64_t i = 0; i < mm; ++i)
        for (std::int64_t n = 0; n < nn; ++n) epi(e, p0 + i, n0 + n, acc[i * nn + n]);
    }
  };

#pragma omp parallel num_threads(T)
  {
    // P0: quantize every token once (dynamic per-token, MoE floor).
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < r.M; ++t)
      xs[t] =
          quant::int8_dynamic_row(qk, xrows.row(t), dt, H, quant::kInt8MoeAmaxFloor, xq + t * H);
      // P1: gather the routed rows in expert order.
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < plan.R; ++p)
      std::memcpy(a1 + p * H, xq + (plan.sorted[p] / k) * H, static_cast<std::size_t>(H));
      // P2: h = round_x(xs * s13 * (w13 . xq) + b13).
#pragma omp for schedule(dynamic)
    for (std::int64_t item = 0; item < items1; ++item)
      gemm_item(item, N1, H, c1, w13, a1,
                [&](std::int32_t e, std::int64_t p, std::int64_t n, std::int32_t acc) {
                  const float s = xs[plan.sorted[p] / k];
                  h[p * N1 + n] = static_cast<float>(quant::round_to(
                      dt, moe::dequant(s, s13(e, n), static_cast<double>(acc), b13(e, n))));
                });
      // P3: a = silu_and_mul(h) (in place over the gate half), then requantize per route.
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < plan.R; ++p) {
      float* row = h + p * N1;
      for (std::int64_t i = 0; i < I; ++i)
        row[i] = static_cast<float>(moe::silu_mul(dt, row[i], row[I + i]));
      as[p] =
          quant::int8_dynamic_row(qk, row, DType::kF32, I, quant::kInt8MoeAmaxFloor, aq + p * I);
    }
    // P4: y = round_x(w * (as * s2 * (w2 . aq) + b2)).
#pragma omp for schedule(dynamic)
    for (std::int64_t item = 0; item < items2; ++item)
      gemm_item(
          item, H, I, c2, w2, aq,
          [&](std::int32_t e, std::int64_t p, std::int64_t n, std::int32_t acc) {
            const double omega = r.w[plan.sorted[p]];
            y[p * H + n] = static_cast<float>(quant::round_to(
                dt, omega * moe::dequant(as[p], s2(e, n), static_cast<double>(acc), b2(e, n))));
          });
      // P5: out[t] = round_x(sum of the token's local routes), in route order (as the reference).
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < r.M; ++t) {
      const std::int32_t* pos = plan.pos + t * k;
      for (std::int64_t o = 0; o < H; ++o) {
        double sum = 0;
        for (std::int64_t j = 0; j < k; ++j)
          if (pos[j] >= 0) sum += y[pos[j] * H + o];
        quant::store_f64(out.data_ptr(), dt, t * H + o, sum);
      }
    }
  }
}

}  // namespace symtrace::ops::int8_moe
