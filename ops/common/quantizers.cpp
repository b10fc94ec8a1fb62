// Scalar definitions of the quantizer formulas (OPS.md §15.3), the ISA dispatch, and the
// whole-tensor drivers. The vector row kernels live in quantizers_avx2.cpp and
// quantizers_avx512.cpp and must agree with the scalar ones bit for bit.
#include "ops/common/quantizers.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <omp.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::quant {

namespace detail {
extern const RowKernels kRowKernelsAvx2;
extern const RowKernels kRowKernelsAvx512;
}  // namespace detail

namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::size_t elem_bytes(DType d) {
  switch (d) {
    case DType::kF32:
      return 4;
    case DType::kBF16:
    case DType::kF16:
      return 2;
    default:
      break;
  }
  throw diag::InternalError("quantizers: unsupported activation dtype");
}

float f16_to_f32_bits(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t man = h & 0x3FFu;
  if (exp == 0x1F) return from_bits(sign | 0x7F800000u | (man << 13));
  if (exp != 0) return from_bits(sign | ((exp + 112) << 23) | (man << 13));
  // Subnormal (or zero): man * 2^-24 is exact in f32.
  const float mag = static_cast<float>(man) * 0x1p-24f;
  return sign ? -mag : mag;
}

// int8 code from a scaled value in f32, as sat_i8(sat_i32(rne(v)) + z) with exact integer
// arithmetic (z may be large when an asymmetric scale hit its floor).
std::int8_t int8_code(float v, std::int32_t z) {
  std::int64_t t = 0;
  if (!std::isnan(v)) {
    // Clamped to [-2^31, 2^31 - 128], the f32 range that converts to int32 exactly; the
    // vector paths clamp the same way.
    const float r = std::clamp(std::nearbyint(v), -2147483648.f, 2147483520.f);
    t = static_cast<std::int64_t>(r);
  }
  return static_cast<std::int8_t>(std::clamp<std::int64_t>(t + z, -128, 127));
}

// ---- scalar row kernels --------------------------------------------------------------------

float absmax_scalar(const void* x, DType dtype, std::int64_t n) {
  float m = 0.f;
  bool nan = false;
  for (std::int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(load_f32(x, dtype, i));
    nan |= std::isnan(a);
    m = a > m ? a : m;
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

void minmax_scalar(const void* x, DType dtype, std::int64_t n, float* lo, float* hi) {
  float mn = std::numeric_limits<float>::infinity(), mx = -mn;
  bool nan = false;
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = load_f32(x, dtype, i);
    nan |= std::isnan(v);
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  if (nan) mn = mx = std::numeric_limits<float>::quiet_NaN();
  *lo = mn;
  *hi = mx;
}

void fp8_div_scalar(const void* x, DType dtype, std::int64_t n, float s, std::uint8_t* q) {
  for (std::int64_t i = 0; i < n; ++i) q[i] = e4m3fn_encode_sat(load_f32(x, dtype, i) / s);
}

void fp8_div_cols_scalar(const void* x, DType dtype, std::int64_t n, const float* s,
                         std::uint8_t* q) {
  for (std::int64_t i = 0; i < n; ++i) q[i] = e4m3fn_encode_sat(load_f32(x, dtype, i) / s[i]);
}

void int8_div_scalar(const void* x, DType dtype, std::int64_t n, float s, std::int32_t z,
                     std::int8_t* q) {
  for (std::int64_t i = 0; i < n; ++i) q[i] = int8_code(load_f32(x, dtype, i) / s, z);
}

void int8_mul_scalar(const void* x, DType dtype, std::int64_t n, float r, std::int8_t* q) {
  for (std::int64_t i = 0; i < n; ++i) q[i] = int8_code(load_f32(x, dtype, i) * r, 0);
}

const RowKernels kRowKernelsScalar{"scalar",       absmax_scalar,       minmax_scalar,
                                   fp8_div_scalar, fp8_div_cols_scalar, int8_div_scalar,
                                   int8_mul_scalar};

int thread_count(int threads, std::int64_t rows, std::int64_t cols) {
  // Below ~16K elements a parallel region costs more than it saves.
  if (rows < 2 || rows * cols < (1 << 14)) return 1;
  const int t = threads > 0 ? threads : omp_get_max_threads();
  return static_cast<int>(std::min<std::int64_t>(t, rows));
}

std::int64_t cdiv(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

void check_rows(const Rows& x) {
  if (x.rows < 0 || x.cols < 0 || (x.rows > 1 && x.ld < x.cols))
    throw diag::InternalError("quantizers: bad row view");
  (void)elem_bytes(x.dtype);
}

// Writes one group's scale into the f32 or UE8M0-packed layout.
void store_group_scale(const GroupScales& gs, std::int64_t r, std::int64_t j, float s) {
  if (gs.packed == nullptr) {
    gs.f32[r * gs.row_stride + j * gs.col_stride] = s;
    return;
  }
  auto* word =
      reinterpret_cast<std::uint8_t*>(gs.packed + r * gs.row_stride + (j / 4) * gs.col_stride);
  // Exact: a pow2 scale >= 1e-10/448 is a normal f32, its UE8M0 byte is its exponent field.
  // NaN maps to 0xFF, UE8M0's NaN.
  word[j % 4] = std::isnan(s) ? 0xFF : static_cast<std::uint8_t>((bits_of(s) >> 23) & 0xFF);
}

void zero_packed_tail(const GroupScales& gs, std::int64_t r, std::int64_t groups) {
  if (gs.packed == nullptr) return;
  for (std::int64_t j = groups; j % 4 != 0; ++j) {
    auto* word =
        reinterpret_cast<std::uint8_t*>(gs.packed + r * gs.row_stride + (j / 4) * gs.col_stride);
    word[j % 4] = 0;
  }
}

}  // namespace

// ---- scalar primitives ---------------------------------------------------------------------

const void* Rows::row(std::int64_t r) const {
  return static_cast<const std::byte*>(data) + static_cast<std::size_t>(r * ld) * elem_bytes(dtype);
}

float load_f32(const void* row, DType dtype, std::int64_t i) {
  switch (dtype) {
    case DType::kF32: {
      float f;
      std::memcpy(&f, static_cast<const std::byte*>(row) + 4 * i, 4);
      return f;
    }
    case DType::kBF16: {
      std::uint16_t b;
      std::memcpy(&b, static_cast<const std::byte*>(row) + 2 * i, 2);
      return from_bits(static_cast<std::uint32_t>(b) << 16);
    }
    case DType::kF16: {
      std::uint16_t h;
      std::memcpy(&h, static_cast<const std::byte*>(row) + 2 * i, 2);
      return f16_to_f32_bits(h);
    }
    default:
      break;
  }
  throw diag::InternalError("quantizers: unsupported activation dtype");
}

std::uint8_t e4m3fn_encode_sat(float v) {
  const auto sign = static_cast<std::uint8_t>((bits_of(v) >> 24) & 0x80);
  float a = std::fabs(v);
  if (std::isnan(a)) return sign | 0x7F;
  a = std::min(a, kE4m3Max);
  std::uint32_t code;
  if (a < 0x1p-6f) {
    // Subnormal range: the code is the multiple of 2^-9, rounded to nearest even (exact
    // scaling by a power of two, then one rounding).
    code = static_cast<std::uint32_t>(std::nearbyint(a * 512.f));
  } else {
    // Normal: round the f32 mantissa to 3 bits (ties to even), rebias 127 -> 7.
    std::uint32_t b = bits_of(a);
    b += 0x7FFFFu + ((b >> 20) & 1u);
    code = (b >> 20) - ((127u - 7u) << 3);
  }
  return static_cast<std::uint8_t>(sign | code);
}

float e4m3fn_decode(std::uint8_t b) {
  const int e = (b >> 3) & 15, m = b & 7;
  float mag;
  if (e == 15 && m == 7) {
    mag = std::numeric_limits<float>::quiet_NaN();
  } else if (e == 0) {
    mag = static_cast<float>(m) * 0x1p-9f;
  } else {
    mag = std::ldexp(1.f + static_cast<float>(m) / 8.f, e - 7);
  }
  return (b & 0x80) ? -mag : mag;
}

std::int8_t int8_encode(float v, std::int32_t z) { return int8_code(v, z); }

float fp8_tensor_scale(float amax) {
  if (std::isnan(amax)) return amax;
  return std::max(amax, kFp8TensorAmaxFloor) / kE4m3Max;
}

float fp8_token_scale(float amax, std::optional<float> ub) {
  if (std::isnan(amax)) return amax;
  if (ub) amax = std::min(amax, *ub);
  return std::max(amax / kE4m3Max, kFp8TokenMinScale);
}

float ceil_pow2(float s) {
  std::uint32_t b = bits_of(s);
  if ((b & 0x7FFFFFu) != 0) b = (b & 0xFF800000u) + 0x800000u;
  return from_bits(b);
}

float fp8_group_scale(float amax, bool pow2) {
  if (std::isnan(amax)) return amax;
  const float s = std::max(amax, kGroupAmaxEps) / kE4m3Max;
  return pow2 ? ceil_pow2(s) : s;
}

// ---- dispatch ------------------------------------------------------------------------------

const RowKernels& row_kernels_scalar() { return kRowKernelsScalar; }
const RowKernels* row_kernels_avx2() {
  return tensor::cpu_supports(tensor::Isa::kAvx2) ? &detail::kRowKernelsAvx2 : nullptr;
}
const RowKernels* row_kernels_avx512() {
  return tensor::cpu_supports(tensor::Isa::kAvx512) ? &detail::kRowKernelsAvx512 : nullptr;
}
const RowKernels& row_kernels() {
  if (const RowKernels* k = row_kernels_avx512()) return *k;
  if (const RowKernels* k = row_kernels_avx2()) return *k;
  return kRowKernelsScalar;
}

// ---- drivers -------------------------------------------------------------------------------

void fp8_static(const Rows& x, float scale, std::uint8_t* q, std::int64_t ldq, int threads,
                const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r)
    k.fp8_div(x.row(r), x.dtype, x.cols, scale, q + r * ldq);
}

void fp8_static_cols(const Rows& x, const float* scale, std::uint8_t* q, std::int64_t ldq,
                     int threads, const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r)
    k.fp8_div_cols(x.row(r), x.dtype, x.cols, scale, q + r * ldq);
}

namespace {
// max |x| over all rows, NaN if any element is NaN.
float absmax_all(const RowKernels& k, const Rows& x, int threads) {
  float m = 0.f;
  bool nan = false;
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols)) reduction(max  \
                                                                                      : m) \
    reduction(||                                                                           \
              : nan)
  for (std::int64_t r = 0; r < x.rows; ++r) {
    const float a = k.absmax(x.row(r), x.dtype, x.cols);
    nan = nan || std::isnan(a);
    if (!std::isnan(a)) m = std::max(m, a);
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}
}  // namespace

float fp8_dynamic_tensor(const Rows& x, std::uint8_t* q, std::int64_t ldq, int threads,
                         const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
  const float s = fp8_tensor_scale(absmax_all(k, x, threads));
  fp8_static(x, s, q, ldq, threads, &k);
  return s;
}

void fp8_dynamic_token(const Rows& x, std::optional<float> ub, std::uint8_t* q, std::int64_t ldq,
                       float* scale, int threads, const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r) {
    const void* row = x.row(r);
    const float s = fp8_token_scale(k.absmax(row, x.dtype, x.cols), ub);
    scale[r] = s;
    k.fp8_div(row, x.dtype, x.cols, s, q + r * ldq);
  }
}

void fp8_dynamic_group(const Rows& x, std::int64_t g, bool pow2, std::uint8_t* q, std::int64_t ldq,
                       const GroupScales& scale, int threads, const RowKernels* kernels) {
  check_rows(x);
  if (g <= 0) throw diag::InternalError("fp8_dynamic_group: group must be positive");
  if (scale.packed != nullptr && !pow2)
    throw diag::InternalError("fp8_dynamic_group: packed UE8M0 scales need pow2");
  const RowKernels& k = kernels ? *kernels : row_kernels();
  const std::int64_t groups = cdiv(x.cols, g);
  const std::size_t eb = elem_bytes(x.dtype);
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r) {
    const auto* row = static_cast<const std::byte*>(x.row(r));
    for (std::int64_t j = 0; j < groups; ++j) {
      const std::int64_t c0 = j * g, n = std::min(g, x.cols - c0);
      const void* src = row + static_cast<std::size_t>(c0) * eb;
      const float s = fp8_group_scale(k.absmax(src, x.dtype, n), pow2);
      store_group_scale(scale, r, j, s);
      k.fp8_div(src, x.dtype, n, s, q + r * ldq + c0);
    }
    zero_packed_tail(scale, r, groups);
  }
}

void int8_static(const Rows& x, float scale, std::int32_t azp, std::int8_t* q, std::int64_t ldq,
                 int threads, const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r)
    k.int8_div(x.row(r), x.dtype, x.cols, scale, azp, q + r * ldq);
}

namespace {
// The dynamic symmetric rule on a known amax: returns the scale and fills q.
float int8_sym_from_amax(const RowKernels& k, const void* x, DType dtype, std::int64_t n,
                         float amax, std::int8_t* q) {
  if (amax == 0.f) {
    std::memset(q, 0, static_cast<std::size_t>(n));
    return 0.f;
  }
  // NaN amax: r is NaN, every code becomes 0 and the scale NaN.
  k.int8_mul(x, dtype, n, kInt8Max / amax, q);
  return amax / kInt8Max;
}
}  // namespace

float int8_dynamic_row(const RowKernels& k, const void* x, DType dtype, std::int64_t n,
                       float amax_floor, std::int8_t* q) {
  float a = k.absmax(x, dtype, n);
  if (!std::isnan(a)) a = std::max(a, amax_floor);
  return int8_sym_from_amax(k, x, dtype, n, a, q);
}

void int8_dynamic_token(const Rows& x, float amax_floor, std::int8_t* q, std::int64_t ldq,
                        float* scale, int threads, const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r)
    scale[r] = int8_dynamic_row(k, x.row(r), x.dtype, x.cols, amax_floor, q + r * ldq);
}

float int8_dynamic_tensor(const Rows& x, std::int8_t* q, std::int64_t ldq, int threads,
                          const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
  const float a = absmax_all(k, x, threads);
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r)
    int8_sym_from_amax(k, x.row(r), x.dtype, x.cols, a, q + r * ldq);
  return a == 0.f ? 0.f : a / kInt8Max;
}

void int8_dynamic_token_asym(const Rows& x, std::int8_t* q, std::int64_t ldq, float* scale,
                             std::int32_t* azp, int threads, const RowKernels* kernels) {
  check_rows(x);
  const RowKernels& k = kernels ? *kernels : row_kernels();
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r) {
    const void* row = x.row(r);
    float lo, hi;
    k.minmax(row, x.dtype, x.cols, &lo, &hi);
    if (x.cols == 0) lo = hi = 0.f;
    float s = std::numeric_limits<float>::quiet_NaN();
    std::int32_t z = 0;
    if (!std::isnan(lo)) {
      s = std::max((hi - lo) / 255.f, kInt8AsymMinScale);
      // z = rne(-128 - lo/s), clamped to the f32 range that converts to int32 exactly.
      z = static_cast<std::int32_t>(
          std::clamp(std::nearbyint(-128.f - lo / s), -2147483648.f, 2147483520.f));
    }
    scale[r] = s;
    azp[r] = z;
    k.int8_div(row, x.dtype, x.cols, s, z, q + r * ldq);
  }
}

void int8_dynamic_group(const Rows& x, std::int64_t g, std::int8_t* q, std::int64_t ldq,
                        const GroupScales& scale, int threads, const RowKernels* kernels) {
  check_rows(x);
  if (g <= 0 || scale.packed != nullptr)
    throw diag::InternalError("int8_dynamic_group: positive group, f32 scales");
  const RowKernels& k = kernels ? *kernels : row_kernels();
  const std::int64_t groups = cdiv(x.cols, g);
  const std::size_t eb = elem_bytes(x.dtype);
#pragma omp parallel for num_threads(thread_count(threads, x.rows, x.cols))
  for (std::int64_t r = 0; r < x.rows; ++r) {
    const auto* row = static_cast<const std::byte*>(x.row(r));
    for (std::int64_t j = 0; j < groups; ++j) {
      const std::int64_t c0 = j * g, n = std::min(g, x.cols - c0);
      const void* src = row + static_cast<std::size_t>(c0) * eb;
      float a = k.absmax(src, x.dtype, n);
      if (!std::isnan(a)) a = std::max(a, kGroupAmaxEps);
      const float s = a / kInt8Max;
      store_group_scale(scale, r, j, s);
      k.int8_div(src, x.dtype, n, s, 0, q + r * ldq + c0);
    }
  }
}

// ---- activation dtypes ---------------------------------------------------------------------

double round_to(DType d, double v) {
  if (d == DType::kF64 || std::isnan(v)) return v;
  float f = static_cast<float>(v);
  if (d == DType::kF32) return f;
  // Round to odd into f32 (truncate, then set the last bit when inexact): f32 keeps >= 2
  // more bits than bf16/f16, so the second rounding below is then exact-once.
  if (std::isfinite(f) && static_cast<double>(f) != v) {
    if (std::fabs(static_cast<double>(f)) > std::fabs(v)) f = std::nextafter(f, 0.f);
    f = from_bits(bits_of(f) | 1u);
  }
  if (d == DType::kBF16) return tensor::bf16_to_f32(tensor::f32_to_bf16(f));
  if (d == DType::kF16) return tensor::f16_to_f32(tensor::f32_to_f16(f));
  throw diag::InternalError("round_to: not a float activation dtype");
}

void store_f32(void* row, DType d, std::int64_t i, float v) {
  auto* p = static_cast<std::byte*>(row);
  switch (d) {
    case DType::kF32:
      std::memcpy(p + 4 * i, &v, 4);
      return;
    case DType::kBF16: {
      const std::uint16_t h = tensor::f32_to_bf16(v);
      std::memcpy(p + 2 * i, &h, 2);
      return;
    }
    case DType::kF16: {
      const std::uint16_t h = tensor::f32_to_f16(v);
      std::memcpy(p + 2 * i, &h, 2);
      return;
    }
    default:
      break;
  }
  throw diag::InternalError("store_f32: not a float activation dtype");
}

void store_f64(void* row, DType d, std::int64_t i, double v) {
  store_f32(row, d, i, static_cast<float>(round_to(d, v)));
}

}  // namespace symtrace::ops::quant
