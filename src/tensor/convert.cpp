// Bulk conversion between any two dtypes. The per-element rule (load as double or int64,
// store with the destination's rounding) is the specification; fast paths are vectorised
// kernels for the pairs that matter (fp8/bf16/f16 <-> f32, fp8 -> bf16), or two stages
// through an f32 block when the source is exact in f32.
#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/convert_kernels.hpp"
#include "tensor/minifloat.hpp"

namespace symtrace::tensor {
namespace {

using detail::ConvertFn;

// One element in transit, kept in its own kind: integers stay integers (int64 -> f32 must
// round once) and f32-exact floats stay floats (a trip through double would quiet sNaNs).
struct Scalar {
  enum Kind : std::uint8_t { kF32, kF64, kInt } kind;
  float f32 = 0;
  double f64 = 0;
  std::int64_t i = 0;
  double as_double() const { return kind == kInt ? static_cast<double>(i) : kind == kF32 ? f32 : f64; }
  float as_float() const {
    return kind == kInt ? static_cast<float>(i) : kind == kF32 ? f32 : static_cast<float>(f64);
  }
  bool nonzero() const { return kind == kInt ? i != 0 : as_double() != 0; }
};
Scalar of_f32(float v) { return {Scalar::kF32, v, 0, 0}; }
Scalar of_int(std::int64_t v) { return {Scalar::kInt, 0, 0, v}; }

template <class T>
T load_as(const std::byte* p, std::size_t k) {
  T v;
  std::memcpy(&v, p + k * sizeof(T), sizeof(T));
  return v;
}
template <class T>
void store_as(std::byte* p, std::size_t k, T v) {
  std::memcpy(p + k * sizeof(T), &v, sizeof(T));
}

Scalar load(DType t, const std::byte* p, std::size_t k) {
  switch (t) {
    case DType::kF64: return {Scalar::kF64, 0, load_as<double>(p, k), 0};
    case DType::kF32: return of_f32(load_as<float>(p, k));
    case DType::kF16: return of_f32(f16_to_f32(load_as<std::uint16_t>(p, k)));
    case DType::kBF16: return of_f32(bf16_to_f32(load_as<std::uint16_t>(p, k)));
    case DType::kF4E2M1X2: {
      const auto byte = static_cast<std::uint8_t>(p[k / 2]);
      return of_f32(detail::decode_table(t)[(k & 1) ? byte >> 4 : byte & 0xF]);
    }
    case DType::kI64: return of_int(load_as<std::int64_t>(p, k));
    case DType::kI32: return of_int(load_as<std::int32_t>(p, k));
    case DType::kI16: return of_int(load_as<std::int16_t>(p, k));
    case DType::kI8: return of_int(load_as<std::int8_t>(p, k));
    case DType::kU8: return of_int(load_as<std::uint8_t>(p, k));
    case DType::kBool: return of_int(load_as<std::uint8_t>(p, k) != 0);
    default: return of_f32(detail::decode_table(t)[load_as<std::uint8_t>(p, k)]);  // 8-bit floats
  }
}

// Float -> integer: truncate toward zero (PyTorch), saturate at the range, NaN -> 0.
template <class T>
T float_to_int(double f) {
  if (std::isnan(f)) return 0;
  constexpr auto lo = static_cast<double>(std::numeric_limits<T>::min());
  constexpr auto hi = static_cast<double>(std::numeric_limits<T>::max());
  if (f <= lo) return std::numeric_limits<T>::min();
  if (f >= hi) return std::numeric_limits<T>::max();  // also 2^63 for int64's rounded hi
  return static_cast<T>(std::trunc(f));
}
// Integer -> integer wraps modulo 2^bits, as PyTorch's casts do.
template <class T>
T int_to_int(std::int64_t v) {
  return static_cast<T>(static_cast<std::make_unsigned_t<T>>(static_cast<std::uint64_t>(v)));
}
template <class T>
T to_int(const Scalar& v) {
  return v.kind == Scalar::kInt ? int_to_int<T>(v.i) : float_to_int<T>(v.as_double());
}

void store(DType t, std::byte* p, std::size_t k, const Scalar& v, Rounding r) {
  switch (t) {
    case DType::kF64: store_as<double>(p, k, v.as_double()); return;
    case DType::kI64: store_as<std::int64_t>(p, k, to_int<std::int64_t>(v)); return;
    case DType::kI32: store_as<std::int32_t>(p, k, to_int<std::int32_t>(v)); return;
    case DType::kI16: store_as<std::int16_t>(p, k, to_int<std::int16_t>(v)); return;
    case DType::kI8: store_as<std::int8_t>(p, k, to_int<std::int8_t>(v)); return;
    case DType::kU8: store_as<std::uint8_t>(p, k, to_int<std::uint8_t>(v)); return;
    case DType::kBool: store_as<std::uint8_t>(p, k, v.nonzero()); return;
    default: break;
  }
  // Float formats of at most 32 bits: one rounding to f32, then the format's encoder.
  const std::uint32_t code = encode(t, v.as_float(), r);
  switch (t) {
    case DType::kF32: store_as<std::uint32_t>(p, k, code); return;
    case DType::kF16:
    case DType::kBF16: store_as<std::uint16_t>(p, k, static_cast<std::uint16_t>(code)); return;
    case DType::kF4E2M1X2: {
      auto& byte = reinterpret_cast<std::uint8_t&>(p[k / 2]);
      byte = (k & 1) ? static_cast<std::uint8_t>((byte & 0x0F) | (code << 4))
                     : static_cast<std::uint8_t>((byte & 0xF0) | code);
      return;
    }
    default: store_as<std::uint8_t>(p, k, static_cast<std::uint8_t>(code)); return;
  }
}

void convert_generic(const std::byte* s, DType st, std::byte* d, DType dt, std::size_t n,
                     Rounding r) {
  if (n == 0) return;  // empty tensors may have no storage: memcpy must not see their null
  if (st == dt) {  // a copy keeps every bit (signalling NaNs included)
    if (st != DType::kF4E2M1X2) return void(std::memcpy(d, s, n * info(st).bytes));
    std::memcpy(d, s, n / 2);
    if (n & 1) store(dt, d, n - 1, load(st, s, n - 1), r);  // keep the neighbour nibble
    return;
  }
  for (std::size_t k = 0; k < n; ++k) store(dt, d, k, load(st, s, k), r);
}

ConvertFn find_kernel(DType st, DType dt, Rounding r) {
  if (cpu_supports(Isa::kAvx512))
    if (ConvertFn f = detail::find_convert_avx512(st, dt, r)) return f;
  if (cpu_supports(Isa::kAvx2))
    if (ConvertFn f = detail::find_convert_avx2(st, dt, r)) return f;
  return detail::find_convert_scalar(st, dt, r);
}

// Whether src -> f32 -> dst equals the per-element rule: the f32 stage must be exact, or
// be the single rounding the rule itself does (into a float format of <= 32 bits).
bool f32_stage_is_exact(DType st, DType dt) {
  const bool src_exact = info(st).is_float ? st != DType::kF64 : info(st).bits <= 8;
  const bool dst_small_float = info(dt).is_float && dt != DType::kF64;
  return src_exact || dst_small_float;
}

std::size_t byte_offset(DType t, std::size_t k) {  // k even for f4
  return t == DType::kF4E2M1X2 ? k / 2 : k * info(t).bytes;
}

void convert_run(const std::byte* s, DType st, std::byte* d, DType dt, std::size_t n,
                 Rounding r) {
  if (st == dt) return convert_generic(s, st, d, dt, n, r);
  if (ConvertFn f = find_kernel(st, dt, r)) return f(s, d, n);
  const ConvertFn to_f32 = st == DType::kF32 ? nullptr : find_kernel(st, DType::kF32, r);
  const ConvertFn from_f32 = dt == DType::kF32 ? nullptr : find_kernel(DType::kF32, dt, r);
  if ((to_f32 || from_f32) && f32_stage_is_exact(st, dt)) {
    constexpr std::size_t kBlock = 512;
    alignas(64) float buf[kBlock];
    auto* b = reinterpret_cast<std::byte*>(buf);
    for (std::size_t i = 0; i < n; i += kBlock) {
      const std::size_t m = std::min(kBlock, n - i);
      const std::byte* si = s + byte_offset(st, i);
      std::byte* di = d + byte_offset(dt, i);
      if (to_f32) to_f32(si, buf, m);
      else convert_generic(si, st, b, DType::kF32, m, r);
      if (from_f32) from_f32(buf, di, m);
      else convert_generic(b, DType::kF32, di, dt, m, r);
    }
    return;
  }
  convert_generic(s, st, d, dt, n, r);
}

}  // namespace

void detail::convert_elementwise(const void* src, DType src_type, void* dst, DType dst_type,
                                 std::size_t n, Rounding r) {
  convert_generic(static_cast<const std::byte*>(src), src_type, static_cast<std::byte*>(dst),
                  dst_type, n, r);
}

void convert(const void* src, DType src_type, void* dst, DType dst_type, std::size_t n,
             Rounding r) {
  const auto* s = static_cast<const std::byte*>(src);
  auto* d = static_cast<std::byte*>(dst);
  // Chunks are multiples of 64 elements, so packed f4 chunks start on a byte.
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  // Serial when small, single-threaded, or already inside a kernel's parallel region.
  if (n < 4 * kChunk || omp_get_max_threads() == 1 || omp_in_parallel())
    return convert_run(s, src_type, d, dst_type, n, r);
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * kChunk;
    convert_run(s + byte_offset(src_type, begin), src_type, d + byte_offset(dst_type, begin),
                dst_type, std::min(kChunk, n - begin), r);
  }
}

}  // namespace symtrace::tensor
