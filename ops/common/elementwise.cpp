#include "ops/common/elementwise.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace symtrace::ops::ew {

namespace v2 = boost::variant2;

// --- type promotion -------------------------------------------------------------------------

Operand operand_of(const TensorMeta& m) {
  return {m.dtype, m.dim() == 0 ? Category::kZeroDim : Category::kTensor};
}
Operand operand_of(const Tensor& t) {
  return {t.dtype(), t.dim() == 0 ? Category::kZeroDim : Category::kTensor};
}
Operand operand_of_scalar(const op::Value& v) {
  if (v2::holds_alternative<bool>(v)) return {DType::kBool, Category::kScalar};
  if (v2::holds_alternative<double>(v)) return {DType::kF32, Category::kScalar};
  return {DType::kI64, Category::kScalar};
}

bool is_floating(DType d) {
  return tensor::info(d).is_float && d != DType::kF8E8M0FNU && d != DType::kF4E2M1X2;
}
bool is_integral(DType d) { return !tensor::info(d).is_float && d != DType::kBool; }

namespace {

std::size_t bytes(DType d) { return tensor::info(d).bytes; }

}  // namespace

std::optional<DType> promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::kF8E8M0FNU || b == DType::kF8E8M0FNU || a == DType::kF4E2M1X2 ||
      b == DType::kF4E2M1X2)
    return std::nullopt;  // scale / packed formats do no arithmetic
  if (tensor::is_fp8(a) && tensor::is_fp8(b)) return std::nullopt;
  if (tensor::is_fp8(a)) return a;  // the meta kernels' answer (refdata #302)
  if (tensor::is_fp8(b)) return b;
  if (a == DType::kBool) return b;
  if (b == DType::kBool) return a;
  const bool fa = is_floating(a), fb = is_floating(b);
  if (fa && fb) {
    const bool half_pair = (a == DType::kF16 && b == DType::kBF16) || (a == DType::kBF16 && b == DType::kF16);
    if (half_pair) return DType::kF32;
    return bytes(a) >= bytes(b) ? a : b;
  }
  if (fa) return a;
  if (fb) return b;
  // Two integer types: signedness decides where sizes alone do not.
  const bool sa = tensor::info(a).is_signed, sb = tensor::info(b).is_signed;
  if (sa == sb) return bytes(a) >= bytes(b) ? a : b;
  const DType s = sa ? a : b, u = sa ? b : a;
  if (bytes(s) > bytes(u)) return s;
  if (bytes(u) == 1) return DType::kI16;  // u8 + i8 -> int16
  return std::nullopt;
}

DType result_type(std::string_view op, std::span<const Operand> operands, std::string_view constraint) {
  std::optional<DType> slot[3];
  for (const Operand& o : operands) {
    auto& s = slot[static_cast<int>(o.cat)];
    if (!s) {
      s = o.dtype;
      continue;
    }
    const auto p = promote_types(*s, o.dtype);
    if (!p)
      raise(op, constraint, {"dtype", "", "dtypes that promote",
                 fmt::format("{} and {}", tensor::name(*s), tensor::name(o.dtype)),
                 fmt::format("{} and {} do not promote to a common dtype", tensor::name(*s),
                             tensor::name(o.dtype))});
    s = *p;
  }
  // PyTorch's combine_categories(higher, lower).
  const auto combine = [&](std::optional<DType> hi, std::optional<DType> lo) -> std::optional<DType> {
    if (!hi) return lo;
    if (!lo) return hi;
    if (is_floating(*hi)) return hi;
    if (*hi == DType::kBool || is_floating(*lo)) {
      const auto p = promote_types(*hi, *lo);
      if (!p)
        raise(op, constraint, {"dtype", "", "dtypes that promote",
                   fmt::format("{} and {}", tensor::name(*hi), tensor::name(*lo)),
                   fmt::format("{} and {} do not promote to a common dtype", tensor::name(*hi),
                               tensor::name(*lo))});
      return p;
    }
    return hi;
  };
  const auto r = combine(slot[0], combine(slot[1], slot[2]));
  if (!r) throw diag::InternalError(fmt::format("{}: result_type of no operands", op));
  return *r;
}

// --- broadcasting ---------------------------------------------------------------------------

SymShape broadcast_shapes(const op::FakeContext& cx, std::span<const Named> shapes,
                          std::string_view constraint) {
  std::size_t rank = 0;
  for (const Named& n : shapes) rank = std::max(rank, n.sizes->size());
  SymShape out(rank, SymInt(1));
  for (std::size_t k = 0; k < rank; ++k) {  // k counts from the right
    const Named* from = nullptr;
    for (const Named& n : shapes) {
      if (k >= n.sizes->size()) continue;
      const SymInt& s = (*n.sizes)[n.sizes->size() - 1 - k];
      SymInt& o = out[rank - 1 - k];
      if (is_one(s) || s.identical(o)) continue;
      if (from == nullptr) {
        o = s;
        from = &n;
        continue;
      }
      const sym::Cond same = sym::eq(o, s);
      const auto dim = static_cast<std::int64_t>(rank - 1 - k);
      if (!holds(cx.env, same, fmt::format("{}: {} and {} broadcast at dim {}", cx.op, from->name,
                                           n.name, dim)))
        raise(cx.op, constraint, {"broadcast", std::string(n.name), o.str(), s.str(),
                      fmt::format("the size of {} ({}) must match the size of {} ({}) at "
                                  "non-singleton dimension {}: {} and {} do not broadcast",
                                  from->name, o.str(), n.name, s.str(), dim,
                                  tensor::shape_str(*from->sizes), tensor::shape_str(*n.sizes))});
    }
  }
  return out;
}

Shape broadcast_shapes(std::string_view op, std::span<const Shape> shapes) {
  std::size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape& s : shapes) {
    for (std::size_t k = 0; k < s.size(); ++k) {
      std::int64_t& o = out[rank - 1 - k];
      const std::int64_t v = s[s.size() - 1 - k];
      if (v == 1 || v == o) continue;
      if (o != 1) diag::fail("broadcast", fmt::format("{}: sizes {} and {} at dim {} do not broadcast", op, o, v, rank - 1 - k));
      o = v;
    }
  }
  return out;
}

// --- element access -------------------------------------------------------------------------

namespace {

template <class T>
T read(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <class T>
void write(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// v rounded to f32 with round-to-odd: a later round-to-nearest-even to any format with at most
// 22 fraction bits (f16, bf16, fp8) then equals rounding v directly, with no double rounding.
float to_f32_odd(double v) {
  if (!std::isfinite(v)) return static_cast<float>(v);
  float f = static_cast<float>(v);
  if (static_cast<double>(f) == v || std::isinf(f)) return f;
  if (std::abs(static_cast<double>(f)) > std::abs(v)) f = std::nextafter(f, 0.0f);  // truncate
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  return std::bit_cast<float>(u | 1u);  // sticky bit
}

}  // namespace

double load_f64(const std::byte* p, DType d) {
  switch (d) {
    case DType::kF64: return read<double>(p);
    case DType::kF32: return read<float>(p);
    case DType::kF16: return tensor::f16_to_f32(read<std::uint16_t>(p));
    case DType::kBF16: return tensor::bf16_to_f32(read<std::uint16_t>(p));
    case DType::kBool: return read<std::uint8_t>(p) != 0 ? 1.0 : 0.0;
    default: break;
  }
  if (tensor::info(d).is_float) return tensor::decode(d, read<std::uint8_t>(p));
  return static_cast<double>(load_i64(p, d));
}

std::int64_t load_i64(const std::byte* p, DType d) {
  const auto& inf = tensor::info(d);
  if (d == DType::kBool) return read<std::uint8_t>(p) != 0;
  if (inf.is_float) throw diag::InternalError(fmt::format("load_i64 of {}", inf.name));
  switch (inf.bytes) {
    case 1: return inf.is_signed ? read<std::int8_t>(p) : read<std::uint8_t>(p);
    case 2: return inf.is_signed ? read<std::int16_t>(p) : read<std::uint16_t>(p);
    case 4: return inf.is_signed ? read<std::int32_t>(p) : read<std::uint32_t>(p);
    default: return read<std::int64_t>(p);
  }
}

void store_f64(std::byte* p, DType d, double v) {
  const auto& inf = tensor::info(d);
  switch (d) {
    case DType::kF64: return write<double>(p, v);
    case DType::kF32: return write<float>(p, static_cast<float>(v));
    case DType::kF16: return write<std::uint16_t>(p, tensor::f32_to_f16(to_f32_odd(v)));
    case DType::kBF16: return write<std::uint16_t>(p, tensor::f32_to_bf16(to_f32_odd(v)));
    case DType::kBool: return write<std::uint8_t>(p, v != 0.0 ? 1 : 0);
    default: break;
  }
  if (inf.is_float) {
    write<std::uint8_t>(p, static_cast<std::uint8_t>(
                               tensor::encode(d, to_f32_odd(v), tensor::Rounding::kRaw)));
    return;
  }
  // Float -> integer truncates toward zero; NaN and out-of-range values (undefined in C++)
  // become 0 / the int64 limits before the wrapping store.
  std::int64_t i = 0;
  if (std::isnan(v)) i = 0;
  else if (v >= 0x1p63) i = std::numeric_limits<std::int64_t>::max();
  else if (v < -0x1p63) i = std::numeric_limits<std::int64_t>::min();
  else i = static_cast<std::int64_t>(v);
  store_i64(p, d, i);
}

void store_i64(std::byte* p, DType d, std::int64_t v) {
  const auto& inf = tensor::info(d);
  if (d == DType::kBool) return write<std::uint8_t>(p, v != 0 ? 1 : 0);
  if (inf.is_float) return store_f64(p, d, static_cast<double>(v));
  switch (inf.bytes) {  // modular narrowing, defined since C++20
    case 1: return write<std::uint8_t>(p, static_cast<std::uint8_t>(v));
    case 2: return write<std::uint16_t>(p, static_cast<std::uint16_t>(v));
    case 4: return write<std::uint32_t>(p, static_cast<std::uint32_t>(v));
    default: return write<std::int64_t>(p, v);
  }
}

Tensor scalar_tensor(const op::Value& v) {
  if (auto* b = v2::get_if<bool>(&v)) {
    Tensor t = Tensor::empty({}, DType::kBool);
    t.fill(*b ? 1.0 : 0.0);
    return t;
  }
  if (auto* d = v2::get_if<double>(&v)) {
    Tensor t = Tensor::empty({}, DType::kF64);
    write<double>(static_cast<std::byte*>(t.data_ptr()), *d);
    return t;
  }
  Tensor t = Tensor::empty({}, DType::kI64);
  write<std::int64_t>(static_cast<std::byte*>(t.data_ptr()), v2::get<SymInt>(v).value());
  return t;
}

std::vector<std::int64_t> broadcast_strides(const Tensor& t, const Shape& out) {
  std::vector<std::int64_t> s(out.size(), 0);
  const std::size_t lead = out.size() - static_cast<std::size_t>(t.dim());
  for (std::size_t i = 0; i < static_cast<std::size_t>(t.dim()); ++i)
    s[lead + i] = t.sizes()[i] == 1 ? 0 : t.strides()[i];
  return s;
}

void walk(const Shape& sizes, const std::vector<std::vector<std::int64_t>>& strides,
          const std::function<void(std::span<const std::int64_t>)>& f) {
  for (std::int64_t s : sizes)
    if (s == 0) return;
  const std::size_t rank = sizes.size(), n = strides.size();
  std::vector<std::int64_t> idx(rank, 0), off(n, 0);
  while (true) {
    f(off);
    std::size_t d = rank;
    while (d > 0) {  // odometer: bump the innermost dim, carry outward
      --d;
      for (std::size_t k = 0; k < n; ++k) off[k] += strides[k][d];
      if (++idx[d] < sizes[d]) break;
      for (std::size_t k = 0; k < n; ++k) off[k] -= strides[k][d] * sizes[d];
      idx[d] = 0;
      if (d == 0) return;
    }
    if (rank == 0) return;
  }
}

Tensor map_ref(std::span<const Tensor> ins, DType out_dtype, op::KernelContext& cx,
               const FloatFn& f, const IntFn& g, std::string_view op) {
  std::vector<Shape> shapes;
  for (const Tensor& t : ins) shapes.push_back(t.sizes());
  const Shape out_shape = broadcast_shapes(op, shapes);
  Tensor out = cx.alloc.output(0, out_shape, out_dtype);
  std::vector<std::vector<std::int64_t>> strides;
  for (const Tensor& t : ins) strides.push_back(broadcast_strides(t, out_shape));
  strides.push_back(out.strides());
  const bool as_float = tensor::info(out_dtype).is_float;
  std::vector<std::size_t> esize;
  for (const Tensor& t : ins) esize.push_back(tensor::info(t.dtype()).bytes);
  const std::size_t out_esize = tensor::info(out_dtype).bytes;
  auto* obase = static_cast<std::byte*>(out.data_ptr());
  std::vector<double> fv(ins.size());
  std::vector<std::int64_t> iv(ins.size());
  walk(out_shape, strides, [&](std::span<const std::int64_t> off) {
    std::byte* o = obase + off[ins.size()] * static_cast<std::int64_t>(out_esize);
    for (std::size_t k = 0; k < ins.size(); ++k) {
      const std::byte* p = static_cast<const std::byte*>(ins[k].data_ptr()) +
                           off[k] * static_cast<std::int64_t>(esize[k]);
      if (as_float) fv[k] = load_f64(p, ins[k].dtype());
      else iv[k] = load_i64(p, ins[k].dtype());
    }
    if (as_float) store_f64(o, out_dtype, f(fv));
    else store_i64(o, out_dtype, g(iv));
  });
  return out;
}

op::Tolerance ulp_tolerance(double f32_ulps, double half_ulps, double atol) {
  op::Tolerance t;
  t.compare = [=](const op::Args&, std::size_t, const Tensor& got, const Tensor& ref) -> std::string {
    double eps = 0;
    switch (got.dtype()) {
      case DType::kF32: eps = f32_ulps * 0x1p-23; break;
      case DType::kBF16: eps = half_ulps * 0x1p-7; break;
      case DType::kF16: eps = half_ulps * 0x1p-10; break;
      default: break;  // exact for every other dtype
    }
    const std::vector<double> g = got.to_f64(), e = ref.to_f64();
    for (std::size_t i = 0; i < e.size(); ++i) {
      const bool ok = std::isnan(e[i])   ? std::isnan(g[i])
                      : std::isnan(g[i]) ? false
                      : std::isinf(e[i]) ? g[i] == e[i]
                                         : std::abs(g[i] - e[i]) <= atol + eps * std::abs(e[i]);
      if (!ok)
        return fmt::format("element {} is {}, the reference {} (tolerance {} ulps of {}, atol {}; "
                           "NaN means never written)",
                           i, g[i], e[i], got.dtype() == DType::kF32 ? f32_ulps : half_ulps,
                           tensor::name(got.dtype()), atol);
    }
    return {};
  };
  return t;
}

}  // namespace symtrace::ops::ew
