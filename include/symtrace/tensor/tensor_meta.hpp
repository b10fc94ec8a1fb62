// tensor::TensorMeta — a tensor without data: symbolic sizes and strides, dtype, device.
//
// Layout is part of the meta: a transposed view differs from a contiguous tensor of the
// same sizes, which is how layout bugs become visible at trace time.
#pragma once

#include <string>
#include <vector>

#include <symtrace/sym/cond.hpp>
#include <symtrace/sym/sym_int.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::sym {
class ShapeEnv;
}

namespace symtrace::tensor {

using sym::SymInt;
using SymShape = std::vector<SymInt>;

enum class Device : std::uint8_t { kCpu, kMeta };
std::string_view device_name(Device d);

// Quantization tags carried by weights and scales (OPS.md section 3). Layout is decided by
// tag, never inferred from shape: shapes cannot tell NK from KN when N == K.
enum class WeightLayout : std::uint8_t { kNone, kNK, kKN, kPacked };
enum class ScaleFormat : std::uint8_t { kNone, kF32, kF32Pow2, kUE8M0, kUE8M0Packed4, kE4M3 };
std::string_view weight_layout_name(WeightLayout l);
std::string_view scale_format_name(ScaleFormat f);

struct TensorMeta {
  SymShape sizes;
  SymShape strides;
  SymInt storage_offset = 0;
  DType dtype = DType::kF32;
  Device device = Device::kMeta;
  WeightLayout layout = WeightLayout::kNone;  // set on weights
  ScaleFormat scale_fmt = ScaleFormat::kNone;  // set on scales

  // Row-major contiguous meta of the given sizes.
  static TensorMeta contiguous(SymShape sizes, DType dtype, Device device = Device::kMeta);
  static SymShape contiguous_strides(const SymShape& sizes);

  std::int64_t dim() const { return static_cast<std::int64_t>(sizes.size()); }
  // Python-style dim wrapping; throws diag::Error (code "dim") when out of range.
  std::int64_t wrap_dim(std::int64_t d) const;
  const SymInt& size(std::int64_t d) const { return sizes[wrap_dim(d)]; }
  const SymInt& stride(std::int64_t d) const { return strides[wrap_dim(d)]; }

  SymInt numel() const;
  SymInt nbytes() const;  // storage bytes of the elements (f4 pairs: numel/2)
  // Decided through env (size-1 dims ignore their stride, as PyTorch does).
  sym::Truth is_contiguous(const sym::ShapeEnv& env) const;
  // Structurally identical sizes/strides/offset/dtype (exact, no decision).
  bool identical(const TensorMeta& o) const;

  std::string shape_str() const;  // "[B, S, 4096]"
  std::string str() const;        // "bf16[B, S, 4096] strides [4096*S, 4096, 1]"
};

std::string shape_str(const SymShape& s);

// Python-style dim wrapping for a tensor of `rank` dims: d in [-rank, rank) -> [0, rank).
// With wrap_scalar, a 0-d tensor accepts -1 and 0 (as PyTorch's reductions do). Out of
// range throws diag::Error (code "dim") with the valid range.
std::int64_t wrap_dim(std::int64_t d, std::int64_t rank, bool wrap_scalar = false);

}  // namespace symtrace::tensor
