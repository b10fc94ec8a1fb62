// The broadcast-batched product behind matmul, mm and bmm: the reference loops and the fast
// path, which maps every batch onto kernels::gemm_nt (ops/linear/kernels.hpp).
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "ops/linear/kernels.hpp"
#include "ops/matmul/matmul.hpp"

namespace symtrace::ops::matmul_detail {

std::int64_t Plan::batch_count() const {
  std::int64_t n = 1;
  for (std::int64_t d : batch) n *= d;
  return n;
}

std::pair<std::int64_t, std::int64_t> Plan::offsets(std::int64_t i) const {
  std::int64_t oa = 0, ob = 0;
  for (std::size_t d = batch.size(); d-- > 0;) {
    const std::int64_t idx = i % batch[d];
    i /= batch[d];
    oa += idx * a_bstride[d];
    ob += idx * b_bstride[d];
  }
  return {oa, ob};
}

Plan plan(const Tensor& a, const Tensor& b) {
  Plan p;
  const std::int64_t ra = a.dim(), rb = b.dim();
  p.K = a.size(-1);
  p.a_cs = a.stride(-1);
  if (ra >= 2) {
    p.M = a.size(-2);
    p.a_rs = a.stride(-2);
  }
  if (rb >= 2) {
    p.N = b.size(-1);
    p.b_rs = b.stride(-2);
    p.b_cs = b.stride(-1);
  } else {
    p.b_rs = b.stride(0);
  }
  const std::int64_t ba = std::max<std::int64_t>(ra - 2, 0), bb = std::max<std::int64_t>(rb - 2, 0);
  const std::int64_t nb = std::max(ba, bb);
  p.batch.assign(static_cast<std::size_t>(nb), 1);
  p.a_bstride.assign(static_cast<std::size_t>(nb), 0);
  p.b_bstride.assign(static_cast<std::size_t>(nb), 0);
  for (std::int64_t i = 0; i < nb; ++i) {
    const auto u = static_cast<std::size_t>(i);
    const std::int64_t da = i - (nb - ba), db = i - (nb - bb);
    const std::int64_t sa = da >= 0 ? a.size(da) : 1, sb = db >= 0 ? b.size(db) : 1;
    p.batch[u] = sa == 1 ? sb : sa;  // the fake has checked they broadcast
    if (da >= 0 && sa != 1) p.a_bstride[u] = a.stride(da);
    if (db >= 0 && sb != 1) p.b_bstride[u] = b.stride(db);
  }
  return p;
}

void run_reference(const Tensor& a, const Tensor& b, Tensor& out) {
  // read_f64 gives logical row-major order: plan against contiguous copies to match it.
  const std::vector<double> A = nn::read_f64(a), B = nn::read_f64(b);
  const Plan p = plan(a.contiguous(), b.contiguous());
  std::vector<double> y(static_cast<std::size_t>(out.numel()));
  std::size_t o = 0;
  for (std::int64_t i = 0; i < p.batch_count(); ++i) {
    const auto [oa, ob] = p.offsets(i);
    for (std::int64_t m = 0; m < p.M; ++m)
      for (std::int64_t n = 0; n < p.N; ++n) {
        double s = 0;
        for (std::int64_t k = 0; k < p.K; ++k)
          s += A[static_cast<std::size_t>(oa + m * p.a_rs + k * p.a_cs)] *
               B[static_cast<std::size_t>(ob + k * p.b_rs + n * p.b_cs)];
        y[o++] = s;
      }
  }
  nn::write_f64(out, y);
}

namespace {

std::size_t elem_bytes(DType d) { return d == DType::kF32 ? 4 : 2; }

// Copies the [rows, K] matrix src[r*rs + k*cs] into dst (rows contiguous along K).
void pack_rows(const std::byte* src, std::int64_t rows, std::int64_t K, std::int64_t rs,
               std::int64_t cs, std::size_t es, std::byte* dst) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < K; ++k)
      std::memcpy(dst + static_cast<std::size_t>(r * K + k) * es,
                  src + static_cast<std::size_t>(r * rs + k * cs) * es, es);
}

}  // namespace

void run_gemm(const Tensor& a, const Tensor& b, Tensor& out, Isa isa, op::Allocator& alloc) {
  const Plan p = plan(a, b);
  const DType dt = a.dtype();
  const std::size_t es = elem_bytes(dt);
  const auto* A = static_cast<const std::byte*>(a.data_ptr());
  const auto* B = static_cast<const std::byte*>(b.data_ptr());
  auto* Y = static_cast<std::byte*>(out.data_ptr());
  const std::int64_t mn = p.M * p.N;
  if (out.numel() == 0) return;

  // gemm_nt wants the rows of x (a) and w (bᵀ) contiguous along K.
  const bool a_rows = p.a_cs == 1 || p.K == 1;
  const bool b_rows = p.b_rs == 1 || p.K == 1;  // b[k, n] with unit stride along k
  std::span<std::byte> ws = alloc.workspace(
      (a_rows ? 0 : static_cast<std::size_t>(p.M * p.K) * es) +
      (b_rows ? 0 : static_cast<std::size_t>(p.N * p.K) * es) + 64);
  std::byte* a_buf = ws.data();
  std::byte* b_buf = ws.data() + (a_rows ? 0 : (static_cast<std::size_t>(p.M * p.K) * es + 63) / 64 * 64);

  // A batch carried by a alone folds into one GEMM when a's (batch..., M) rows are evenly
  // spaced: [B, S, K] · [K, N] is one [B·S, K] · [K, N] product.
  bool fold = a_rows && p.batch_count() > 1;
  std::int64_t fold_ld = p.K;
  for (std::int64_t s : p.b_bstride) fold = fold && s == 0;
  if (fold) {
    tensor::Shape sizes = p.batch, strides = p.a_bstride;
    sizes.push_back(p.M);
    strides.push_back(p.a_rs);
    std::int64_t expect = -1;
    for (std::size_t d = sizes.size(); d-- > 0;) {
      if (sizes[d] == 1) continue;
      if (expect < 0) fold_ld = strides[d];
      else if (strides[d] != expect) fold = false;
      expect = strides[d] * sizes[d];
    }
  }

  const std::byte* w = B;
  std::int64_t ldw = p.b_cs;
  std::int64_t packed_b_at = -1;
  const auto prepare_b = [&](std::int64_t ob) {
    if (b_rows) {
      w = B + static_cast<std::size_t>(ob) * es;
      ldw = p.N == 1 ? p.K : p.b_cs;
      return;
    }
    if (packed_b_at == ob) return;  // a broadcast b is packed once
    pack_rows(B + static_cast<std::size_t>(ob) * es, p.N, p.K, p.b_cs, p.b_rs, es, b_buf);
    packed_b_at = ob;
    w = b_buf;
    ldw = p.K;
  };

  if (fold) {
    prepare_b(0);
    const std::int64_t rows = p.batch_count() * p.M;
    kernels::gemm_nt(rows, p.N, p.K, {A, dt, fold_ld}, {w, dt, ldw}, nullptr, dt, Y, dt, p.N, isa);
    return;
  }
  for (std::int64_t i = 0; i < p.batch_count(); ++i) {
    const auto [oa, ob] = p.offsets(i);
    prepare_b(ob);
    const std::byte* x = A + static_cast<std::size_t>(oa) * es;
    std::int64_t ldx = p.M == 1 ? p.K : p.a_rs;
    if (!a_rows) {
      pack_rows(x, p.M, p.K, p.a_rs, p.a_cs, es, a_buf);
      x = a_buf;
      ldx = p.K;
    }
    kernels::gemm_nt(p.M, p.N, p.K, {x, dt, ldx}, {w, dt, ldw}, nullptr, dt,
                     Y + static_cast<std::size_t>(i * mn) * es, dt, p.N, isa);
  }
}

namespace {

op::Applicability applicable(const op::Args& args, std::span<const DType> dtypes) {
  const TensorMeta& a = args.meta("a");
  const TensorMeta& b = args.meta("b");
  if (auto r = nn::dtype_is(a, "a", dtypes); r.truth != sym::Truth::kTrue) return r;
  if (b.dtype != a.dtype)
    return op::Applicability::no(fmt::format("b is {}, a is {}", tensor::name(b.dtype),
                                             tensor::name(a.dtype)));
  return op::Applicability::yes();
}

op::KernelFn runner(Isa isa) {
  return [isa](const op::Args& args, op::KernelContext& cx) -> op::Outputs {
    const Tensor& a = args.tensor("a");
    const Tensor& b = args.tensor("b");
    const Plan p = plan(a, b);
    tensor::Shape out = p.batch;
    if (a.dim() >= 2) out.push_back(p.M);
    if (b.dim() >= 2) out.push_back(p.N);
    Tensor y = cx.alloc.output(0, out, a.dtype());
    run_gemm(a, b, y, isa, cx.alloc);
    return {y};
  };
}

}  // namespace

std::vector<op::Variant> variants(const std::string& op_name) {
  static constexpr std::array kBf16 = {DType::kBF16};
  static constexpr std::array kF32F16 = {DType::kF32, DType::kF16};
  static constexpr std::array kAll = {DType::kF32, DType::kBF16, DType::kF16};
  const char* rule = "a and b of one dtype ({}); operands not K-contiguous are packed first";
  return {
      {.name = op_name + ".avx512_bf16",
       .isa = Isa::kAvx512Bf16,
       .rule = fmt::format(fmt::runtime(rule), "bf16"),
       .applicable = [](const op::Args& a, sym::ShapeEnv&) { return applicable(a, kBf16); },
       .run = runner(Isa::kAvx512Bf16),
       .prepare = std::nullopt},
      {.name = op_name + ".avx512",
       .isa = Isa::kAvx512,
       .rule = fmt::format(fmt::runtime(rule), "f32 or f16"),
       .applicable = [](const op::Args& a, sym::ShapeEnv&) { return applicable(a, kF32F16); },
       .run = runner(Isa::kAvx512),
       .prepare = std::nullopt},
      {.name = op_name + ".avx2",
       .isa = Isa::kAvx2,
       .rule = fmt::format(fmt::runtime(rule), "f32, bf16 or f16"),
       .applicable = [](const op::Args& a, sym::ShapeEnv&) { return applicable(a, kAll); },
       .run = runner(Isa::kAvx2),
       .prepare = std::nullopt},
  };
}

std::string compare(const op::Args& in, std::size_t, const Tensor& got, const Tensor& ref) {
  const Tensor a = in.tensor("a").contiguous(), b = in.tensor("b").contiguous();
  const Plan p = plan(a, b);
  const std::vector<double> A = nn::read_f64(a), B = nn::read_f64(b);
  std::vector<double> bound;
  bound.reserve(static_cast<std::size_t>(ref.numel()));
  for (std::int64_t i = 0; i < p.batch_count(); ++i) {
    const auto [oa, ob] = p.offsets(i);
    for (std::int64_t m = 0; m < p.M; ++m)
      for (std::int64_t n = 0; n < p.N; ++n) {
        double s = 0;
        for (std::int64_t k = 0; k < p.K; ++k)
          s += std::fabs(A[static_cast<std::size_t>(oa + m * p.a_rs + k * p.a_cs)] *
                         B[static_cast<std::size_t>(ob + k * p.b_rs + n * p.b_cs)]);
        bound.push_back(nn::f32_sum_bound(p.K, s));
      }
  }
  return nn::compare_bounded(got, ref, bound);
}

}  // namespace symtrace::ops::matmul_detail
