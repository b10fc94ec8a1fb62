// ops/common/elementwise — type promotion, broadcasting and the generic strided loops shared
// by add/sub/mul/div/neg/exp/silu/gelu/where/to.
//
// Promotion is PyTorch's result_type (c10/core/ScalarType.h promoteTypes plus the three
// categories of aten/native/TypeProperties.cpp): dimensioned tensors outrank 0-d tensors,
// which outrank Python scalars, except that a higher category only gives way to a lower one
// of a higher *kind* (bool < integer < float): int32 tensor + 0-d f32 -> f32, but bf16 tensor +
// 0-d f64 -> bf16 and int8 tensor + Python int -> int8 (refdata meta_shapes.json checks all 8×8
// pairs). fp8 follows what PyTorch's meta kernels answer (refdata #302/#304): an fp8 operand
// makes the result that fp8 dtype; two different fp8 dtypes do not promote.
//
// Real side: reference kernels compute in f64 (floats) or wrapping int64 (integers) from
// exactly decoded elements and round once to the output dtype.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "ops/common/fake_util.hpp"

namespace symtrace::ops::ew {

using tensor::Shape;
using tensor::Tensor;

// --- type promotion -------------------------------------------------------------------------

enum class Category : std::uint8_t { kTensor, kZeroDim, kScalar };
struct Operand {
  DType dtype;
  Category cat;
};
Operand operand_of(const TensorMeta& m);
Operand operand_of(const Tensor& t);
// A Python scalar (SymInt / double / bool): int -> i64, float -> f32 (the default dtype),
// bool -> bool, in the scalar category.
Operand operand_of_scalar(const op::Value& v);

bool is_floating(DType d);   // f64 .. fp8 (not e8m0 / packed f4)
bool is_integral(DType d);   // signed/unsigned ints, not bool
std::optional<DType> promote_types(DType a, DType b);  // nullopt: PyTorch refuses the pair
// The promoted dtype, or a "dtype" error naming both dtypes.
DType result_type(std::string_view op, std::span<const Operand> operands, std::string_view constraint = {});

// --- broadcasting ---------------------------------------------------------------------------

struct Named {
  std::string_view name;
  const SymShape* sizes;
};
// PyTorch broadcasting: align right; a constant 1 stretches; equal expressions match; any
// other pair is decided (proven unequal: "broadcast" error; unknown: a guard).
SymShape broadcast_shapes(const op::FakeContext& cx, std::span<const Named> shapes,
                          std::string_view constraint = {});
Shape broadcast_shapes(std::string_view op, std::span<const Shape> shapes);  // concrete

// --- element access (real side) -------------------------------------------------------------

double load_f64(const std::byte* p, DType d);
std::int64_t load_i64(const std::byte* p, DType d);  // integers and bool only
void store_f64(std::byte* p, DType d, double v);     // rounds once (ties to even; fp8 raw cast)
void store_i64(std::byte* p, DType d, std::int64_t v);  // wraps like a C cast

// A 0-d tensor holding a Python scalar (f64 / i64 / bool), for the loops below.
Tensor scalar_tensor(const op::Value& v);

// Strides (in elements) of t broadcast to `out`: 0 along stretched and missing dims.
std::vector<std::int64_t> broadcast_strides(const Tensor& t, const Shape& out);

// Calls f(offsets) for every index of `sizes` in row-major order, where offsets[k] is the
// element offset of operand k (sum of index * strides[k]).
void walk(const Shape& sizes, const std::vector<std::vector<std::int64_t>>& strides,
          const std::function<void(std::span<const std::int64_t>)>& f);

// out = f(ins...) elementwise with broadcasting, computing in f64 (float result) or wrapping
// int64 (integer/bool result). `out` is allocated contiguous with the broadcast shape.
using FloatFn = std::function<double(std::span<const double>)>;
using IntFn = std::function<std::int64_t(std::span<const std::int64_t>)>;
Tensor map_ref(std::span<const Tensor> ins, DType out_dtype, op::KernelContext& cx,
               const FloatFn& f, const IntFn& g, std::string_view op);

// Tolerance in units of the output dtype's epsilon (f32: 2^-23, bf16: 2^-7, f16: 2^-10),
// relative to |ref|, plus an absolute floor `atol`; NaN only where the reference has NaN.
op::Tolerance ulp_tolerance(double f32_ulps, double half_ulps, double atol = 0);

}  // namespace symtrace::ops::ew
