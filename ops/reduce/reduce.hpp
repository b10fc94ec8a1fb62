// Internal to ops/reduce: the shared pieces of sum, mean, amax and argmax.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops::reduce_detail {

enum class Kind { kSum, kMean, kAmax, kArgmax };
std::string_view kind_name(Kind k);

// Which dims of x are reduced (one entry per dim; one entry for a 0-d x). nullopt or an empty
// list: all. Out-of-range or repeated dims are error[dim] at `site`.
std::vector<bool> reduced_dims(const nn::Site& site, const TensorMeta& x,
                               const std::optional<std::vector<std::int64_t>>& dims);
// sum of bool/ints -> i64, argmax -> i64, else x's dtype, unless requested.
DType result_dtype(Kind kind, DType in, std::optional<DType> requested);

// y (contiguous, sized by the fake) = the reduction of x, in f64, rounded once.
void reference(Kind kind, const Tensor& x, const std::optional<std::vector<std::int64_t>>& dims,
               Tensor& y);

}  // namespace symtrace::ops::reduce_detail
