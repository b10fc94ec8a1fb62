// Internal to ops/attention: the per-ISA P·V accumulation.
#pragma once

#include <cstdint>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::attention_detail {

// out[0:Dv] = round(sum_{j < n} p[j] · v_j), v_j at v + j * ldv (elements, dtype d).
using PvFn = void (*)(const float* p, std::int64_t n, const void* v, std::int64_t ldv,
                      std::int64_t Dv, tensor::DType d, void* out, float* acc);
void pv_scalar(const float* p, std::int64_t n, const void* v, std::int64_t ldv, std::int64_t Dv,
               tensor::DType d, void* out, float* acc);
void pv_avx2(const float* p, std::int64_t n, const void* v, std::int64_t ldv, std::int64_t Dv,
             tensor::DType d, void* out, float* acc);
void pv_avx512(const float* p, std::int64_t n, const void* v, std::int64_t ldv, std::int64_t Dv,
               tensor::DType d, void* out, float* acc);

// The same for G rows of probabilities over one V (the query heads of a GQA group in decode):
// out + h * ldo = round(sum_{j < n} p[h * ldp + j] · v_j), h < G. Each head's sum runs in the
// order pv_avx512's does, so the results are identical; V is read once for all G heads.
void pv_group_avx512(const float* p, std::int64_t ldp, std::int64_t G, std::int64_t n, const void* v,
                     std::int64_t ldv, std::int64_t Dv, tensor::DType d, void* out, std::int64_t ldo);

}  // namespace symtrace::ops::attention_detail
