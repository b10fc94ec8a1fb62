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

}  // namespace symtrace::ops::attention_detail
