// int8_moe_experts reference (OPS.md §15.5): token by token, route by route, plain loops,
// exact int64 dot products, f64 epilogues rounded to x's dtype where the math says so.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "ops/common/quantizers_op.hpp"
#include "ops/int8_moe_experts/int8_moe.hpp"
#include "ops/int8_moe_experts/moe.hpp"

namespace symtrace::ops::int8_moe {

namespace {

// Element [i0, i1, ...] of a real tensor through its strides, as f64.
double at(const tensor::Tensor& t, std::initializer_list<std::int64_t> idx) {
  std::int64_t off = 0, d = 0;
  for (std::int64_t i : idx) off += i * t.stride(d++);
  return quant::load_f32(t.data_ptr(), t.dtype(), off);
}
std::int8_t at_i8(const tensor::Tensor& t, std::int64_t e, std::int64_t r, std::int64_t c) {
  return t.data<std::int8_t>()[e * t.stride(0) + r * t.stride(1) + c * t.stride(2)];
}
// Per-channel [E, N, 1] or per-tensor [E] scale of expert e, row n.
float scale(const tensor::Tensor& s, std::int64_t e, std::int64_t n) {
  return static_cast<float>(s.dim() == 1 ? at(s, {e}) : at(s, {e, n, 0}));
}

// Dynamic symmetric int8 with the MoE floor (OPS.md §4.4): a = max(amax, 1e-10),
// s = a / 127, q = rne(v * 127 / a).
float quantize(const std::vector<float>& v, std::vector<std::int8_t>& q) {
  float amax = 0.f;
  for (float x : v) {
    if (std::isnan(x)) amax = std::numeric_limits<float>::quiet_NaN();
    if (!std::isnan(amax)) amax = std::max(amax, std::fabs(x));
  }
  if (!std::isnan(amax)) amax = std::max(amax, quant::kInt8MoeAmaxFloor);
  for (std::size_t i = 0; i < v.size(); ++i) q[i] = quant::int8_encode(v[i] * (127.f / amax));
  return amax / 127.f;
}

}  // namespace

void reference_experts(const op::Args& a, const Routes& r, tensor::Tensor& out) {
  const tensor::Tensor& x = a.tensor("x");
  const tensor::Tensor &w13 = a.tensor("w13"), &w2 = a.tensor("w2");
  const tensor::Tensor &s13 = a.tensor("w13_scale"), &s2 = a.tensor("w2_scale");
  const tensor::Tensor* b13 = a.opt_tensor("w13_bias");
  const tensor::Tensor* b2 = a.opt_tensor("w2_bias");
  const tensor::Tensor* map = a.opt_tensor("expert_map");
  const DType dt = x.dtype();
  const std::int64_t E = w13.size(0), H = w13.size(2), I = w2.size(2);
  const std::int64_t n_ids = map ? map->size(0) : E;
  const std::vector<std::int64_t> rows = qop::row_offsets(x);
  std::vector<float> xr(static_cast<std::size_t>(H)), act(static_cast<std::size_t>(I));
  std::vector<std::int8_t> xq(xr.size()), aq(act.size());
  std::vector<double> h(static_cast<std::size_t>(2 * I)), sum(static_cast<std::size_t>(H));
  for (std::int64_t t = 0; t < r.M; ++t) {
    for (std::int64_t c = 0; c < H; ++c)
      xr[c] =
          quant::load_f32(x.data_ptr(), dt, rows[static_cast<std::size_t>(t)] + c * x.stride(-1));
    const float xs = quantize(xr, xq);  // once per token, reused by its k routes
    std::fill(sum.begin(), sum.end(), 0.0);
    for (std::int64_t j = 0; j < r.k; ++j) {
      const std::int32_t id = r.ids[t * r.k + j];
      if (id < 0 || id >= n_ids)
        diag::fail("value",
                   fmt::format("topk_ids[{}, {}] = {} is outside [0, {})", t, j, id, n_ids));
      std::int64_t e = id;
      if (map) {
        e = map->data<std::int32_t>()[id * map->stride(0)];
        if (e < -1 || e >= E)
          diag::fail("value", fmt::format("expert_map[{}] = {} is outside [-1, {})", id, e, E));
        if (e < 0) continue;  // another rank's expert: contributes 0 here
      }
      for (std::int64_t n = 0; n < 2 * I; ++n) {
        std::int64_t acc = 0;
        for (std::int64_t c = 0; c < H; ++c) acc += std::int64_t{xq[c]} * at_i8(w13, e, n, c);
        h[n] = quant::round_to(dt, moe::dequant(xs, scale(s13, e, n), static_cast<double>(acc),
                                                b13 ? at(*b13, {e, n}) : 0.0));
      }
      for (std::int64_t i = 0; i < I; ++i)
        act[i] = static_cast<float>(moe::silu_mul(dt, h[i], h[I + i]));
      const float as = quantize(act, aq);
      const double omega = r.w[t * r.k + j];
      for (std::int64_t o = 0; o < H; ++o) {
        std::int64_t acc = 0;
        for (std::int64_t i = 0; i < I; ++i) acc += std::int64_t{aq[i]} * at_i8(w2, e, o, i);
        sum[o] +=
            quant::round_to(dt, omega * moe::dequant(as, scale(s2, e, o), static_cast<double>(acc),
                                                     b2 ? at(*b2, {e, o}) : 0.0));
      }
    }
    for (std::int64_t o = 0; o < H; ++o) quant::store_f64(out.data_ptr(), dt, t * H + o, sum[o]);
  }
}

}  // namespace symtrace::ops::int8_moe
