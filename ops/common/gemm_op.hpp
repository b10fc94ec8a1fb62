// ops/common/gemm_op — op-side plumbing shared by the quantized GEMM ops (fp8_gemm,
// fp8_gemm_w8a16, block_fp8_gemm, int8_gemm, int8_linear): the affine epilogue that turns
// accumulator blocks into the output dtype, the ISA choice of a variant, the reference's
// f64 result with the OPS.md §15.7 error bound, and opcheck's comparison against it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <symtrace/op/op_def.hpp>

#include "ops/common/gemm_kernels.hpp"
#include "ops/common/quant.hpp"

namespace symtrace::ops::gemm_op {

using tensor::Tensor;

// y[m, n] = (acc[m, n] - z[m] * colsum[n]) * sa[m] * sb[n] + bias[n], rounded once to the
// output dtype (OPS.md §5, §8: bias is added in f32 before the single rounding).
// Unset pointers drop their term (sa/sb = 1, z = 0, bias = 0).
struct Affine {
  RowScale sa{};
  ChannelScale sb{};
  const std::int32_t* z = nullptr;  // per-row zero point (stride z_stride; 0: per-tensor)
  std::int64_t z_stride = 0;
  const std::int32_t* colsum = nullptr;
  const float* bias = nullptr;  // [N] f32 (converted once per call)
  void* out = nullptr;
  DType out_dtype = DType::kF32;
  std::int64_t ldo = 0;  // elements
};
gemm::Epilogue affine_epilogue(const Affine& e, bool int_acc);

// A float-accumulating GEMM (fp8/bf16/f16 operands) through the packed driver, or for
// M <= kGemvMaxM on AVX-512 with an e4m3fn weight and no block scales, the decode GEMV.
struct FloatCall {
  gemm::MatA a;
  std::int64_t M = 0, N = 0, K = 0;
  gemm::MatB b;
  Affine epi;  // bias is filled in from `bias`
  const Tensor* bias = nullptr;
  const gemm::BlockScales* block = nullptr;
};
void compute_float(FloatCall c, gemm::PackKind kind, tensor::Isa isa, op::KernelContext& cx);

// Bias [N] of any float dtype as f32, in `ws` (nullptr when absent).
const float* bias_f32(const Tensor* bias, std::span<std::byte> ws);
std::size_t bias_bytes(const Tensor* bias);

// Splits one workspace request into consecutive 64-byte-aligned slices.
class Workspace {
 public:
  Workspace(op::Allocator& alloc, std::initializer_list<std::size_t> sizes);
  std::span<std::byte> operator[](std::size_t i) const { return slices_[i]; }

 private:
  std::vector<std::span<std::byte>> slices_;
};

// ---- reference side ---------------------------------------------------------------------

// The reference result in f64 with, per element, the f32 error bound of OPS.md §15.7:
//   bound = (K + 2) * 2^-24 * (sum_k |scaled product_k| + |bias|).
struct RefResult {
  std::int64_t M = 0, N = 0;
  std::vector<double> y;      // [M, N]
  std::vector<double> bound;  // [M, N]
};
// Writes y (rounded f64 -> f32 -> out dtype) into a fresh output tensor of meta `m`.
Tensor write_result(op::Allocator& alloc, const TensorMeta& m, const RefResult& r);

// got vs the reference's y: |got - y| <= bound + 1 ulp of a 16-bit output dtype at |y|.
// Returns "" or the first mismatches with their bounds.
std::string compare_to_bound(const Tensor& got, const RefResult& r);

// Operand helpers: values of a tensor in row-major logical order, and per-row/per-channel
// scale vectors expanded to M / N entries.
std::vector<double> values(const Tensor& t);
std::vector<double> expand(const Tensor* scale, std::int64_t n);  // [1] or n values; null: 1s

// Chooses a variant's microkernel; the op's variant list names the ISA, this gives the table.
const gemm::Microkernel& microkernel(gemm::PackKind kind, tensor::Isa isa);

// Samples: a random activation/weight of the given dtype in [lo, hi).
Tensor random(tensor::Shape shape, DType d, std::uint64_t seed, float lo = -1.f, float hi = 1.f);
Tensor scalar_f32(float v);
// A per-channel [N, 1] (or per-token [lead..., 1]) f32 scale with values in [lo, hi).
Tensor random_scale(tensor::Shape shape, std::uint64_t seed, float lo, float hi);

}  // namespace symtrace::ops::gemm_op
