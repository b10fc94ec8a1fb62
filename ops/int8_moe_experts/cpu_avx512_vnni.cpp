// AVX-512 VNNI int8 tile for the MoE expert GEMMs: qgemm's decode GEMV (ops/common/gemm,
// vpdpbusd on 4 weight rows x up to 4 routes, weights streamed once per 16-route block).
#include "ops/common/gemm_kernels.hpp"
#include "ops/int8_moe_experts/int8_moe.hpp"

namespace symtrace::ops::int8_moe {

void tile_avx512_vnni(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a,
                      std::int64_t lda, const std::int8_t* b, std::int64_t ldb, std::int32_t* out,
                      std::int64_t ldo) {
  // One thread: the MoE driver already spreads (expert, row chunk) items over the cores.
  gemm::avx512::gemv_i8(M, N, K, a, lda, b, ldb, out, ldo, nullptr, 1);
}

}  // namespace symtrace::ops::int8_moe
