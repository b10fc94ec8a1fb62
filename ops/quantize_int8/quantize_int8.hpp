// quantize_int8 internals shared by op.cpp, ref.cpp and cpu.cpp (OPS.md §4.4, §15.3).
#pragma once

#include <cstdint>

#include <symtrace/op/op_def.hpp>

#include "ops/common/quantizers.hpp"

namespace symtrace::ops::quantize_int8 {

enum class Mode : std::uint8_t {
  kStatic,     // scale [1] given (azp [1] given when asymmetric)
  kTensor,     // dynamic symmetric per-tensor
  kToken,      // dynamic symmetric per-token
  kTokenAsym,  // dynamic asymmetric per-token
  kGroup,      // dynamic symmetric per-token-group 1 x g
};

struct Config {
  Mode mode = Mode::kToken;
  bool symmetric = true;
  std::int64_t group = 128;
};
Config config(const op::Args& a);

op::Outputs fake(const op::Args& a, op::FakeContext& cx);
op::Outputs reference(const op::Args& a, op::KernelContext& cx);
op::Outputs run(const op::Args& a, op::KernelContext& cx, const quant::RowKernels& k);

}  // namespace symtrace::ops::quantize_int8
