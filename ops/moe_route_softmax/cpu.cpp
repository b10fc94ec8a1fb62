// moe_route_softmax fast kernel: per token, the logits row in f32, a vector softmax (one
// per ISA), an insertion top-k on the logits; OpenMP over tokens, scratch from the workspace.
#include <algorithm>
#include <cmath>
#include <limits>

#include <omp.h>

#include "ops/common/quantizers_op.hpp"
#include "ops/moe_route_softmax/route.hpp"

namespace symtrace::ops {
namespace route {

void softmax_row_scalar(const float* x, std::int64_t n, float* p) {
  float mx = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (std::int64_t i = 0; i < n; ++i) {
    nan |= std::isnan(x[i]);
    mx = std::max(mx, x[i]);
  }
  if (nan) {
    std::fill(p, p + n, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  float sum = 0.f;
  for (std::int64_t i = 0; i < n; ++i) sum += p[i] = std::exp(x[i] - mx);
  for (std::int64_t i = 0; i < n; ++i) p[i] /= sum;
}

}  // namespace route

namespace moe_route_softmax {

namespace v2 = boost::variant2;

op::Outputs run(const op::Args& a, op::KernelContext& cx, route::SoftmaxRow row) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const tensor::Tensor& logits = a.tensor("logits");
  const std::int64_t k = a.int_value("k");
  const bool renormalize = a.flag("renormalize");
  tensor::Tensor w = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor ids = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  const std::vector<std::int64_t> rows = qop::row_offsets(logits);
  const auto M = static_cast<std::int64_t>(rows.size());
  const std::int64_t E = logits.size(-1), es = logits.stride(-1);
  const int threads = M * E < 4096 ? 1 : (cx.threads > 0 ? cx.threads : omp_get_max_threads());
  // Per thread: the f32 logits row and its probabilities.
  const std::span<std::byte> ws =
      cx.alloc.workspace(static_cast<std::size_t>(threads * 2 * E) * sizeof(float));
  auto* scratch = reinterpret_cast<float*>(ws.data());
  auto* wp = w.data<float>();
  auto* ip = ids.data<std::int32_t>();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t m = 0; m < M; ++m) {
    float* l = scratch + 2 * E * omp_get_thread_num();
    float* p = l + E;
    for (std::int64_t e = 0; e < E; ++e)
      l[e] = quant::load_f32(logits.data_ptr(), logits.dtype(),
                             rows[static_cast<std::size_t>(m)] + e * es);
    row(l, E, p);
    std::int32_t* id = ip + m * k;
    route::select_topk(l, E, k, id, [](std::int64_t) { return false; });
    float sel = 0.f;
    for (std::int64_t j = 0; j < k; ++j) sel += p[id[j]];
    for (std::int64_t j = 0; j < k; ++j) wp[m * k + j] = renormalize ? p[id[j]] / sel : p[id[j]];
  }
  return {w, ids};
}

}  // namespace moe_route_softmax
}  // namespace symtrace::ops
