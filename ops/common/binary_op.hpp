// ops/common/binary_op — one definition shared by add, sub, mul, div, floor_divide: each folder
// states its math and rules in a BinarySpec and registers two ops, `NAME(Tensor self, Tensor
// other)` and `NAME_scalar(Tensor self, Scalar other)` (a Python number whose kind takes part
// in promotion). Both fakes: broadcast shape, promoted dtype, fresh row-major output.
//
//   C1: self and other broadcast                                                  code "broadcast"
//   C2: the dtypes promote (and the op accepts the result, e.g. no bool for sub)  code "dtype"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <symtrace/op/registry.hpp>

#include "ops/common/elementwise.hpp"
#include "ops/common/ew_kernels.hpp"

namespace symtrace::ops {

struct BinarySpec {
  std::string name{};  // "add"
  std::string doc{};   // one line, the math
  double (*f64)(double, double) = nullptr;                    // float results, in f64
  std::int64_t (*i64)(std::int64_t, std::int64_t) = nullptr;  // integer/bool results, wrapping
  bool true_division = false;        // integer results become the default float (f32)
  std::string bool_error{};          // non-empty: a bool operand is refused with this message
  std::optional<ewk::BinOp> fast{};  // the contiguous f32/bf16 kernels, when the op has them
  double divisor_lo = -2;            // sample range of `other` (floor_divide keeps ints nonzero)
};

void register_binary(op::Registry& r, const BinarySpec& spec);

}  // namespace symtrace::ops
