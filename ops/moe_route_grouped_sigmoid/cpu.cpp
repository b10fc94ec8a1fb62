// moe_route_grouped_sigmoid fast kernel: insertion top-k for the groups and the experts,
// OpenMP over tokens, scratch from the workspace. The sigmoid is evaluated as the f32
// selection score of grouped.hpp on every path: ranking near-ties must not depend on the
// ISA, and the O(E) scalar work per token is negligible next to the experts it routes to.
#include <limits>

#include <omp.h>

#include "ops/common/quantizers_op.hpp"
#include "ops/moe_route_grouped_sigmoid/grouped.hpp"
#include "ops/moe_route_softmax/route.hpp"

namespace symtrace::ops::moe_route_grouped_sigmoid {

namespace v2 = boost::variant2;

op::Outputs run(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const tensor::Tensor& logits = a.tensor("logits");
  const tensor::Tensor& bias = a.tensor("bias");
  const std::int64_t k = a.int_value("k"), ng = a.int_value("n_group"),
                     tg = a.int_value("topk_group");
  const bool renormalize = a.flag("renormalize");
  const auto scale = static_cast<float>(a.f64("routed_scale"));
  tensor::Tensor w = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor ids = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  const std::vector<std::int64_t> rows = qop::row_offsets(logits);
  const auto M = static_cast<std::int64_t>(rows.size());
  const std::int64_t E = logits.size(-1), es = logits.stride(-1), gs = E / ng;
  const int threads = M * E < 4096 ? 1 : (cx.threads > 0 ? cx.threads : omp_get_max_threads());
  // Per thread: s[E], c[E], group scores [ng], kept groups [tg] (floats, then ints).
  const std::int64_t per = 2 * E + ng + tg + 2;
  const std::span<std::byte> ws = cx.alloc.workspace(static_cast<std::size_t>(threads * per) * 4);
  std::vector<float> b(static_cast<std::size_t>(E));
  const std::int64_t bs = bias.stride(0);
  for (std::int64_t e = 0; e < E; ++e)
    b[e] = quant::load_f32(bias.data_ptr(), bias.dtype(), e * bs);
  auto* wp = w.data<float>();
  auto* ip = ids.data<std::int32_t>();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t m = 0; m < M; ++m) {
    auto* s = reinterpret_cast<float*>(ws.data()) + per * omp_get_thread_num();
    float* c = s + E;
    float* group = c + E;
    auto* kept = reinterpret_cast<std::int32_t*>(group + ng);
    for (std::int64_t e = 0; e < E; ++e) {
      s[e] = sigmoid_f32(quant::load_f32(logits.data_ptr(), logits.dtype(),
                                         rows[static_cast<std::size_t>(m)] + e * es));
      c[e] = s[e] + b[e];
    }
    for (std::int64_t g = 0; g < ng; ++g) {
      std::int32_t two[2];
      route::select_topk(c + g * gs, gs, 2, two, [](std::int64_t) { return false; });
      group[g] = c[g * gs + two[0]] + c[g * gs + two[1]];
    }
    route::select_topk(group, ng, tg, kept, [](std::int64_t) { return false; });
    // Experts of dropped groups are skipped (the -inf mask of the reference).
    const auto dropped = [&](std::int64_t e) {
      const std::int64_t g = e / gs;
      for (std::int64_t j = 0; j < tg; ++j)
        if (kept[j] == g) return false;
      return true;
    };
    std::int32_t* id = ip + m * k;
    route::select_topk(c, E, k, id, dropped);
    float sum = 0.f;
    for (std::int64_t j = 0; j < k; ++j) sum += s[id[j]];
    for (std::int64_t j = 0; j < k; ++j)
      wp[m * k + j] = (renormalize ? s[id[j]] / (sum + 1e-20f) : s[id[j]]) * scale;
  }
  return {w, ids};
}

}  // namespace symtrace::ops::moe_route_grouped_sigmoid
