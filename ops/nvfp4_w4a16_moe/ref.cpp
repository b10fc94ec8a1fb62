// nvfp4_w4a16_moe reference: token by token, route by route, exact weight decode, f64 sums.
#include <fmt/format.h>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/moe.hpp"
#include "ops/nvfp4_w4a16_moe/fp4_moe.hpp"

namespace symtrace::ops::fp4_moe {

void reference_experts(const op::Args& a, tensor::Tensor& out) {
  const tensor::Tensor& x = a.tensor("x");
  const tensor::Tensor q13 = a.tensor("w13_packed").contiguous(),
                       s13 = a.tensor("w13_scale").contiguous();
  const tensor::Tensor q2 = a.tensor("w2_packed").contiguous(),
                       s2 = a.tensor("w2_scale").contiguous();
  const tensor::Tensor g13 = a.tensor("w13_global_scale").contiguous(),
                       g2 = a.tensor("w2_global_scale").contiguous();
  const tensor::Tensor tw = a.tensor("topk_w").contiguous(), ti = a.tensor("topk_ids").contiguous();
  const tensor::Tensor* map = a.opt_tensor("expert_map");
  const DType dt = x.dtype();
  const std::int64_t E = q13.size(0), H = x.size(-1), I = q2.size(2) * 2;
  const std::int64_t k = ti.size(-1), n_ids = map ? map->size(0) : E;
  const std::vector<std::int64_t> rows = qop::row_offsets(x);
  std::vector<double> xr(static_cast<std::size_t>(H)), h(static_cast<std::size_t>(2 * I)),
      act(static_cast<std::size_t>(I)), sum(static_cast<std::size_t>(H));
  for (std::size_t t = 0; t < rows.size(); ++t) {
    for (std::int64_t c = 0; c < H; ++c)
      xr[c] = quant::load_f32(x.data_ptr(), dt, rows[t] + c * x.stride(-1));
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t r = static_cast<std::int64_t>(t) * k + j;
      const std::int32_t id = ti.data<std::int32_t>()[r];
      if (id < 0 || id >= n_ids)
        diag::fail("value",
                   fmt::format("topk_ids[{}, {}] = {} is outside [0, {})", t, j, id, n_ids));
      std::int64_t e = id;
      if (map) {
        e = map->data<std::int32_t>()[id * map->stride(0)];
        if (e < -1 || e >= E)
          diag::fail("value", fmt::format("expert_map[{}] = {} is outside [-1, {})", id, e, E));
        if (e < 0) continue;
      }
      for (std::int64_t n = 0; n < 2 * I; ++n) {
        const std::uint8_t* q = q13.data<std::uint8_t>() + (e * 2 * I + n) * (H / 2);
        const std::uint8_t* s = s13.data<std::uint8_t>() + (e * 2 * I + n) * (H / nvfp4::kBlock);
        double acc = 0;
        for (std::int64_t c = 0; c < H; ++c) acc += xr[c] * nvfp4::weight(q, s, c);
        const double g =
            g13.dim() == 2 ? g13.data<float>()[e * 2 + (n < I ? 0 : 1)] : g13.data<float>()[e];
        h[n] = quant::round_to(dt, g * acc);
      }
      for (std::int64_t i = 0; i < I; ++i) act[i] = moe::silu_mul(dt, h[i], h[I + i]);
      const double omega = tw.data<float>()[r];
      for (std::int64_t o = 0; o < H; ++o) {
        const std::uint8_t* q = q2.data<std::uint8_t>() + (e * H + o) * (I / 2);
        const std::uint8_t* s = s2.data<std::uint8_t>() + (e * H + o) * (I / nvfp4::kBlock);
        double acc = 0;
        for (std::int64_t i = 0; i < I; ++i) acc += act[i] * nvfp4::weight(q, s, i);
        sum[o] += quant::round_to(dt, omega * g2.data<float>()[e] * acc);
      }
    }
    for (std::int64_t o = 0; o < H; ++o)
      quant::store_f64(out.data_ptr(), dt, static_cast<std::int64_t>(t) * H + o, sum[o]);
  }
}

}  // namespace symtrace::ops::fp4_moe
