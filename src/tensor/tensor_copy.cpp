// Tensor copies, fills and element access over arbitrary strides. Everything walks the
// same runs: the tensors' dims merged where both are memory-contiguous, then the innermost
// run in blocks that are gathered/scattered when strided and converted with convert().
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "tensor/tensor_detail.hpp"

#include <fmt/format.h>

namespace symtrace::tensor {
namespace {

constexpr std::int64_t kBlock = 256;
constexpr std::size_t kMaxElemBytes = 8;

// Merged iteration space of one or two same-sized views: dims of size 1 dropped, adjacent
// dims merged when both views step through them as one.
struct Dims {
  Shape sizes, sa, sb;  // outermost first
};

Dims merge_dims(const Shape& sizes, const Shape& sa, const Shape& sb) {
  Dims m;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 1) continue;
    if (!m.sizes.empty() && m.sa.back() == sa[i] * sizes[i] && m.sb.back() == sb[i] * sizes[i]) {
      m.sizes.back() *= sizes[i];
      m.sa.back() = sa[i];
      m.sb.back() = sb[i];
      continue;
    }
    m.sizes.push_back(sizes[i]);
    m.sa.push_back(sa[i]);
    m.sb.push_back(sb[i]);
  }
  if (m.sizes.empty()) m = {{1}, {1}, {1}};
  return m;
}

// f(pos_a, step_a, pos_b, step_b, count, logical_index) for every innermost run.
template <class F>
void for_each_run(const Shape& sizes, const Shape& sa, std::int64_t oa, const Shape& sb,
                  std::int64_t ob, F&& f) {
  for (std::int64_t s : sizes)
    if (s == 0) return;
  const Dims m = merge_dims(sizes, sa, sb);
  const std::size_t outer = m.sizes.size() - 1;
  const std::int64_t inner = m.sizes.back();
  std::vector<std::int64_t> idx(outer, 0);
  std::int64_t pa = oa, pb = ob, logical = 0;
  while (true) {
    f(pa, m.sa.back(), pb, m.sb.back(), inner, logical);
    logical += inner;
    std::size_t d = outer;
    while (d > 0) {
      --d;
      pa += m.sa[d];
      pb += m.sb[d];
      if (++idx[d] < m.sizes[d]) break;
      pa -= m.sa[d] * m.sizes[d];
      pb -= m.sb[d] * m.sizes[d];
      idx[d] = 0;
      if (d == 0) return;
    }
    if (outer == 0) return;
  }
}

std::uint8_t get_nibble(const std::byte* base, std::int64_t pos) {
  const auto b = static_cast<std::uint8_t>(base[pos / 2]);
  return (pos & 1) ? b >> 4 : b & 0xF;
}
void set_nibble(std::byte* base, std::int64_t pos, std::uint8_t v) {
  auto& b = reinterpret_cast<std::uint8_t&>(base[pos / 2]);
  b = (pos & 1) ? static_cast<std::uint8_t>((b & 0x0F) | (v << 4))
                : static_cast<std::uint8_t>((b & 0xF0) | (v & 0xF));
}

// A run can be handed to convert() in place: unit stride, starting on a byte for f4.
bool direct(DType t, std::int64_t pos, std::int64_t step) {
  return step == 1 && (t != DType::kF4E2M1X2 || (pos & 1) == 0);
}
std::byte* at(const Tensor& t, std::int64_t pos) {  // pos even for f4 (see direct)
  const std::int64_t off = t.dtype() == DType::kF4E2M1X2 ? pos / 2 : pos * static_cast<std::int64_t>(info(t.dtype()).bytes);
  return t.storage()->data() + off;
}

void gather(const Tensor& t, std::int64_t pos, std::int64_t step, std::int64_t n, std::byte* out) {
  const std::byte* base = t.storage()->data();
  if (t.dtype() == DType::kF4E2M1X2) {
    for (std::int64_t k = 0; k < n; ++k) set_nibble(out, k, get_nibble(base, pos + k * step));
    return;
  }
  const auto es = static_cast<std::int64_t>(info(t.dtype()).bytes);
  for (std::int64_t k = 0; k < n; ++k) std::memcpy(out + k * es, base + (pos + k * step) * es, es);
}

void scatter(const Tensor& t, std::int64_t pos, std::int64_t step, std::int64_t n, const std::byte* in) {
  std::byte* base = t.storage()->data();
  if (t.dtype() == DType::kF4E2M1X2) {
    for (std::int64_t k = 0; k < n; ++k) set_nibble(base, pos + k * step, get_nibble(in, k));
    return;
  }
  const auto es = static_cast<std::int64_t>(info(t.dtype()).bytes);
  for (std::int64_t k = 0; k < n; ++k) std::memcpy(base + (pos + k * step) * es, in + k * es, es);
}

// Writes n elements of `src` (dtype st, contiguous, n <= kBlock) into dst's run.
void write_block(const Tensor& dst, std::int64_t pos, std::int64_t step, std::int64_t n,
                 const std::byte* src, DType st, Rounding r) {
  if (direct(dst.dtype(), pos, step))
    return convert(src, st, at(dst, pos), dst.dtype(), static_cast<std::size_t>(n), r);
  alignas(64) std::byte tmp[kBlock * kMaxElemBytes] = {};
  convert(src, st, tmp, dst.dtype(), static_cast<std::size_t>(n), r);
  scatter(dst, pos, step, n, tmp);
}

void check_writable(const Tensor& t, std::string_view what) {
  if (!t.defined())
    detail::fail_layout("undefined", std::string(what), "a defined tensor", "undefined tensor",
                        "operation on an undefined tensor");
  if (t.storage()->read_only())
    detail::fail_layout("read-only", std::string(what), "writable storage", "read-only storage",
                        "cannot write into read-only (e.g. memory-mapped) storage");
}

void copy_impl(const Tensor& dst, const Tensor& src, Rounding r) {
  for_each_run(dst.sizes(), src.strides(), src.storage_offset(), dst.strides(),
               dst.storage_offset(),
               [&](std::int64_t ps, std::int64_t ss, std::int64_t pd, std::int64_t sd,
                   std::int64_t n, std::int64_t) {
                 if (direct(src.dtype(), ps, ss) && direct(dst.dtype(), pd, sd))
                   return convert(at(src, ps), src.dtype(), at(dst, pd), dst.dtype(),
                                  static_cast<std::size_t>(n), r);
                 alignas(64) std::byte buf[kBlock * kMaxElemBytes] = {};
                 for (std::int64_t b = 0; b < n; b += kBlock) {
                   const std::int64_t m = std::min(kBlock, n - b);
                   const std::byte* sp = buf;
                   if (direct(src.dtype(), ps + b * ss, ss)) sp = at(src, ps + b);
                   else gather(src, ps + b * ss, ss, m, buf);
                   write_block(dst, pd + b * sd, sd, m, sp, src.dtype(), r);
                 }
               });
}

// A one-element tensor of `dtype` holding `code`'s bytes, broadcast to `sizes`.
Tensor broadcast_scalar(const Shape& sizes, DType dtype, const void* element) {
  auto s = Storage::allocate(kMaxElemBytes);
  std::memcpy(s->data(), element, info(dtype).bytes);
  return Tensor::from_storage(std::move(s), sizes, Shape(sizes.size(), 0), 0, dtype);
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

void Tensor::copy_from(const Tensor& src) { copy_from(src, Rounding::kSaturate); }

void Tensor::copy_from(const Tensor& src, Rounding r) {
  check_writable(*this, "self");
  if (!src.defined())
    detail::fail_layout("undefined", "src", "a defined tensor", "undefined tensor",
                        "copy from an undefined tensor");
  if (src.sizes() != sizes_)
    detail::fail_layout("shape", "src", detail::shape_text(sizes_), detail::shape_text(src.sizes()),
                        "copy_from needs equal sizes");
  // Same storage: read from a snapshot, so overlapping views copy as if simultaneous.
  if (src.storage() == storage_) return copy_impl(*this, src.clone(), r);
  copy_impl(*this, src, r);
}

Tensor Tensor::contiguous() const {
  // Packed f4 starting mid-byte is copied too, so data_ptr() works on the result.
  const bool byte_aligned = dtype_ != DType::kF4E2M1X2 || (offset_ & 1) == 0;
  if (!defined() || (is_contiguous() && byte_aligned)) return *this;
  return clone();
}

Tensor Tensor::clone() const { return to(dtype_); }

Tensor Tensor::to(DType d, Rounding r) const {
  if (!defined()) return *this;
  Tensor out = empty(sizes_, d);
  copy_impl(out, *this, r);
  return out;
}

double Tensor::item(std::span<const std::int64_t> index) const {
  if (!defined())
    detail::fail_layout("undefined", "self", "a defined tensor", "undefined tensor", "item of an undefined tensor");
  if (static_cast<std::int64_t>(index.size()) != dim())
    detail::fail_layout("index", "index", fmt::format("{} indices", dim()),
                        std::to_string(index.size()), "item needs one index per dim");
  std::int64_t pos = offset_;
  for (std::size_t d = 0; d < index.size(); ++d) {
    const std::int64_t i = index[d] < 0 ? index[d] + sizes_[d] : index[d];
    if (i < 0 || i >= sizes_[d])
      detail::fail_layout("index", "index", fmt::format("[{}, {}) in dim {}", -sizes_[d], sizes_[d], d),
                          std::to_string(index[d]), "index out of range");
    pos += i * strides_[d];
  }
  alignas(8) std::byte raw[kMaxElemBytes] = {};
  gather(*this, pos, 1, 1, raw);
  double v = 0;
  convert(raw, dtype_, &v, DType::kF64, 1);
  return v;
}

std::vector<double> Tensor::to_f64() const {
  std::vector<double> v(static_cast<std::size_t>(defined() ? numel() : 0));
  if (v.empty()) return v;
  Tensor out = from_storage(Storage::borrow(v.data(), v.size() * sizeof(double), nullptr, false),
                            sizes_, detail::contiguous_strides(sizes_), 0, DType::kF64);
  copy_impl(out, *this, Rounding::kRaw);
  return v;
}

std::vector<float> Tensor::to_f32() const {
  std::vector<float> v(static_cast<std::size_t>(defined() ? numel() : 0));
  if (v.empty()) return v;
  Tensor out = from_storage(Storage::borrow(v.data(), v.size() * sizeof(float), nullptr, false),
                            sizes_, detail::contiguous_strides(sizes_), 0, DType::kF32);
  copy_impl(out, *this, Rounding::kRaw);
  return v;
}

void Tensor::fill(double v) {
  check_writable(*this, "self");
  copy_impl(*this, broadcast_scalar(sizes_, DType::kF64, &v), Rounding::kSaturate);
}

void Tensor::fill_nan() {
  check_writable(*this, "self");
  std::uint64_t pattern = 0xA5A5A5A5A5A5A5A5ull;  // integers: an unlikely value
  if (dtype_ == DType::kBool) pattern = 1;       // bool bytes must stay 0/1
  else if (dtype_ == DType::kF4E2M1X2) pattern = 0xFF;  // -6: e2m1 has no NaN
  else if (dtype_ == DType::kF64) pattern = 0x7FF8000000000000ull;
  else if (info(dtype_).is_float) pattern = encode(dtype_, std::numeric_limits<float>::quiet_NaN(), Rounding::kRaw);
  copy_impl(*this, broadcast_scalar(sizes_, dtype_, &pattern), Rounding::kRaw);
}

void Tensor::fill_random(std::uint64_t seed, float lo, float hi) {
  check_writable(*this, "self");
  const DType dt = dtype_;
  const bool integral = !info(dt).is_float;
  const std::uint64_t key = splitmix64(seed);
  const Shape none(sizes_.size(), 0);
  for_each_run(sizes_, strides_, offset_, none, 0,
               [&](std::int64_t pos, std::int64_t step, std::int64_t, std::int64_t, std::int64_t n,
                   std::int64_t logical) {
                 alignas(64) double vals[kBlock];
                 for (std::int64_t b = 0; b < n; b += kBlock) {
                   const std::int64_t m = std::min(kBlock, n - b);
                   for (std::int64_t k = 0; k < m; ++k) {
                     const auto i = static_cast<std::uint64_t>(logical + b + k);
                     const double u = static_cast<double>(splitmix64(key ^ (i * 0xD1B54A32D192ED03ull)) >> 40) * 0x1p-24;
                     double v = static_cast<double>(lo) + (static_cast<double>(hi) - lo) * u;
                     if (dt == DType::kBool) v = u < 0.5 ? 0.0 : 1.0;
                     else if (integral) v = std::floor(v);
                     else v = static_cast<float>(v);  // one rounding, then the format's
                     vals[k] = v;
                   }
                   write_block(*this, pos + b * step, step, m, reinterpret_cast<const std::byte*>(vals),
                               DType::kF64, Rounding::kSaturate);
                 }
               });
}

}  // namespace symtrace::tensor
