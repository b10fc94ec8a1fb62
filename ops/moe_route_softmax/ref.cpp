// moe_route_softmax reference: f64 softmax, a full sort for the top-k, one rounding to f32.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ops/common/quantizers_op.hpp"
#include "ops/moe_route_softmax/route.hpp"

namespace symtrace::ops::moe_route_softmax {

namespace v2 = boost::variant2;

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const tensor::Tensor& logits = a.tensor("logits");
  const std::int64_t k = a.int_value("k");
  const bool renormalize = a.flag("renormalize");
  tensor::Tensor w = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor ids = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  const std::vector<std::int64_t> rows = qop::row_offsets(logits);
  const std::int64_t E = logits.size(-1), es = logits.stride(-1);
  std::vector<double> l(static_cast<std::size_t>(E)), p(l.size());
  std::vector<std::int64_t> order(l.size());
  for (std::size_t m = 0; m < rows.size(); ++m) {
    for (std::int64_t e = 0; e < E; ++e)
      l[e] = quant::load_f32(logits.data_ptr(), logits.dtype(), rows[m] + e * es);
    const double mx = *std::max_element(l.begin(), l.end());
    double sum = 0;
    for (std::int64_t e = 0; e < E; ++e) sum += p[e] = std::exp(l[e] - mx);
    for (double& v : p) v /= sum;
    // Softmax is monotonic: ranking the logits ranks the probabilities, without rounding.
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t i, std::int64_t j) {
      return route::ranks_before(l[i], i, l[j], j);
    });
    double sel = 0;
    for (std::int64_t j = 0; j < k; ++j) sel += p[order[j]];
    for (std::int64_t j = 0; j < k; ++j) {
      const double v = p[order[j]];
      w.data<float>()[m * k + j] = static_cast<float>(renormalize ? v / sel : v);
      ids.data<std::int32_t>()[m * k + j] = static_cast<std::int32_t>(order[j]);
    }
  }
  return {w, ids};
}

}  // namespace symtrace::ops::moe_route_softmax
