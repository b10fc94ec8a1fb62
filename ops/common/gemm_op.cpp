#include "ops/common/gemm_op.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ops/common/quantizers_op.hpp"

namespace symtrace::ops::gemm_op {
namespace {

constexpr std::size_t kAlign = 64;
std::size_t align(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// One ulp of a 16-bit float format at |v| (0 for f32: the f32 bound already covers it).
double ulp16(DType d, double v) {
  const double a = std::max(std::fabs(v), d == DType::kF16 ? std::ldexp(1.0, -14) : 1e-38);
  const int e = std::ilogb(a);
  if (d == DType::kBF16) return std::ldexp(1.0, e - 7);
  if (d == DType::kF16) return std::ldexp(1.0, e - 10);
  return 0.0;
}

}  // namespace

gemm::Epilogue affine_epilogue(const Affine& e, bool int_acc) {
  return [e, int_acc](const gemm::Tile& t) {
    constexpr std::int64_t kChunk = 512;
    float y[kChunk];
    const auto eb = static_cast<std::int64_t>(tensor::info(e.out_dtype).bytes);
    for (std::int64_t i = 0; i < t.mb; ++i) {
      const std::int64_t m = t.m0 + i;
      const float sa = e.sa.data ? e.sa[m] : 1.f;
      const std::int64_t z = e.z ? e.z[m * e.z_stride] : 0;
      for (std::int64_t c0 = 0; c0 < t.nb; c0 += kChunk) {
        const std::int64_t cn = std::min(kChunk, t.nb - c0);
        for (std::int64_t c = 0; c < cn; ++c) {
          const std::int64_t n = t.n0 + c0 + c;
          float acc;
          if (int_acc) {
            std::int64_t v = static_cast<const std::int32_t*>(t.acc)[i * t.ld + c0 + c];
            if (z != 0) v -= z * e.colsum[n];
            acc = static_cast<float>(v);
          } else {
            acc = static_cast<const float*>(t.acc)[i * t.ld + c0 + c];
          }
          const float sb = e.sb.data ? e.sb[n] : 1.f;
          y[c] = acc * sa * sb + (e.bias ? e.bias[n] : 0.f);
        }
        auto* dst = static_cast<std::byte*>(e.out) + (m * e.ldo + t.n0 + c0) * eb;
        tensor::convert(y, DType::kF32, dst, e.out_dtype, static_cast<std::size_t>(cn));
      }
    }
  };
}

std::size_t bias_bytes(const Tensor* bias) {
  return bias ? static_cast<std::size_t>(bias->numel()) * 4 : 0;
}

const float* bias_f32(const Tensor* bias, std::span<std::byte> ws) {
  if (!bias) return nullptr;
  auto* out = reinterpret_cast<float*>(ws.data());
  const Tensor b = bias->contiguous();
  tensor::convert(b.data_ptr(), b.dtype(), out, DType::kF32, static_cast<std::size_t>(b.numel()));
  return out;
}

Workspace::Workspace(op::Allocator& alloc, std::initializer_list<std::size_t> sizes) {
  std::size_t total = 0;
  for (std::size_t s : sizes) total += align(s);
  std::span<std::byte> all = alloc.workspace(std::max<std::size_t>(total, 1));
  std::size_t off = 0;
  for (std::size_t s : sizes) {
    slices_.push_back(all.subspan(off, s));
    off += align(s);
  }
}

void compute_float(FloatCall c, gemm::PackKind kind, tensor::Isa isa, op::KernelContext& cx) {
  if (c.M == 0 || c.N == 0) return;
  const int threads = gemm::resolve_threads(cx.threads);
  const bool gemv = isa >= tensor::Isa::kAvx512 && c.M <= gemm::kGemvMaxM && !c.block &&
                    c.b.elem == gemm::Elem::kF8E4M3;
  const gemm::Microkernel& mk = microkernel(kind, isa);
  gemm::Problem p{c.M, c.N, c.K, {}, c.b, c.block};
  // The GEMV takes f32 activations: the M <= 16 rows are expanded once.
  const gemm::PackKind a_kind = gemv ? gemm::PackKind::kF32 : kind;
  const std::size_t acc_bytes = gemv ? static_cast<std::size_t>(c.M * c.N) * 4 : 0;
  Workspace ws(cx.alloc, {bias_bytes(c.bias), gemm::a_words_bytes(a_kind, c.a, c.M, c.K), acc_bytes,
                          gemv ? 0 : gemm::workspace_bytes(mk, p, threads)});
  c.epi.bias = bias_f32(c.bias, ws[0]);
  const gemm::Epilogue epilogue = affine_epilogue(c.epi, /*int_acc=*/false);
  p.a = gemm::to_words(a_kind, c.a, c.M, c.K, ws[1], threads);
  if (gemv) {
    auto* acc = reinterpret_cast<float*>(ws[2].data());
    const auto* x = reinterpret_cast<const float*>(p.a.data);
    const std::int64_t ldx = p.a.ld_bytes / 4;
    const auto* b = static_cast<const std::uint8_t*>(c.b.data);
    if (c.b.kn)
      gemm::gemv_f8_kn(c.M, c.N, c.K, x, ldx, b, c.b.ld, acc, c.N, threads);
    else
      gemm::gemv_f8(c.M, c.N, c.K, x, ldx, b, c.b.ld, acc, c.N, threads);
    epilogue(gemm::Tile{acc, c.N, 0, c.M, 0, c.N});
    return;
  }
  gemm::run_gemm(mk, p, ws[3], threads, epilogue);
}

Tensor write_result(op::Allocator& alloc, const TensorMeta& m, const RefResult& r) {
  Tensor out = qop::alloc_like(alloc, 0, m);
  std::vector<float> y32(r.y.size());
  for (std::size_t i = 0; i < r.y.size(); ++i) y32[i] = static_cast<float>(r.y[i]);
  tensor::convert(y32.data(), DType::kF32, out.data_ptr(), out.dtype(), y32.size());
  return out;
}

std::string compare_to_bound(const Tensor& got, const RefResult& r) {
  const std::vector<double> g = got.to_f64();
  if (g.size() != r.y.size())
    return fmt::format("{} elements, the reference has {}", g.size(), r.y.size());
  std::string out;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double want = r.y[i];
    if (std::isnan(want) && std::isnan(g[i])) continue;
    const double tol = r.bound[i] + ulp16(got.dtype(), want);
    if (std::fabs(g[i] - want) <= tol) continue;
    if (++bad <= 3)
      out += fmt::format("{}[m={}, n={}] = {} but the reference is {} (bound {:.3g}); ",
                         out.empty() ? "" : "", static_cast<std::int64_t>(i) / r.N,
                         static_cast<std::int64_t>(i) % r.N, g[i], want, tol);
  }
  if (bad) out += fmt::format("{} of {} elements outside the OPS.md 15.7 bound", bad, g.size());
  return out;
}

std::vector<double> values(const Tensor& t) { return t.to_f64(); }

std::vector<double> expand(const Tensor* scale, std::int64_t n) {
  if (!scale) return std::vector<double>(static_cast<std::size_t>(n), 1.0);
  std::vector<double> v = scale->to_f64();
  if (v.size() == 1) return std::vector<double>(static_cast<std::size_t>(n), v[0]);
  return v;
}

const gemm::Microkernel& microkernel(gemm::PackKind kind, tensor::Isa isa) {
  const gemm::Microkernel* mk = gemm::microkernel_for(kind, isa);
  if (!mk)
    throw diag::InternalError(fmt::format("no {} microkernel for kind {}", tensor::isa_name(isa),
                                          static_cast<int>(kind)));
  return *mk;
}

Tensor random(tensor::Shape shape, DType d, std::uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(std::move(shape), d);
  t.fill_random(seed, lo, hi);
  return t;
}

Tensor scalar_f32(float v) { return Tensor::from_f32({1}, std::vector<float>{v}); }

Tensor random_scale(tensor::Shape shape, std::uint64_t seed, float lo, float hi) {
  return random(std::move(shape), DType::kF32, seed, lo, hi);
}

}  // namespace symtrace::ops::gemm_op
