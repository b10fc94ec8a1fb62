// moe_route_grouped_sigmoid reference: full sorts, f64 weights, one rounding to f32.
#include <algorithm>
#include <limits>
#include <numeric>

#include "ops/common/quantizers_op.hpp"
#include "ops/moe_route_grouped_sigmoid/grouped.hpp"
#include "ops/moe_route_softmax/route.hpp"

namespace symtrace::ops::moe_route_grouped_sigmoid {

namespace v2 = boost::variant2;

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const tensor::Tensor& logits = a.tensor("logits");
  const tensor::Tensor bias = a.tensor("bias").contiguous();
  const std::int64_t k = a.int_value("k"), ng = a.int_value("n_group"),
                     tg = a.int_value("topk_group");
  const bool renormalize = a.flag("renormalize");
  const double scale = a.f64("routed_scale");
  tensor::Tensor w = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor ids = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  const std::vector<std::int64_t> rows = qop::row_offsets(logits);
  const std::int64_t E = logits.size(-1), es = logits.stride(-1), gs = E / ng;
  const auto by = [](const std::vector<float>& v) {
    return [&v](std::int64_t i, std::int64_t j) { return route::ranks_before(v[i], i, v[j], j); };
  };
  std::vector<float> c(static_cast<std::size_t>(E)), group(static_cast<std::size_t>(ng));
  std::vector<double> s(c.size());
  for (std::size_t m = 0; m < rows.size(); ++m) {
    for (std::int64_t e = 0; e < E; ++e) {
      const float l = quant::load_f32(logits.data_ptr(), logits.dtype(), rows[m] + e * es);
      s[e] = 1.0 / (1.0 + std::exp(-static_cast<double>(l)));
      c[e] = sigmoid_f32(l) + qop::load(bias, e);
    }
    // Group score: the sum of the group's two best biased scores.
    for (std::int64_t g = 0; g < ng; ++g) {
      std::vector<std::int64_t> members(static_cast<std::size_t>(gs));
      std::iota(members.begin(), members.end(), g * gs);
      std::stable_sort(members.begin(), members.end(), by(c));
      group[g] = c[members[0]] + c[members[1]];
    }
    std::vector<std::int64_t> gorder(static_cast<std::size_t>(ng));
    std::iota(gorder.begin(), gorder.end(), 0);
    std::stable_sort(gorder.begin(), gorder.end(), by(group));
    std::vector<float> masked(c.size(), -std::numeric_limits<float>::infinity());
    for (std::int64_t j = 0; j < tg; ++j)
      for (std::int64_t e = gorder[j] * gs; e < (gorder[j] + 1) * gs; ++e) masked[e] = c[e];
    std::vector<std::int64_t> order(static_cast<std::size_t>(E));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), by(masked));
    double sum = 0;
    for (std::int64_t j = 0; j < k; ++j) sum += s[order[j]];
    for (std::int64_t j = 0; j < k; ++j) {
      double v = s[order[j]];
      if (renormalize) v /= sum + 1e-20;
      w.data<float>()[m * k + j] = static_cast<float>(v * scale);
      ids.data<std::int32_t>()[m * k + j] = static_cast<std::int32_t>(order[j]);
    }
  }
  return {w, ids};
}

}  // namespace symtrace::ops::moe_route_grouped_sigmoid
