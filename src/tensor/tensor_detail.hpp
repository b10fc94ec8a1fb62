// Private helpers shared by tensor.cpp and tensor_copy.cpp: checked size arithmetic and
// structured errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <symtrace/tensor/tensor.hpp>

namespace symtrace::tensor::detail {

// Checked int64 arithmetic; overflow throws diag::Error (code "overflow") naming `what`.
[[noreturn]] void fail_overflow(std::string_view what, std::string got);
std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what);
std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what);

std::string shape_text(const Shape& s);  // "[4, 8]"
// Product of sizes; negative sizes are a "shape" error, overflow an "overflow" error.
std::int64_t checked_numel(const Shape& sizes);
// Bytes holding `elements` consecutive elements (f4: two per byte, rounded up).
std::int64_t storage_bytes_for(DType dtype, std::int64_t elements);
Shape contiguous_strides(const Shape& sizes);
bool is_contiguous(const Shape& sizes, const Shape& strides);

[[noreturn]] void fail_layout(std::string code, std::string argument, std::string expected,
                              std::string got, std::string message);

}  // namespace symtrace::tensor::detail
