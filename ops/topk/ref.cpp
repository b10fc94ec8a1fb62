// Reference kernel of topk: a stable sort per row (ties to the lower index, NaN largest).
#include <algorithm>
#include <cmath>
#include <numeric>

#include <symtrace/op/op_def.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

op::Outputs topk_fake(const op::Args& a, op::FakeContext& cx);  // op.cpp

op::Outputs topk_reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(topk_fake, a, "topk");
  const Tensor& x = a.tensor("x");
  const std::int64_t k = a.int_value("k");
  const bool largest = a.flag("largest");
  const std::int64_t rank = std::max<std::int64_t>(x.dim(), 1);
  const std::int64_t d = a.int_value("dim") < 0 ? a.int_value("dim") + rank : a.int_value("dim");
  const std::int64_t n = x.dim() == 0 ? 1 : x.size(d);
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t i = 0; i < d && i < x.dim(); ++i) outer *= x.size(i);
  for (std::int64_t i = d + 1; i < x.dim(); ++i) inner *= x.size(i);
  const std::vector<double> X = nn::read_f64(x);
  std::vector<double> vals(static_cast<std::size_t>(outer * k * inner)),
      idx(static_cast<std::size_t>(outer * k * inner));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  // a before b in the output order. NaN ranks above every number (largest) or below (smallest).
  const auto before = [&](double va, std::int64_t ia, double vb, std::int64_t ib) {
    const bool na = std::isnan(va), nb = std::isnan(vb);
    if (na || nb) {
      if (na && nb) return ia < ib;
      return largest ? na : nb;
    }
    if (va != vb) return largest ? va > vb : va < vb;
    return ia < ib;
  };
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t in = 0; in < inner; ++in) {
      const auto at = [&](std::int64_t j) { return X[static_cast<std::size_t>((o * n + j) * inner + in)]; };
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](std::int64_t i, std::int64_t j) { return before(at(i), i, at(j), j); });
      for (std::int64_t j = 0; j < k; ++j) {
        const auto dst = static_cast<std::size_t>((o * k + j) * inner + in);
        vals[dst] = at(order[static_cast<std::size_t>(j)]);
        idx[dst] = static_cast<double>(order[static_cast<std::size_t>(j)]);
      }
    }
  Tensor v = cx.alloc.output(0, nn::out_sizes(f, 0), x.dtype());
  Tensor i = cx.alloc.output(1, nn::out_sizes(f, 1), DType::kI64);
  nn::write_f64(v, vals);
  nn::write_f64(i, idx);
  return {v, i};
}

}  // namespace symtrace::ops
