// TensorMeta: symbolic layout queries, decided through a ShapeEnv; names and printing.
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

#include <string>

#include <fmt/format.h>

namespace symtrace::tensor {

TensorMeta TensorMeta::contiguous(SymShape sizes, DType dtype, Device device) {
  TensorMeta m;
  m.strides = contiguous_strides(sizes);
  m.sizes = std::move(sizes);
  m.dtype = dtype;
  m.device = device;
  return m;
}

SymShape TensorMeta::contiguous_strides(const SymShape& sizes) {
  SymShape st(sizes.size(), SymInt(1));
  for (std::size_t i = sizes.size(); i-- > 1;) {
    // PyTorch strides over max(size, 1); symbolic sizes are >= 1 by their range.
    const SymInt& s = sizes[i];
    const auto v = s.maybe_value();
    st[i - 1] = st[i] * (v && *v < 1 ? SymInt(1) : s);
  }
  return st;
}

std::int64_t TensorMeta::wrap_dim(std::int64_t d) const { return tensor::wrap_dim(d, dim()); }

SymInt TensorMeta::numel() const {
  SymInt n = 1;
  for (const SymInt& s : sizes) n *= s;
  return n;
}

SymInt TensorMeta::nbytes() const {
  const SymInt n = numel();
  if (dtype == DType::kF4E2M1X2) return sym::ceildiv(n, 2);
  return n * static_cast<std::int64_t>(info(dtype).bytes);
}

sym::Truth TensorMeta::is_contiguous(const sym::ShapeEnv& env) const {
  using sym::Truth;
  // Concrete fast path: no decisions needed.
  bool concrete = true;
  for (std::size_t i = 0; i < sizes.size() && concrete; ++i)
    concrete = sizes[i].is_concrete() && strides[i].is_concrete();
  if (concrete) {
    std::int64_t expected = 1;
    for (std::size_t i = sizes.size(); i-- > 0;) {
      const std::int64_t s = sizes[i].value();
      if (s == 0) return Truth::kTrue;
      if (s == 1) continue;
      if (strides[i].value() != expected) return Truth::kFalse;
      expected *= s;
    }
    return Truth::kTrue;
  }
  // Every dim must be size 1 or have stride == product of the sizes inside it; an empty
  // tensor is contiguous whatever its strides.
  Truth all = Truth::kTrue;
  SymInt expected = 1;
  for (std::size_t i = sizes.size(); i-- > 0;) {
    const Truth unit = env.decide(sym::eq(sizes[i], 1));
    const Truth ok = sym::truth_or(unit, env.decide(sym::eq(strides[i], expected)));
    all = sym::truth_and(all, ok);
    if (all == Truth::kFalse) break;
    expected = expected * sizes[i];
  }
  if (all == Truth::kTrue) return all;
  return sym::truth_or(all, env.decide(sym::eq(numel(), 0)));
}

bool TensorMeta::identical(const TensorMeta& o) const {
  auto same = [](const SymShape& a, const SymShape& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!a[i].identical(b[i])) return false;
    return true;
  };
  return dtype == o.dtype && storage_offset.identical(o.storage_offset) && same(sizes, o.sizes) &&
         same(strides, o.strides);
}

std::string shape_str(const SymShape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += s[i].str();
  }
  out += ']';
  return out;
}

std::string TensorMeta::shape_str() const { return tensor::shape_str(sizes); }

std::string TensorMeta::str() const {
  std::string out = fmt::format("{}{} strides {}", name(dtype), shape_str(), tensor::shape_str(strides));
  if (!storage_offset.identical(SymInt(0))) out += fmt::format(" offset {}", storage_offset.str());
  if (layout != WeightLayout::kNone) out += fmt::format(" layout {}", weight_layout_name(layout));
  if (scale_fmt != ScaleFormat::kNone) out += fmt::format(" scale_fmt {}", scale_format_name(scale_fmt));
  if (device != Device::kMeta) out += fmt::format(" {}", device_name(device));
  return out;
}

}  // namespace symtrace::tensor
