// Tensor: storage, construction, bounds checks and views. Copies and fills: tensor_copy.cpp.
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/tensor.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

#include "tensor/tensor_detail.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace symtrace::tensor {

using detail::checked_add;
using detail::checked_mul;
using detail::shape_text;

// ---- Storage -----------------------------------------------------------------------------

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes) {
  constexpr std::size_t kAlign = 64;
  if (nbytes > (std::size_t{1} << 62)) detail::fail_overflow("storage bytes", std::to_string(nbytes));
  const std::size_t padded = std::max(kAlign, (nbytes + kAlign - 1) / kAlign * kAlign);
  void* p = std::aligned_alloc(kAlign, padded);
  if (p == nullptr) {
    diag::Diagnostic d;
    d.code = "alloc";
    d.got = fmt::format("{} bytes", nbytes);
    d.message = "cannot allocate tensor storage";
    throw diag::Error(std::move(d));
  }
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = static_cast<std::byte*>(p);
  s->nbytes_ = nbytes;
  s->owned_ = true;
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* data, std::size_t nbytes,
                                         std::shared_ptr<void> keepalive, bool read_only) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = static_cast<std::byte*>(data);
  s->nbytes_ = nbytes;
  s->read_only_ = read_only;
  s->keepalive_ = std::move(keepalive);
  return s;
}

Storage::~Storage() {
  if (owned_) std::free(data_);
}

// ---- helpers -----------------------------------------------------------------------------

namespace detail {

[[noreturn]] void fail_overflow(std::string_view what, std::string got) {
  diag::Diagnostic d;
  d.code = "overflow";
  d.argument = std::string(what);
  d.got = std::move(got);
  d.message = "size arithmetic overflows int64";
  throw diag::Error(std::move(d));
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail_overflow(what, fmt::format("{} + {}", a, b));
  return r;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view what) {
  std::int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail_overflow(what, fmt::format("{} * {}", a, b));
  return r;
}

std::string shape_text(const Shape& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

std::int64_t checked_numel(const Shape& sizes) {
  std::int64_t n = 1;
  for (std::int64_t s : sizes) {
    if (s < 0) {
      diag::Diagnostic d;
      d.code = "shape";
      d.argument = "sizes";
      d.expected = "sizes >= 0";
      d.got = shape_text(sizes);
      d.message = "a tensor size is negative";
      throw diag::Error(std::move(d));
    }
    n = checked_mul(n, s, "numel");
  }
  return n;
}

std::int64_t storage_bytes_for(DType dtype, std::int64_t elements) {
  if (dtype == DType::kF4E2M1X2) return elements / 2 + (elements & 1);
  return checked_mul(elements, static_cast<std::int64_t>(info(dtype).bytes), "nbytes");
}

Shape contiguous_strides(const Shape& sizes) {
  Shape st(sizes.size(), 1);
  for (std::size_t i = sizes.size(); i-- > 1;)
    st[i - 1] = checked_mul(st[i], std::max<std::int64_t>(sizes[i], 1), "stride");
  return st;
}

bool is_contiguous(const Shape& sizes, const Shape& strides) {
  std::int64_t expected = 1;
  for (std::size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 0) return true;
    if (sizes[i] == 1) continue;  // size-1 dims ignore their stride, as PyTorch does
    if (strides[i] != expected) return false;
    expected *= sizes[i];
  }
  return true;
}

[[noreturn]] void fail_layout(std::string code, std::string argument, std::string expected,
                              std::string got, std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.argument = std::move(argument);
  d.expected = std::move(expected);
  d.got = std::move(got);
  d.message = std::move(message);
  throw diag::Error(std::move(d));
}

}  // namespace detail

namespace {

// Every element of (sizes, strides, offset) must lie inside `s` (f4: whole nibbles).
void check_view(const Storage& s, const Shape& sizes, const Shape& strides, std::int64_t offset,
                DType dtype) {
  if (sizes.size() != strides.size())
    detail::fail_layout("shape", "strides", fmt::format("{} strides", sizes.size()),
                        shape_text(strides), "sizes and strides differ in rank");
  if (offset < 0)
    detail::fail_layout("bounds", "storage_offset", ">= 0", std::to_string(offset),
                        "negative storage offset");
  std::int64_t last = offset;
  const std::int64_t numel = detail::checked_numel(sizes);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (strides[i] < 0)
      detail::fail_layout("layout", "strides", "strides >= 0", shape_text(strides),
                          "negative strides are not supported");
    if (sizes[i] > 0) last = checked_add(last, checked_mul(sizes[i] - 1, strides[i], "extent"), "extent");
  }
  if (numel == 0) return;  // touches nothing
  const std::int64_t need = detail::storage_bytes_for(dtype, checked_add(last, 1, "extent"));
  if (static_cast<std::uint64_t>(need) > s.nbytes())
    detail::fail_layout("bounds", "view",
                        fmt::format("at most {} bytes of storage", s.nbytes()),
                        fmt::format("{}{} strides {} offset {} needs {} bytes", name(dtype),
                                    shape_text(sizes), shape_text(strides), offset, need),
                        "view reaches outside its storage");
}

std::int64_t wrap(std::int64_t d, std::int64_t rank) { return wrap_dim(d, rank); }

std::int64_t wrap_index(std::int64_t index, std::int64_t size, std::string_view what) {
  const std::int64_t i = index < 0 ? index + size : index;
  if (i < 0 || i >= size)
    detail::fail_layout("index", std::string(what), fmt::format("[{}, {})", -size, size),
                        std::to_string(index), "index out of range");
  return i;
}

}  // namespace

// ---- construction ------------------------------------------------------------------------

Tensor Tensor::empty(Shape sizes, DType dtype) {
  const std::int64_t numel = detail::checked_numel(sizes);
  Shape strides = detail::contiguous_strides(sizes);
  auto storage = Storage::allocate(static_cast<std::size_t>(detail::storage_bytes_for(dtype, numel)));
  return from_storage(std::move(storage), std::move(sizes), std::move(strides), 0, dtype);
}

Tensor Tensor::empty_strided(Shape sizes, Shape strides, DType dtype) {
  const std::int64_t numel = detail::checked_numel(sizes);
  std::int64_t extent = 0;
  if (sizes.size() == strides.size() && numel > 0) {
    extent = 1;
    for (std::size_t i = 0; i < sizes.size(); ++i)
      extent = checked_add(extent, checked_mul(sizes[i] - 1, std::max<std::int64_t>(strides[i], 0), "extent"), "extent");
  }
  auto storage = Storage::allocate(static_cast<std::size_t>(detail::storage_bytes_for(dtype, extent)));
  return from_storage(std::move(storage), std::move(sizes), std::move(strides), 0, dtype);
}

Tensor Tensor::zeros(Shape sizes, DType dtype) {
  Tensor t = empty(std::move(sizes), dtype);
  std::memset(t.storage_->data(), 0, t.storage_->nbytes());
  return t;
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> s, Shape sizes, Shape strides,
                            std::int64_t offset, DType dtype) {
  if (s == nullptr) throw diag::InternalError("Tensor::from_storage with null storage");
  check_view(*s, sizes, strides, offset, dtype);
  Tensor t;
  t.storage_ = std::move(s);
  t.sizes_ = std::move(sizes);
  t.strides_ = std::move(strides);
  t.offset_ = offset;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::from_f32(Shape sizes, std::span<const float> values, DType dtype) {
  Tensor t = empty(std::move(sizes), dtype);
  if (static_cast<std::size_t>(t.numel()) != values.size())
    detail::fail_layout("shape", "values", fmt::format("{} values", t.numel()),
                        std::to_string(values.size()), "value count does not match the sizes");
  convert(values.data(), DType::kF32, t.data_ptr(), dtype, values.size());
  return t;
}

// ---- queries -----------------------------------------------------------------------------

std::int64_t Tensor::size(std::int64_t d) const { return sizes_[wrap(d, dim())]; }
std::int64_t Tensor::stride(std::int64_t d) const { return strides_[wrap(d, dim())]; }

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (std::int64_t s : sizes_) n *= s;  // validated (checked) when the view was made
  return n;
}

std::size_t Tensor::nbytes() const {
  return static_cast<std::size_t>(detail::storage_bytes_for(dtype_, numel()));
}

bool Tensor::is_contiguous() const { return detail::is_contiguous(sizes_, strides_); }

void* Tensor::data_ptr() const {
  if (!storage_) return nullptr;
  if (dtype_ == DType::kF4E2M1X2 && (offset_ & 1))
    detail::fail_layout("layout", "storage_offset", "an even offset (whole bytes) for f4_e2m1x2",
                        std::to_string(offset_), "packed fp4 data does not start on a byte");
  return storage_->data() + detail::storage_bytes_for(dtype_, offset_);
}

TensorMeta Tensor::meta() const {
  TensorMeta m;
  for (std::int64_t s : sizes_) m.sizes.emplace_back(s);
  for (std::int64_t s : strides_) m.strides.emplace_back(s);
  m.storage_offset = offset_;
  m.dtype = dtype_;
  m.device = Device::kCpu;
  return m;
}

// ---- views -------------------------------------------------------------------------------

Tensor Tensor::as_strided(Shape sizes, Shape strides, std::int64_t offset) const {
  return from_storage(storage_, std::move(sizes), std::move(strides), offset, dtype_);
}

Tensor Tensor::view(Shape sizes) const {
  Shape target = infer_size(std::move(sizes), numel());
  std::optional<Shape> st = view_strides(sizes_, strides_, target);
  if (!st)
    detail::fail_layout("view", "sizes", fmt::format("a shape viewable over strides {}", shape_text(strides_)),
                        shape_text(target),
                        fmt::format("view of {} is not possible without a copy (a dim spans "
                                    "non-contiguous memory); use contiguous() first",
                                    shape_text(sizes_)));
  return as_strided(std::move(target), std::move(*st), offset_);
}

Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const {
  d0 = wrap(d0, dim());
  d1 = wrap(d1, dim());
  Shape sz = sizes_, st = strides_;
  std::swap(sz[d0], sz[d1]);
  std::swap(st[d0], st[d1]);
  return as_strided(std::move(sz), std::move(st), offset_);
}

Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  d = wrap(d, dim());
  const std::int64_t size = sizes_[d];
  const std::int64_t s = start < 0 ? start + size : start;
  if (s < 0 || length < 0 || s > size - length)
    detail::fail_layout("index", "narrow", fmt::format("start in [{}, {}] and start + length <= {}", -size, size, size),
                        fmt::format("start {}, length {}", start, length),
                        fmt::format("narrow reaches outside dim {}", d));
  Shape sz = sizes_;
  sz[d] = length;
  return as_strided(std::move(sz), strides_, checked_add(offset_, checked_mul(s, strides_[d], "offset"), "offset"));
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  d = wrap(d, dim());
  const std::int64_t i = wrap_index(index, sizes_[d], "index");
  Shape sz = sizes_, st = strides_;
  sz.erase(sz.begin() + d);
  st.erase(st.begin() + d);
  return as_strided(std::move(sz), std::move(st), offset_ + i * strides_[d]);
}

// ---- view rules (free functions) -----------------------------------------------------------

Shape infer_size(Shape sizes, std::int64_t numel) {
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      if (infer >= 0)
        detail::fail_layout("shape", "sizes", "at most one -1", shape_text(sizes),
                            "only one dimension can be inferred");
      infer = static_cast<int>(i);
    } else if (sizes[i] < 0) {
      detail::fail_layout("shape", "sizes", "sizes >= 0 or -1", shape_text(sizes), "invalid size");
    } else {
      known = checked_mul(known, sizes[i], "numel");
    }
  }
  const bool ok = infer >= 0 ? known != 0 && numel % known == 0 : known == numel;
  if (!ok)
    detail::fail_layout("shape", "sizes", fmt::format("{} elements", numel), shape_text(sizes),
                        fmt::format("shape {} is invalid for input of size {}", shape_text(sizes), numel));
  if (infer >= 0) sizes[infer] = numel / known;
  return sizes;
}

// PyTorch's computeStride (aten/src/ATen/TensorUtils.cpp): walk old dims from the back in
// chunks of memory-contiguous dims; every chunk must be split exactly by the new dims.
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides,
                                  const Shape& new_sizes) {
  if (old_sizes.empty()) return Shape(new_sizes.size(), 1);
  std::int64_t numel = 1;
  for (std::int64_t s : old_sizes) numel *= s;
  if (numel == 0 && old_sizes == new_sizes) return old_strides;
  const auto nd = static_cast<std::int64_t>(new_sizes.size());
  Shape st(new_sizes.size());
  if (numel == 0) {
    for (std::int64_t v = nd - 1; v >= 0; --v)
      st[v] = v == nd - 1 ? 1 : std::max<std::int64_t>(new_sizes[v + 1], 1) * st[v + 1];
    return st;
  }
  std::int64_t view_d = nd - 1;
  std::int64_t chunk_base = old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t t = static_cast<std::int64_t>(old_sizes.size()) - 1; t >= 0; --t) {
    tensor_numel *= old_sizes[t];
    if (t == 0 || (old_sizes[t - 1] != 1 && old_strides[t - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
        st[view_d] = view_numel * chunk_base;
        view_numel *= new_sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (t > 0) {
        chunk_base = old_strides[t - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return st;
}

}  // namespace symtrace::tensor
