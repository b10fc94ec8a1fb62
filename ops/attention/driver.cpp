// Attention driver: for each (batch, query head, block of query rows) the scores come from
// kernels::gemm_nt (q rows · k rows, both contiguous along D), the masked rows go through
// kernels::softmax_rows, and P·V is the per-ISA accumulation in attention_impl.hpp.
//
// Query blocks of kRowsPerBlock rows bound the f32 score scratch to kRowsPerBlock · T floats
// per thread while letting one GEMM serve a whole block in prefill. All ISA choices are
// resolved once per call (tensor::cpu_supports reads the environment: measured at 68% of a
// 512-token prefill when it was asked per row).
#include <algorithm>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>

#include "ops/attention/attention_impl.hpp"
#include "ops/attention/kernels.hpp"
#include "ops/linear/elem.hpp"
#include "ops/linear/kernels.hpp"
#include "ops/softmax/softmax_impl.hpp"

namespace symtrace::ops {

namespace attention_detail {

void pv_scalar(const float* p, std::int64_t n, const void* v, std::int64_t ldv, std::int64_t Dv,
               tensor::DType d, void* out, float* acc) {
  std::fill(acc, acc + Dv, 0.f);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t c = 0; c < Dv; ++c) acc[c] += p[j] * elem::load(v, d, j * ldv + c);
  for (std::int64_t c = 0; c < Dv; ++c) elem::store(out, d, c, acc[c]);
}

}  // namespace attention_detail

namespace kernels {

namespace {

constexpr std::int64_t kRowsPerBlock = 32;

// Keys [lo, hi) that query row i sees.
std::pair<std::int64_t, std::int64_t> key_range(const Attention& a, std::int64_t i) {
  if (!a.causal) return {0, a.T};
  const std::int64_t last = std::min(a.T - 1, i + a.q_offset);  // may be < 0: sees nothing
  std::int64_t lo = 0;
  if (a.window > 0) lo = std::max<std::int64_t>(0, i + a.q_offset - a.window + 1);
  return {lo, std::max(lo, last + 1)};
}

}  // namespace

void attention(const Attention& a, tensor::Isa isa) {
  using namespace attention_detail;
  if (a.q_stride[3] != 1 || a.k_stride[3] != 1 || a.v_stride[3] != 1 || a.out_stride[3] != 1)
    throw diag::InternalError("attention kernel: the head dim must have unit stride");
  if (a.Hkv <= 0 || a.Hq % a.Hkv != 0) throw diag::InternalError("attention kernel: Hq % Hkv != 0");
  const auto allowed = [&](tensor::Isa want) {
    return static_cast<int>(isa) >= static_cast<int>(want) && tensor::cpu_supports(want);
  };
  // Resolved once: cpu_supports reads the environment, too slow for a per-row call.
  const PvFn pv = allowed(tensor::Isa::kAvx512) ? pv_avx512 : allowed(tensor::Isa::kAvx2) ? pv_avx2 : pv_scalar;
  // Decode: the heads of a GQA group share one query row, so V is read once for all of them.
  const auto pv_group = allowed(tensor::Isa::kAvx512) ? pv_group_avx512 : nullptr;
  const softmax_detail::RowFn softmax_row = allowed(tensor::Isa::kAvx512) ? softmax_detail::row_avx512
                                            : allowed(tensor::Isa::kAvx2) ? softmax_detail::row_avx2
                                                                          : softmax_detail::row_scalar;
  const tensor::Isa gemm_path = gemm_nt_path(a.dtype, isa);
  const std::size_t es = a.dtype == tensor::DType::kF32 ? 4 : 2;
  const std::int64_t group = a.Hq / a.Hkv;
  const std::int64_t blocks = (a.S + kRowsPerBlock - 1) / kRowsPerBlock;
  // One task per (batch, kv head, query block): the heads of a GQA group share its keys, and a
  // single-row block (decode) scores all of them in one GEMM, so K is read once per group.
  const std::int64_t tasks = a.B * a.Hkv * blocks;
  const auto at = [es](const void* p, std::int64_t off) {
    return static_cast<const char*>(p) + static_cast<std::size_t>(off) * es;
  };
#pragma omp parallel if (tasks > 1 && a.S * a.T * a.D * group >= 4096)
  {
    std::vector<float> scores(static_cast<std::size_t>(std::max(kRowsPerBlock, group) * std::max<std::int64_t>(a.T, 1)));
    std::vector<float> acc(static_cast<std::size_t>(a.Dv)), tmp(static_cast<std::size_t>(std::max<std::int64_t>(a.T, 1)));
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < tasks; ++t) {
      const std::int64_t blk = t % blocks, g = (t / blocks) % a.Hkv, b = t / (blocks * a.Hkv);
      const std::int64_t i0 = blk * kRowsPerBlock, i1 = std::min(a.S, i0 + kRowsPerBlock);
      // Keys any row of the block sees: [lo, hi).
      const std::int64_t lo = key_range(a, i0).first, hi = key_range(a, i1 - 1).second;
      const std::int64_t n = std::max<std::int64_t>(hi - lo, 0);
      const void* krow = n > 0 ? at(a.k, b * a.k_stride[0] + lo * a.k_stride[1] + g * a.k_stride[2]) : nullptr;
      const void* vrow = at(a.v, b * a.v_stride[0] + g * a.v_stride[2]);
      const bool one_row = i1 - i0 == 1;
      if (one_row && n > 0) {  // rows = the group's heads, one query position
        const void* qrow = at(a.q, b * a.q_stride[0] + i0 * a.q_stride[1] + g * group * a.q_stride[2]);
        gemm_nt_on_path(group, n, a.D, {qrow, a.dtype, a.q_stride[2]}, {krow, a.dtype, a.k_stride[1]}, nullptr,
                        a.dtype, scores.data(), tensor::DType::kF32, n, gemm_path);
        if (pv_group) {  // every head sees keys [lo, hi): softmax each row, then one P·V pass
          for (std::int64_t hh = 0; hh < group; ++hh) {
            float* row = scores.data() + hh * n;
            for (std::int64_t j = 0; j < n; ++j) row[j] *= a.scale;
            softmax_row(row, tensor::DType::kF32, row, tensor::DType::kF32, n, false, tmp.data());
          }
          void* o = const_cast<char*>(at(a.out, b * a.out_stride[0] + i0 * a.out_stride[1] + g * group * a.out_stride[2]));
          pv_group(scores.data(), n, group, n, at(vrow, lo * a.v_stride[1]), a.v_stride[1], a.Dv, a.dtype, o,
                   a.out_stride[2]);
          continue;
        }
      }
      for (std::int64_t hh = 0; hh < group; ++hh) {
        const std::int64_t h = g * group + hh;
        if (!one_row && n > 0) {  // rows = the block's query positions, one head
          const void* qrow = at(a.q, b * a.q_stride[0] + i0 * a.q_stride[1] + h * a.q_stride[2]);
          gemm_nt_on_path(i1 - i0, n, a.D, {qrow, a.dtype, a.q_stride[1]}, {krow, a.dtype, a.k_stride[1]},
                          nullptr, a.dtype, scores.data(), tensor::DType::kF32, n, gemm_path);
        }
        for (std::int64_t i = i0; i < i1; ++i) {
          float* s = scores.data() + (one_row ? hh : i - i0) * n;
          void* o = const_cast<char*>(at(a.out, b * a.out_stride[0] + i * a.out_stride[1] + h * a.out_stride[2]));
          const auto [rlo, rhi] = key_range(a, i);
          if (rhi <= rlo) {  // sees no key: zeros
            for (std::int64_t c = 0; c < a.Dv; ++c) elem::store(o, a.dtype, c, 0.f);
            continue;
          }
          float* row = s + (rlo - lo);
          const std::int64_t m = rhi - rlo;
          for (std::int64_t j = 0; j < m; ++j) row[j] *= a.scale;
          softmax_row(row, tensor::DType::kF32, row, tensor::DType::kF32, m, false, tmp.data());
          pv(row, m, at(vrow, rlo * a.v_stride[1]), a.v_stride[1], a.Dv, a.dtype, o, acc.data());
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace symtrace::ops
