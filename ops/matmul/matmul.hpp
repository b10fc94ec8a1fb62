// Internal to ops/matmul: the broadcast-batched product shared by matmul, mm and bmm.
#pragma once

#include <symtrace/op/op_def.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops::matmul_detail {

// How a (possibly broadcast) batch of [M, K] · [K, N] products is laid out in memory.
// 1-D operands are read as [1, K] (a) and [K, 1] (b), as torch.matmul does.
struct Plan {
  std::int64_t M = 1, N = 1, K = 0;
  tensor::Shape batch;               // broadcast batch sizes
  tensor::Shape a_bstride, b_bstride;  // element strides per batch dim (0 where broadcast)
  std::int64_t a_rs = 0, a_cs = 0;   // a[m, k] at a_rs*m + a_cs*k
  std::int64_t b_rs = 0, b_cs = 0;   // b[k, n] at b_rs*k + b_cs*n
  std::int64_t batch_count() const;
  // Element offsets of batch number i (row-major over `batch`).
  std::pair<std::int64_t, std::int64_t> offsets(std::int64_t i) const;
};
Plan plan(const Tensor& a, const Tensor& b);

// out (contiguous, a's dtype) = a @ b through kernels::gemm_nt on `isa`: operands whose rows
// are not K-contiguous are packed into workspace first; a batch that only a carries is folded
// into one GEMM when a's rows allow it.
void run_gemm(const Tensor& a, const Tensor& b, Tensor& out, Isa isa, op::Allocator& alloc);

// out = a @ b with f64 accumulation, rounded once (the reference).
void run_reference(const Tensor& a, const Tensor& b, Tensor& out);

// The variants shared by the three ops: f32/f16 on avx512, bf16 on avx512_bf16, all on avx2.
std::vector<op::Variant> variants(const std::string& op_name);

// OPS.md 15.7 bound for a product of the two inputs named "a" and "b".
std::string compare(const op::Args& in, std::size_t, const Tensor& got, const Tensor& ref);

}  // namespace symtrace::ops::matmul_detail
