// MoE plumbing shared by int8_moe_experts, int8_fused_moe and nvfp4_w4a16_moe (OPS.md §9.3,
// §10, §15.5): fake-side checks of routes and per-expert scales, the routing plan (routes
// sorted by expert) carved from the workspace, and the exact epilogue arithmetic that the
// reference and the fast kernels share so that they agree bit for bit.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <symtrace/op/op_def.hpp>

#include "ops/common/quant.hpp"
#include "ops/common/quantizers.hpp"

namespace symtrace::ops::moe {

// ---- fake side ---------------------------------------------------------------------------

// x: float activation [*, H] (C1 of every MoE op).
void check_x(const CheckSite& site, const TensorMeta& x);
// topk_w f32 [*, k] and topk_ids i32 [*, k] with x's leading dims; returns k.
SymInt check_routes(const CheckSite& site, const TensorMeta& x, const TensorMeta& topk_w,
                    const TensorMeta& topk_ids);
// A per-expert scale: per-channel [E, N, 1] or per-tensor [E], f32. `[E, N]` is the Quark
// 1-D per-channel layout that produced garbage tokens (vLLM #41892): a scale-layout error.
void check_expert_scale(const CheckSite& site, std::string_view arg, const TensorMeta& scale,
                        const SymInt& E, const SymInt& N);
// Optional bias [E, N] (f32, bf16 or f16).
void check_expert_bias(const CheckSite& site, std::string_view arg, const TensorMeta* bias,
                       const SymInt& E, const SymInt& N);
// Optional expert_map i32 [E_global] (EP: global id -> local id or -1).
void check_expert_map(const CheckSite& site, const TensorMeta* map);
// act must be "silu" (silu_and_mul; swigluoai is a different op).
void check_act(const CheckSite& site, std::string_view act);
// Output meta x.sizes[:-1] + [H], dtype of x.
TensorMeta out_meta(const TensorMeta& x);

// ---- real side ---------------------------------------------------------------------------

// Bump allocation of 64-byte aligned arrays from one workspace span.
class Carve {
 public:
  explicit Carve(std::span<std::byte> ws) : p_(ws.data()), left_(ws.size()) {}
  template <class T>
  T* take(std::size_t n) {
    const std::size_t bytes = (n * sizeof(T) + 63) & ~std::size_t{63};
    if (bytes > left_) throw_short();
    T* out = reinterpret_cast<T*>(p_);
    p_ += bytes;
    left_ -= bytes;
    return out;
  }
  template <class T>
  static std::size_t bytes(std::size_t n) {
    return (n * sizeof(T) + 63) & ~std::size_t{63};
  }

 private:
  [[noreturn]] static void throw_short();
  std::byte* p_;
  std::size_t left_;
};

// Routes (token t, slot j) grouped by local expert, in route order within an expert.
struct Plan {
  std::int64_t M = 0, k = 0, E = 0;
  std::int64_t R = 0;    // local routes
  std::int64_t* offset;  // [E + 1]: routes of expert e are sorted[offset[e] .. offset[e+1])
  std::int32_t* sorted;  // [M * k]: route ids t * k + j, grouped by expert
  std::int32_t* pos;     // [M * k]: position of route in `sorted`, -1 when not local
  std::int32_t* active;  // [E]: experts with routes, in id order
  std::int64_t n_active = 0;
  static std::size_t bytes(std::int64_t M, std::int64_t k, std::int64_t E);
};
// Builds the plan. ids [M, k] (row stride ld) are global ids; expert_map (nullable, length
// e_global) maps them to local ids or -1. An id outside [0, E_global) or a map entry outside
// [-1, E) is a diag::Error (code "value") naming topk_ids / expert_map.
Plan make_plan(Carve& carve, std::int64_t M, std::int64_t k, std::int64_t E,
               const std::int32_t* ids, std::int64_t ld, const std::int32_t* expert_map,
               std::int64_t e_global);

// The flat [M, k] ids of topk_ids (i32) and its row stride (rows viewable as [M, k]).
struct Ids {
  const std::int32_t* data;
  std::int64_t ld;
};

// ---- shared arithmetic (reference and fast kernels evaluate these same expressions) -----

// a_scale * w_scale * acc + bias in f64: one order of operations for every kernel.
inline double dequant(float a_scale, float w_scale, double acc, double bias) {
  return static_cast<double>(a_scale) * static_cast<double>(w_scale) * acc + bias;
}
// silu_and_mul on one pair (OPS.md §11.4, §15.5): round_x(round_x(silu(g)) * u), f64 silu.
inline double silu_mul(DType x, double g, double u) {
  const double s = quant::round_to(x, g / (1.0 + std::exp(-g)));
  return quant::round_to(x, s * u);
}

}  // namespace symtrace::ops::moe
