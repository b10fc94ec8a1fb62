// ops/common/unary_op — one definition shared by neg, exp, silu, gelu: the result dtype rule,
// a fresh row-major output of self's sizes, and an f64 reference rounded once.
//
// Ops with a `fast` kernel get contiguous f32/bf16 variants (AVX-512, scalar) beside it.
//
//   C1: self's dtype suits the op (bool for neg; floats only for silu, gelu)     code "dtype"
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <symtrace/op/registry.hpp>

#include "ops/common/elementwise.hpp"
#include "ops/common/ew_kernels.hpp"

namespace symtrace::ops {

struct UnarySpec {
  enum class Result : std::uint8_t {
    kSame,       // self's dtype (neg)
    kFloat,      // floats keep theirs, integers and bool become f32 (exp)
    kFloatOnly,  // floats only (silu, gelu)
  };
  std::string name{};
  std::string doc{};
  std::string extra_args{};  // schema text after self: ", str approximate='none'"
  Result result = Result::kSame;
  std::string bool_error{};  // non-empty: bool self is refused with this message
  // Checks the extra arguments (fake and reference); throws a diagnostic.
  std::function<void(const op::Args&, std::string_view op)> check{};
  // The element function for these arguments: f64 for float results.
  std::function<std::function<double(double)>(const op::Args&)> f64{};
  std::int64_t (*i64)(std::int64_t) = nullptr;  // integer results (kSame), wrapping
  std::vector<op::Sample> (*extra_samples)(std::uint64_t seed) = nullptr;
  std::vector<std::string> extra_constraints{};  // "C2: ..." for the extra arguments
  // Contiguous f32/bf16 kernels (ew_kernels), one variant per ISA build, compared with the f64
  // reference within `fast_tolerance`.
  std::optional<ewk::UnaryOp> fast{};
  op::Tolerance fast_tolerance{};
};

void register_unary(op::Registry& r, const UnarySpec& spec);

}  // namespace symtrace::ops
