// tensor::Tensor — a real tensor: refcounted storage, concrete sizes and strides, views.
//
//   Tensor x = Tensor::empty({4, 128}, DType::kBF16);
//   x.fill_random(/*seed=*/1, -1.f, 1.f);
//   Tensor xt = x.transpose(0, 1);          // a view, shares storage
//   Tensor y = xt.contiguous().to(DType::kF32);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <symtrace/tensor/dtype.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::tensor {

using Shape = std::vector<std::int64_t>;

// Bytes owned (64-byte aligned) or borrowed (e.g. a read-only mmap of a safetensors file,
// kept alive by `keepalive`).
class Storage {
 public:
  static std::shared_ptr<Storage> allocate(std::size_t nbytes);
  static std::shared_ptr<Storage> borrow(void* data, std::size_t nbytes,
                                         std::shared_ptr<void> keepalive, bool read_only);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  std::byte* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  bool read_only() const { return read_only_; }

 private:
  Storage() = default;
  std::byte* data_ = nullptr;
  std::size_t nbytes_ = 0;
  bool owned_ = false;
  bool read_only_ = false;
  std::shared_ptr<void> keepalive_;
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor
  static Tensor empty(Shape sizes, DType dtype);
  static Tensor empty_strided(Shape sizes, Shape strides, DType dtype);
  static Tensor zeros(Shape sizes, DType dtype);
  // A view over existing storage (no copy). Throws diag::Error if it reaches outside.
  static Tensor from_storage(std::shared_ptr<Storage> s, Shape sizes, Shape strides,
                             std::int64_t offset, DType dtype);
  // Fill from f32 values (converted, saturating for fp8).
  static Tensor from_f32(Shape sizes, std::span<const float> values, DType dtype = DType::kF32);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& sizes() const { return sizes_; }
  const Shape& strides() const { return strides_; }
  std::int64_t size(std::int64_t d) const;
  std::int64_t stride(std::int64_t d) const;
  std::int64_t dim() const { return static_cast<std::int64_t>(sizes_.size()); }
  std::int64_t storage_offset() const { return offset_; }
  std::int64_t numel() const;
  std::size_t nbytes() const;  // bytes of the elements (numel * element size)
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  void* data_ptr() const;  // first element (storage + offset * element size)
  template <class T>
  T* data() const { return static_cast<T*>(data_ptr()); }

  TensorMeta meta() const;  // concrete meta, device cpu

  // Views (share storage).
  Tensor as_strided(Shape sizes, Shape strides, std::int64_t offset) const;
  Tensor view(Shape sizes) const;  // requires a viewable layout; diag::Error otherwise
  Tensor transpose(std::int64_t d0, std::int64_t d1) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;

  // Copies.
  Tensor contiguous() const;  // returns *this when already contiguous
  Tensor clone() const;
  Tensor to(DType d, Rounding r = Rounding::kSaturate) const;  // always a new tensor
  void copy_from(const Tensor& src);  // same sizes; converts dtype (saturating)
  void copy_from(const Tensor& src, Rounding r);

  // Element access for tests and reference kernels (converts through f64).
  double item(std::span<const std::int64_t> index) const;
  std::vector<double> to_f64() const;  // row-major logical order
  std::vector<float> to_f32() const;

  // Seeded uniform fill in [lo, hi) (integers: rounded); for tests and benchmarks.
  // Counter-based (splitmix64 of seed and row-major index), so identical on every machine,
  // thread count and layout. Integers take floor(value): [lo, hi) for integral bounds;
  // bool is 0/1 with probability 1/2.
  void fill_random(std::uint64_t seed, float lo = -1.f, float hi = 1.f);
  void fill(double v);
  // NaN for floats, a sentinel pattern for ints: catches unwritten outputs. Sentinels:
  // 0xA5 bytes for integers, true for bool, -6 for e2m1 (which has no NaN).
  void fill_nan();

 private:
  std::shared_ptr<Storage> storage_;
  Shape sizes_, strides_;
  std::int64_t offset_ = 0;
  DType dtype_ = DType::kF32;
};

// PyTorch's view rules on concrete sizes: one -1 inferred from numel ("shape" error when
// impossible), and the strides of a view of (sizes, strides) as new_sizes, or nullopt when
// a new dim would span memory that is not uniformly strided (reshape must copy then).
Shape infer_size(Shape sizes, std::int64_t numel);
std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& new_sizes);

}  // namespace symtrace::tensor
