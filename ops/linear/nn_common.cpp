#include "ops/linear/nn_common.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/elem.hpp"

namespace symtrace::ops::nn {

namespace {

void add_notes(const sym::ShapeEnv& env, const SymInt& s, std::vector<std::string>& notes) {
  if (!s.is_symbolic()) return;
  for (std::string& n : env.provenance_notes(s.expr()))
    if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(std::move(n));
}

std::string dims_str(const SymShape& s) { return tensor::shape_str(s); }

}  // namespace

void fail(const Site& site, std::string_view code, std::string_view arg, std::string expected,
          std::string got, std::string message, std::span<const SymInt> symbols,
          std::string hint) {
  diag::Diagnostic d;
  d.code = std::string(code);
  d.op = std::string(site.op);
  d.constraint = std::string(site.constraint);
  d.argument = std::string(arg);
  d.expected = std::move(expected);
  d.got = std::move(got);
  d.message = std::move(message);
  d.hint = std::move(hint);
  for (const SymInt& s : symbols) add_notes(site.env, s, d.notes);
  throw diag::Error(std::move(d));
}

sym::Truth require_eq(const Site& site, const SymInt& a, const SymInt& b, std::string reason) {
  if (a.is_concrete() && b.is_concrete())
    return a.value() == b.value() ? sym::Truth::kTrue : sym::Truth::kFalse;
  return site.env.require(sym::eq(a, b), std::move(reason));
}

void require_size(const Site& site, std::string_view arg, const TensorMeta& t, std::int64_t dim,
                  const SymInt& expected, std::string_view what) {
  const std::int64_t d = wrap_dim(site, arg, dim, t.dim());
  const SymInt& got = t.sizes[static_cast<std::size_t>(d)];
  const std::string reason = fmt::format("{} {}: {}.size({}) == {}{}", site.op, site.constraint,
                                         arg, dim, expected.str(),
                                         what.empty() ? "" : fmt::format(" ({})", what));
  if (require_eq(site, got, expected, reason) != sym::Truth::kFalse) return;
  SymShape want = t.sizes;
  want[static_cast<std::size_t>(d)] = expected;
  const SymInt syms[] = {got, expected};
  fail(site, "shape-mismatch", arg, dims_str(want), t.shape_str(),
       fmt::format("{}.size({}) must equal {}{}, got {}", arg, dim, expected.str(),
                   what.empty() ? "" : fmt::format(" ({})", what), got.str()),
       syms);
}

void require_rank(const Site& site, std::string_view arg, const TensorMeta& t, std::int64_t lo,
                  std::int64_t hi, std::string_view form) {
  if (t.dim() >= lo && t.dim() <= hi) return;
  const std::string range = lo == hi ? fmt::format("{}", lo)
                            : hi >= kAnyRank
                                ? fmt::format("at least {}", lo)
                                : fmt::format("{} to {}", lo, hi);
  fail(site, "shape-mismatch", arg, std::string(form), t.shape_str(),
       fmt::format("{} must have {} dims, got {}", arg, range, t.dim()));
}

bool is_float(DType d) {
  switch (d) {
    case DType::kF64:
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kF8E4M3FN:
    case DType::kF8E5M2:
    case DType::kF8E4M3FNUZ:
    case DType::kF8E5M2FNUZ: return true;
    default: return false;
  }
}

bool is_integral(DType d) {
  return d == DType::kBool || d == DType::kU8 || d == DType::kI8 || d == DType::kI32 ||
         d == DType::kI64;
}

void require_dtype(const Site& site, std::string_view arg, const TensorMeta& t,
                   std::span<const DType> allowed) {
  if (std::find(allowed.begin(), allowed.end(), t.dtype) != allowed.end()) return;
  std::string names;
  for (DType d : allowed) names += fmt::format("{}{}", names.empty() ? "" : ", ", tensor::name(d));
  fail(site, "dtype", arg, names, std::string(tensor::name(t.dtype)),
       fmt::format("{} must be one of {}, got {}", arg, names, tensor::name(t.dtype)));
}

void require_same_dtype(const Site& site, std::string_view arg, const TensorMeta& t,
                        std::string_view ref_arg, DType want) {
  if (t.dtype == want) return;
  fail(site, "dtype", arg, std::string(tensor::name(want)), std::string(tensor::name(t.dtype)),
       fmt::format("{} must have the dtype of {} ({}), got {}", arg, ref_arg, tensor::name(want),
                   tensor::name(t.dtype)));
}

std::int64_t wrap_dim(const Site& site, std::string_view arg, std::int64_t dim,
                      std::int64_t rank) {
  const std::int64_t r = std::max<std::int64_t>(rank, 1);  // a 0-d tensor takes dim 0 / -1
  if (dim >= -r && dim < r) return dim < 0 ? dim + r : dim;
  fail(site, "dim", arg, fmt::format("a dim in [{}, {}]", -r, r - 1), fmt::format("{}", dim),
       fmt::format("dimension {} is out of range for {} of rank {}", dim, arg, rank));
}

SymShape broadcast_shapes(const Site& site, std::string_view a_arg, const SymShape& a,
                          std::string_view b_arg, const SymShape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  SymShape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const bool has_a = i < a.size(), has_b = i < b.size();
    const SymInt& da = has_a ? a[a.size() - 1 - i] : b[b.size() - 1 - i];
    const SymInt& db = has_b ? b[b.size() - 1 - i] : da;
    SymInt& o = out[n - 1 - i];
    if (!has_a || !has_b || da.identical(db)) {
      o = has_a ? da : db;
      continue;
    }
    if (site.env.decide(sym::eq(db, 1)) == sym::Truth::kTrue) { o = da; continue; }
    if (site.env.decide(sym::eq(da, 1)) == sym::Truth::kTrue) { o = db; continue; }
    const std::string reason =
        fmt::format("{} {}: broadcast {} dim {} == {} dim {}", site.op, site.constraint, a_arg,
                    a.size() - 1 - i, b_arg, b.size() - 1 - i);
    if (require_eq(site, da, db, reason) == sym::Truth::kFalse) {
      const SymInt syms[] = {da, db};
      fail(site, "shape-mismatch", b_arg, fmt::format("a shape broadcastable with {}", dims_str(a)),
           dims_str(b),
           fmt::format("{} {} and {} {} do not broadcast: size {} vs {} at dim {} from the right",
                       a_arg, dims_str(a), b_arg, dims_str(b), da.str(), db.str(), i + 1),
           syms);
    }
    o = da;
  }
  return out;
}

TensorMeta contiguous_like(SymShape sizes, DType dtype, const TensorMeta& like) {
  return TensorMeta::contiguous(std::move(sizes), dtype, like.device);
}

op::Applicability rows_viewable(sym::ShapeEnv& env, const TensorMeta& t, std::string_view arg) {
  const std::int64_t r = t.dim();
  if (r == 0) return op::Applicability::no(fmt::format("{} is 0-d", arg));
  std::vector<sym::Cond> conds;
  const SymInt& last = t.sizes.back();
  conds.push_back(sym::eq(t.strides.back(), 1) || sym::eq(last, 1));
  for (std::int64_t i = 0; i + 2 < r; ++i) {
    const auto u = static_cast<std::size_t>(i);
    conds.push_back(sym::eq(t.strides[u], t.strides[u + 1] * t.sizes[u + 1]) ||
                    sym::eq(t.sizes[u], 1));
  }
  sym::Truth all = sym::Truth::kTrue;
  for (const sym::Cond& c : conds) all = sym::truth_and(all, env.decide(c));
  if (all == sym::Truth::kTrue) return op::Applicability::yes();
  return {all, fmt::format("{} with strides {} is {} as rows [M, {}] with unit inner stride", arg,
                           dims_str(t.strides),
                           all == sym::Truth::kFalse ? "not viewable" : "maybe not viewable",
                           last.str())};
}

std::int64_t row_stride(const Tensor& t) {
  // The innermost leading dim of size > 1 gives the stride between consecutive rows.
  for (std::int64_t d = t.dim() - 2; d >= 0; --d)
    if (t.size(d) > 1) return t.stride(d);
  return std::max<std::int64_t>(t.dim() == 0 ? 1 : t.size(-1), 1);
}

std::int64_t rows(const Tensor& t) {
  std::int64_t m = 1;
  for (std::int64_t d = 0; d + 1 < t.dim(); ++d) m *= t.size(d);
  return m;
}

op::Applicability dtype_is(const TensorMeta& t, std::string_view arg,
                           std::span<const DType> allowed) {
  if (std::find(allowed.begin(), allowed.end(), t.dtype) != allowed.end())
    return op::Applicability::yes();
  return op::Applicability::no(fmt::format("{} is {}", arg, tensor::name(t.dtype)));
}

op::Outputs fake_of_real(const op::FakeFn& fake, const op::Args& real, std::string_view op) {
  const std::vector<op::Value> metas = op::metas_of(real.values());
  sym::ShapeEnv env;
  op::FakeContext cx{env, op};
  return fake(op::Args(real.schema(), metas), cx);
}

tensor::Shape out_sizes(const op::Outputs& fake_out, std::size_t i) {
  const auto* m = boost::variant2::get_if<TensorMeta>(&fake_out.at(i));
  if (m == nullptr) throw diag::InternalError("out_sizes: output is not a tensor meta");
  tensor::Shape s;
  for (const SymInt& d : m->sizes) s.push_back(d.value());
  return s;
}

std::vector<double> read_f64(const Tensor& t) { return t.to_f64(); }

namespace {

// Rounds v to f32 with round-to-odd: the f32 keeps a sticky bit, so a second rounding to a
// narrower format (bf16, f16, fp8) equals rounding v directly.
float to_f32_odd(double v) {
  if (!std::isfinite(v)) return static_cast<float>(v);
  float f = static_cast<float>(v);
  if (static_cast<double>(f) == v || std::isinf(f)) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(v))
    f = std::nextafter(f, 0.f);  // truncate toward zero
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) | 1u);
}

template <class T>
T to_int(double v) {
  if (std::isnan(v)) return 0;
  const double t = std::trunc(v);
  if (t <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (t >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(t);
}

}  // namespace

void write_f64(Tensor& out, std::span<const double> values) {
  if (!out.is_contiguous() || static_cast<std::size_t>(out.numel()) != values.size())
    throw diag::InternalError("write_f64: output must be contiguous with one value per element");
  void* p = out.data_ptr();
  const std::size_t n = values.size();
  switch (out.dtype()) {
    case DType::kF64:
      for (std::size_t i = 0; i < n; ++i) static_cast<double*>(p)[i] = values[i];
      break;
    case DType::kF32:
      for (std::size_t i = 0; i < n; ++i) static_cast<float*>(p)[i] = static_cast<float>(values[i]);
      break;
    case DType::kBF16:
      for (std::size_t i = 0; i < n; ++i)
        static_cast<std::uint16_t*>(p)[i] = elem::f32_to_bf16(to_f32_odd(values[i]));
      break;
    case DType::kF16:
      for (std::size_t i = 0; i < n; ++i)
        static_cast<std::uint16_t*>(p)[i] = elem::f32_to_f16(to_f32_odd(values[i]));
      break;
    case DType::kF8E4M3FN:
    case DType::kF8E5M2:
    case DType::kF8E4M3FNUZ:
    case DType::kF8E5M2FNUZ:
    case DType::kF8E8M0FNU:
      for (std::size_t i = 0; i < n; ++i)
        static_cast<std::uint8_t*>(p)[i] = static_cast<std::uint8_t>(
            tensor::encode(out.dtype(), to_f32_odd(values[i]), tensor::Rounding::kRaw));
      break;
    case DType::kI64:
      for (std::size_t i = 0; i < n; ++i) static_cast<std::int64_t*>(p)[i] = to_int<std::int64_t>(values[i]);
      break;
    case DType::kI32:
      for (std::size_t i = 0; i < n; ++i) static_cast<std::int32_t*>(p)[i] = to_int<std::int32_t>(values[i]);
      break;
    case DType::kI16:
      for (std::size_t i = 0; i < n; ++i) static_cast<std::int16_t*>(p)[i] = to_int<std::int16_t>(values[i]);
      break;
    case DType::kI8:
      for (std::size_t i = 0; i < n; ++i) static_cast<std::int8_t*>(p)[i] = to_int<std::int8_t>(values[i]);
      break;
    case DType::kU8:
      for (std::size_t i = 0; i < n; ++i) static_cast<std::uint8_t*>(p)[i] = to_int<std::uint8_t>(values[i]);
      break;
    case DType::kBool:
      for (std::size_t i = 0; i < n; ++i) static_cast<std::uint8_t*>(p)[i] = values[i] != 0.0;
      break;
    case DType::kF4E2M1X2:
      throw diag::InternalError("write_f64: packed f4 outputs are not produced by nn ops");
  }
}

double round_to(DType d, double v) {
  switch (d) {
    case DType::kF32: return static_cast<float>(v);
    case DType::kBF16: return elem::bf16_to_f32(elem::f32_to_bf16(to_f32_odd(v)));
    case DType::kF16: return elem::f16_to_f32(elem::f32_to_f16(to_f32_odd(v)));
    case DType::kF64: return v;
    default:
      if (is_float(d)) return tensor::decode(d, tensor::encode(d, to_f32_odd(v), tensor::Rounding::kRaw));
      return v;
  }
}

double ulp(DType dtype, double v) {
  const double a = std::fabs(v);
  int mant = 0, min_exp = 0;  // mantissa bits, exponent of the smallest normal
  switch (dtype) {
    case DType::kF32: mant = 23; min_exp = -126; break;
    case DType::kBF16: mant = 7; min_exp = -126; break;
    case DType::kF16: mant = 10; min_exp = -14; break;
    case DType::kF8E4M3FN: mant = 3; min_exp = -6; break;
    case DType::kF8E5M2: mant = 2; min_exp = -14; break;
    default: return 0.0;  // f64 and integers: exact enough / exact
  }
  const int e = a > 0 && std::isfinite(a) ? std::max(std::ilogb(a), min_exp) : min_exp;
  return std::ldexp(1.0, e - mant);
}

std::string compare_bounded(const Tensor& got, const Tensor& ref, std::span<const double> bound) {
  const std::vector<double> g = got.to_f64(), r = ref.to_f64();
  if (g.size() != r.size() || r.size() != bound.size())
    return fmt::format("got {} elements, reference {}, bounds {}", g.size(), r.size(), bound.size());
  std::size_t bad = 0, first = 0;
  double first_tol = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    bool ok;
    const double tol = bound[i] + ulp(got.dtype(), r[i]);
    if (std::isnan(r[i])) ok = std::isnan(g[i]);
    else if (std::isnan(g[i]) || std::isinf(r[i])) ok = g[i] == r[i];
    else ok = std::fabs(g[i] - r[i]) <= tol;
    if (!ok && bad++ == 0) { first = i; first_tol = tol; }
  }
  if (bad == 0) return {};
  return fmt::format("{} of {} elements exceed the bound; first at flat index {}: got {}, expected "
                     "{}, allowed {:.3g} (NaN means never written)",
                     bad, r.size(), first, g[first], r[first], first_tol);
}

Tensor sample_tensor(tensor::Shape sizes, DType dtype, std::uint64_t seed, Layout layout, float lo,
                     float hi) {
  if (layout == Layout::kTransposedLast2 && sizes.size() >= 2) {
    tensor::Shape swapped = sizes;
    std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
    Tensor base = Tensor::empty(swapped, dtype);
    base.fill_random(seed, lo, hi);
    return base.transpose(-1, -2);
  }
  if (layout == Layout::kStridedRows && !sizes.empty()) {
    tensor::Shape doubled = sizes;
    const std::size_t d = sizes.size() >= 2 ? sizes.size() - 2 : 0;
    doubled[d] = sizes[d] * 2;
    Tensor base = Tensor::empty(doubled, dtype);
    base.fill_random(seed, lo, hi);
    tensor::Shape strides = base.strides();
    strides[d] *= 2;
    return base.as_strided(sizes, strides, 0);
  }
  Tensor t = Tensor::empty(std::move(sizes), dtype);
  t.fill_random(seed, lo, hi);
  return t;
}

}  // namespace symtrace::ops::nn
