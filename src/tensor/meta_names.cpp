// Names of the meta enums and dim wrapping: plain functions with no symbolic algebra, so
// concrete-tensor code links without the ShapeEnv.
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

#include <string>

#include <fmt/format.h>

namespace symtrace::tensor {

std::string_view device_name(Device d) {
  switch (d) {
    case Device::kCpu: return "cpu";
    case Device::kMeta: return "meta";
  }
  return "?";
}

std::string_view weight_layout_name(WeightLayout l) {
  switch (l) {
    case WeightLayout::kNone: return "none";
    case WeightLayout::kNK: return "NK";
    case WeightLayout::kKN: return "KN";
    case WeightLayout::kPacked: return "packed";
  }
  return "?";
}

std::string_view scale_format_name(ScaleFormat f) {  // OPS.md §2.1 scale_fmt values
  switch (f) {
    case ScaleFormat::kNone: return "none";
    case ScaleFormat::kF32: return "f32";
    case ScaleFormat::kF32Pow2: return "f32_pow2";
    case ScaleFormat::kUE8M0: return "ue8m0";
    case ScaleFormat::kUE8M0Packed4: return "ue8m0_packed4";
    case ScaleFormat::kE4M3: return "e4m3";
  }
  return "?";
}

std::int64_t wrap_dim(std::int64_t d, std::int64_t rank, bool wrap_scalar) {
  const std::int64_t r = rank == 0 && wrap_scalar ? 1 : rank;
  if (d >= -r && d < r) return d < 0 ? d + r : d;
  diag::Diagnostic diag;
  diag.code = "dim";
  diag.argument = "dim";
  diag.got = std::to_string(d);
  if (r == 0) {
    diag.expected = "no dim (the tensor is 0-d)";
    diag.message = fmt::format("dimension specified as {} but the tensor has no dimensions", d);
  } else {
    diag.expected = fmt::format("in [{}, {}]", -r, r - 1);
    diag.message = "dimension out of range";
  }
  throw diag::Error(std::move(diag));
}

}  // namespace symtrace::tensor
