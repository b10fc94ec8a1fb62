// dequantize internals (OPS.md §1, §3, §15.1): the call's layout, the reference, and the
// per-ISA row kernels.
#pragma once

#include <cstdint>

#include <symtrace/op/op_def.hpp>

#include "ops/common/quant.hpp"

namespace symtrace::ops::dequant {

enum class Gran : std::uint8_t { kTensor, kRow, kGroup, kBlock };

// The call after validation: how scale (r, k) is found for flat row r of the output.
struct Layout {
  Gran gran = Gran::kTensor;
  bool fp4 = false;  // q is u8 packed e2m1 pairs: K = 2 * q.size(-1)
  std::int64_t bn = 1, bk = 1;
};
Layout layout(const op::Args& a, DType q_dtype);

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);

// One output row in f32: out[i] = (v(i) - z) * s[i / g] * gm, v = table[q[i]] (8-bit codes)
// or the e2m1 value of nibble i (fp4: q holds n / 2 bytes, low nibble first).
struct RowJob {
  const std::uint8_t* q;
  std::int64_t n;
  const float* table;  // 256 entries (8-bit codes)
  bool fp4;
  const float* s;
  std::int64_t g;  // elements per scale
  float z;
  float gm;
  float* out;
};
using DequantRow = void (*)(const RowJob& job);
void row_scalar(const RowJob& job);
void row_avx2(const RowJob& job);
void row_avx512(const RowJob& job);

op::Outputs run(const op::Args& a, op::KernelContext& cx, DequantRow row);

}  // namespace symtrace::ops::dequant
