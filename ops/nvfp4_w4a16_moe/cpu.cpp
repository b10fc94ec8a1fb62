// nvfp4_w4a16_moe grouped kernel: the routing plan of int8_moe_experts, routed rows
// expanded to f32 in expert order, per (expert, row chunk) items running the NVFP4 panel
// kernel (nvfp4::matmul on one ISA's block) for w13, silu_and_mul per route, then w2, and a
// per-token sum over the routes. No allocation: every buffer is carved from the workspace.
#include <algorithm>

#include <omp.h>

#include <symtrace/tensor/dtype.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/moe.hpp"
#include "ops/nvfp4_w4a16_gemm/gemm.hpp"
#include "ops/nvfp4_w4a16_moe/fp4_moe.hpp"

namespace symtrace::ops::fp4_moe {

void run_experts(const op::Args& a, tensor::Tensor& out, op::KernelContext& cx,
                 nvfp4::Fp4Block block) {
  const tensor::Tensor& x = a.tensor("x");
  const tensor::Tensor& q13 = a.tensor("w13_packed");
  const tensor::Tensor& q2 = a.tensor("w2_packed");
  const auto* s13 = a.tensor("w13_scale").data<std::uint8_t>();
  const auto* s2 = a.tensor("w2_scale").data<std::uint8_t>();
  const tensor::Tensor g13 = a.tensor("w13_global_scale").contiguous();
  const tensor::Tensor g2 = a.tensor("w2_global_scale").contiguous();
  const tensor::Tensor tw = a.tensor("topk_w").contiguous(), ti = a.tensor("topk_ids").contiguous();
  const tensor::Tensor* map_t = a.opt_tensor("expert_map");
  const tensor::Tensor map = map_t ? map_t->contiguous() : tensor::Tensor();
  const DType dt = x.dtype();
  const quant::Rows xrows = qop::rows_of(x, "x");
  const std::int64_t E = q13.size(0), H = xrows.cols, I = q2.size(2) * 2, N1 = 2 * I;
  const std::int64_t k = ti.dim() ? ti.size(-1) : 1, M = xrows.rows;
  const int T = cx.threads > 0 ? cx.threads : omp_get_max_threads();
  const auto R = static_cast<std::size_t>(M * k);
  using moe::Carve;
  const std::size_t bytes = moe::Plan::bytes(M, k, E) + Carve::bytes<float>(R * H) +
                            Carve::bytes<float>(R * N1) + Carve::bytes<float>(R * H) +
                            Carve::bytes<float>(T * nvfp4::scratch_floats());
  Carve carve(cx.alloc.workspace(bytes));
  const moe::Plan plan =
      moe::make_plan(carve, M, k, E, ti.data<std::int32_t>(), k,
                     map_t ? map.data<std::int32_t>() : nullptr, map_t ? map.size(0) : 0);
  auto* a1 = carve.take<float>(static_cast<std::size_t>(plan.R * H));
  auto* h = carve.take<float>(static_cast<std::size_t>(plan.R * N1));
  auto* y = carve.take<float>(static_cast<std::size_t>(plan.R * H));
  auto* scratch = carve.take<float>(T * nvfp4::scratch_floats());
  const float* w = tw.data<float>();
  const bool g13_pair = g13.dim() == 2;

  // Items: (active expert, chunk of weight rows); chunks are multiples of 16 rows.
  const auto chunk_of = [&](std::int64_t N) {
    const std::int64_t want = (N * plan.n_active + 8 * T - 1) / (8 * T);
    return std::clamp<std::int64_t>((want + 15) / 16 * 16, 16, 256);
  };
  const std::int64_t c1 = chunk_of(N1), c2 = chunk_of(H);
  const std::int64_t n1 = (N1 + c1 - 1) / c1, n2 = (H + c2 - 1) / c2;

#pragma omp parallel num_threads(T)
  {
    float* s = scratch + nvfp4::scratch_floats() * omp_get_thread_num();
    // P1: routed rows as f32, in expert order.
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < plan.R; ++p)
      tensor::convert(xrows.row(plan.sorted[p] / k), dt, a1 + p * H, DType::kF32,
                      static_cast<std::size_t>(H));
      // P2: h = round_x(g13 * (W13 x)).
#pragma omp for schedule(dynamic)
    for (std::int64_t item = 0; item < plan.n_active * n1; ++item) {
      const std::int32_t e = plan.active[item / n1];
      const std::int64_t n0 = (item % n1) * c1, nn = std::min(c1, N1 - n0), p0 = plan.offset[e];
      const std::int64_t rows = plan.offset[e + 1] - p0;
      const std::int64_t wrow = e * N1 + n0;
      const nvfp4::Fp4Rows wr{q13.data<std::uint8_t>() + wrow * (H / 2), H / 2,
                              s13 + wrow * (H / nvfp4::kBlock), H / nvfp4::kBlock};
      nvfp4::matmul(rows, nn, H, a1 + p0 * H, H, wr, h + p0 * N1 + n0, N1, s, block);
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t n = n0; n < n0 + nn; ++n) {
          const double g =
              g13_pair ? g13.data<float>()[e * 2 + (n < I ? 0 : 1)] : g13.data<float>()[e];
          float& v = h[(p0 + i) * N1 + n];
          v = static_cast<float>(quant::round_to(dt, g * static_cast<double>(v)));
        }
    }
    // P3: a = silu_and_mul(h), in place over the gate half.
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < plan.R; ++p) {
      float* row = h + p * N1;
      for (std::int64_t i = 0; i < I; ++i)
        row[i] = static_cast<float>(moe::silu_mul(dt, row[i], row[I + i]));
    }
    // P4: y = round_x(w * g2 * (W2 a)).
#pragma omp for schedule(dynamic)
    for (std::int64_t item = 0; item < plan.n_active * n2; ++item) {
      const std::int32_t e = plan.active[item / n2];
      const std::int64_t n0 = (item % n2) * c2, nn = std::min(c2, H - n0), p0 = plan.offset[e];
      const std::int64_t rows = plan.offset[e + 1] - p0;
      const std::int64_t wrow = e * H + n0;
      const nvfp4::Fp4Rows wr{q2.data<std::uint8_t>() + wrow * (I / 2), I / 2,
                              s2 + wrow * (I / nvfp4::kBlock), I / nvfp4::kBlock};
      nvfp4::matmul(rows, nn, I, h + p0 * N1, N1, wr, y + p0 * H + n0, H, s, block);
      const double g = g2.data<float>()[e];
      for (std::int64_t i = 0; i < rows; ++i) {
        const double omega = w[plan.sorted[p0 + i]];
        for (std::int64_t n = n0; n < n0 + nn; ++n) {
          float& v = y[(p0 + i) * H + n];
          v = static_cast<float>(quant::round_to(dt, omega * g * static_cast<double>(v)));
        }
      }
    }
    // P5: out[t] = round_x(sum of the token's local routes).
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < M; ++t) {
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

}  // namespace symtrace::ops::fp4_moe
