#include "ops/int8_moe_experts/moe.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ops/common/quantizers_op.hpp"

namespace symtrace::ops::moe {

void check_x(const CheckSite& site, const TensorMeta& x) {
  require_dtype(site, "x", x, {DType::kBF16, DType::kF16, DType::kF32});
  if (x.dim() < 1)
    fail(site, violation("shape", "x", "[*, H]", x.shape_str(), "x must have at least one dim"));
}

SymInt check_routes(const CheckSite& site, const TensorMeta& x, const TensorMeta& topk_w,
                    const TensorMeta& topk_ids) {
  require_dtype(site, "topk_w", topk_w, {DType::kF32});
  require_dtype(site, "topk_ids", topk_ids, {DType::kI32});
  if (topk_ids.dim() != x.dim())
    fail(site,
         violation("shape", "topk_ids", "x.sizes[:-1] + [k]", topk_ids.shape_str(),
                   fmt::format("topk_ids must keep x's leading dims (x is {})", x.shape_str()),
                   "routes come from moe_route_* on the same tokens", {}));
  const SymInt k = topk_ids.sizes.back();
  SymShape want = qop::leading_dims(x);
  want.push_back(k);
  require_shape(site, "shape", "topk_ids", topk_ids, want);
  require_shape(site, "shape", "topk_w", topk_w, want);
  return k;
}

void check_expert_scale(const CheckSite& site, std::string_view arg, const TensorMeta& scale,
                        const SymInt& E, const SymInt& N) {
  require_scale_dtype(site, arg, scale);
  if (scale.dim() == 1) {
    require_shape(site, "scale-layout", arg, scale, {E});
    return;
  }
  std::string hint;
  if (scale.dim() == 2)
    hint =
        "Quark stores 1-D per-channel scales; the loader must append the trailing 1 "
        "(vLLM #41892: [E, N] scales read as [E, N, 1] gave garbage tokens)";
  if (scale.dim() != 3) {
    Violation v =
        violation("scale-layout", std::string(arg),
                  fmt::format("[{}, {}, 1] or [{}]", E.str(), N.str(), E.str()), scale.shape_str(),
                  fmt::format("per-expert scale {} must be per-channel [E, N, 1] or "
                              "per-tensor [E]",
                              arg),
                  hint, {E, N});
    fail(site, std::move(v));
  }
  require_shape(site, "scale-layout", arg, scale, {E, N, 1}, hint);
}

void check_expert_bias(const CheckSite& site, std::string_view arg, const TensorMeta* bias,
                       const SymInt& E, const SymInt& N) {
  if (bias == nullptr) return;
  require_dtype(site, arg, *bias, {DType::kF32, DType::kBF16, DType::kF16});
  require_shape(site, "shape", arg, *bias, {E, N});
}

void check_expert_map(const CheckSite& site, const TensorMeta* map) {
  if (map == nullptr) return;
  require_dtype(site, "expert_map", *map, {DType::kI32});
  if (map->dim() != 1)
    fail(site, violation("shape", "expert_map", "[E_global]", map->shape_str(),
                         "expert_map maps every global expert id to a local id or -1"));
}

void check_act(const CheckSite& site, std::string_view act) {
  if (act != "silu")
    qop::bad_argument(site, "act", "'silu'", fmt::format("'{}'", act),
                      "the expert activation is silu_and_mul (gate first)");
}

TensorMeta out_meta(const TensorMeta& x) {
  return TensorMeta::contiguous(x.sizes, x.dtype, x.device);
}

void Carve::throw_short() { throw diag::InternalError("moe: workspace smaller than planned"); }

std::size_t Plan::bytes(std::int64_t M, std::int64_t k, std::int64_t E) {
  const auto r = static_cast<std::size_t>(M * k);
  return Carve::bytes<std::int64_t>(static_cast<std::size_t>(E + 1)) +
         2 * Carve::bytes<std::int32_t>(r) +
         Carve::bytes<std::int32_t>(static_cast<std::size_t>(E));
}

Plan make_plan(Carve& carve, std::int64_t M, std::int64_t k, std::int64_t E,
               const std::int32_t* ids, std::int64_t ld, const std::int32_t* expert_map,
               std::int64_t e_global) {
  Plan p;
  p.M = M;
  p.k = k;
  p.E = E;
  p.offset = carve.take<std::int64_t>(static_cast<std::size_t>(E + 1));
  p.sorted = carve.take<std::int32_t>(static_cast<std::size_t>(M * k));
  p.pos = carve.take<std::int32_t>(static_cast<std::size_t>(M * k));
  p.active = carve.take<std::int32_t>(static_cast<std::size_t>(E));
  std::fill(p.offset, p.offset + E + 1, 0);
  const std::int64_t n_ids = expert_map ? e_global : E;
  // Pass 1: local expert of every route (kept in pos for now), counts.
  for (std::int64_t t = 0; t < M; ++t)
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int32_t id = ids[t * ld + j];
      if (id < 0 || id >= n_ids)
        diag::fail("value",
                   fmt::format("topk_ids[{}, {}] = {} is outside [0, {})", t, j, id, n_ids));
      std::int32_t e = id;
      if (expert_map) {
        e = expert_map[id];
        if (e < -1 || e >= E)
          diag::fail("value", fmt::format("expert_map[{}] = {} is outside [-1, {})", id, e, E));
      }
      p.pos[t * k + j] = e;
      if (e >= 0) ++p.offset[e + 1];
    }
  for (std::int64_t e = 0; e < E; ++e) {
    if (p.offset[e + 1] > 0) p.active[p.n_active++] = static_cast<std::int32_t>(e);
    p.offset[e + 1] += p.offset[e];
  }
  p.R = p.offset[E];
  // Pass 2: a stable counting sort (route order kept within an expert).
  std::int64_t* fill = p.offset;  // reuse as a cursor, restored below
  for (std::int64_t r = 0; r < M * k; ++r) {
    const std::int32_t e = p.pos[r];
    if (e < 0) {
      p.pos[r] = -1;
      continue;
    }
    const std::int64_t at = fill[e]++;
    p.sorted[at] = static_cast<std::int32_t>(r);
    p.pos[r] = static_cast<std::int32_t>(at);
  }
  for (std::int64_t e = E; e > 0; --e) p.offset[e] = p.offset[e - 1];
  p.offset[0] = 0;
  return p;
}

}  // namespace symtrace::ops::moe
