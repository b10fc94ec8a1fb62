// quantize_fp8 internals shared by op.cpp, ref.cpp and cpu.cpp (OPS.md §4.1-§4.3, §4.5).
#pragma once

#include <cstdint>
#include <optional>

#include <symtrace/op/op_def.hpp>

#include "ops/common/quantizers.hpp"

namespace symtrace::ops::quantize_fp8 {

enum class Mode : std::uint8_t {
  kStatic,  // scale given: [1] per-tensor or [K] per input column
  kTensor,  // dynamic per-tensor
  kToken,   // dynamic per-token
  kGroup,   // dynamic per-token-group 1 x g
};

// The call's attributes, already validated by the fake.
struct Config {
  Mode mode = Mode::kTensor;
  std::int64_t group = 128;
  bool pow2 = false;       // scale_fmt "f32_pow2"
  bool col_major = false;  // group scales column-major, strides (1, M)
  std::optional<float> ub;
};
Config config(const op::Args& a);

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
// The fast kernel on one row-kernel table (one variant per ISA).
op::Outputs run(const op::Args& a, op::KernelContext& cx, const quant::RowKernels& k);

}  // namespace symtrace::ops::quantize_fp8
