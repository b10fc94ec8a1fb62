// MoE routing internals shared by moe_route_softmax and moe_route_grouped_sigmoid
// (OPS.md §9.1, §9.2): the top-k order, and the vector softmax rows of each ISA.
#pragma once

#include <cmath>
#include <cstdint>

#include <symtrace/op/op_def.hpp>

namespace symtrace::ops::route {

// The top-k order of OPS.md §9.1 / §11.6: larger first, ties to the lower index; NaN ranks
// above every number (as torch.topk does), so a NaN router output stays visible.
inline bool ranks_before(float va, std::int64_t ia, float vb, std::int64_t ib) {
  const bool na = std::isnan(va), nb = std::isnan(vb);
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return ia < ib;
}
inline bool ranks_before(double va, std::int64_t ia, double vb, std::int64_t ib) {
  const bool na = std::isnan(va), nb = std::isnan(vb);
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return ia < ib;
}

// ids[0..k) = the k best of v[0..n) in that order, by insertion (O(n*k), k small);
// `skip(i)` excludes candidates.
template <class T, class Skip>
void select_topk(const T* v, std::int64_t n, std::int64_t k, std::int32_t* ids, Skip skip) {
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (skip(i)) continue;
    if (count == k && !ranks_before(v[i], i, v[ids[k - 1]], ids[k - 1])) continue;
    std::int64_t j = count < k ? count++ : k - 1;
    // i is scanned in increasing order, so equal values keep earlier ids first.
    while (j > 0 && ranks_before(v[i], i, v[ids[j - 1]], ids[j - 1])) {
      ids[j] = ids[j - 1];
      --j;
    }
    ids[j] = static_cast<std::int32_t>(i);
  }
}

// p = exp(x - max x) / sum; all NaN when x holds a NaN. One per ISA.
using SoftmaxRow = void (*)(const float* x, std::int64_t n, float* p);
void softmax_row_scalar(const float* x, std::int64_t n, float* p);
void softmax_row_avx2(const float* x, std::int64_t n, float* p);
void softmax_row_avx512(const float* x, std::int64_t n, float* p);

}  // namespace symtrace::ops::route

namespace symtrace::ops::moe_route_softmax {
op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
op::Outputs run(const op::Args& a, op::KernelContext& cx, route::SoftmaxRow row);
}  // namespace symtrace::ops::moe_route_softmax
