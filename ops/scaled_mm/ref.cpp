// Reference kernel of scaled_mm: decoded fp8 operands, f64 sums per 128-wide K block, the
// scales of the call's layout, bias, then one rounding (OPS.md §15.4).
#include <symtrace/op/op_def.hpp>

#include "ops/scaled_mm/scaled_mm.hpp"

namespace symtrace::ops {

namespace scaled_mm_detail {

Scaling classify(sym::ShapeEnv& env, const SymInt& M, const SymInt& K, const SymInt& N,
                 const TensorMeta& sa, const TensorMeta& sb) {
  const auto is = [&](const SymInt& a, const SymInt& b) { return env.decide(sym::eq(a, b)) == sym::Truth::kTrue; };
  if (is(sa.numel(), 1) && is(sb.numel(), 1)) return Scaling::kTensorwise;
  if (sa.dim() != 2 || sb.dim() != 2) return Scaling::kInvalid;
  const SymInt kb = ceildiv(K, SymInt(128));
  const SymInt &a0 = sa.sizes[0], &a1 = sa.sizes[1], &b0 = sb.sizes[0], &b1 = sb.sizes[1];
  if (is(a0, M) && is(a1, 1) && is(b0, 1) && is(b1, N)) return Scaling::kRowwise;
  if (is(a0, M) && is(a1, kb) && is(b0, kb) && is(b1, ceildiv(N, SymInt(128)))) return Scaling::kBlock1x128x128x128;
  if (is(a0, M) && is(a1, kb) && is(b0, kb) && is(b1, N)) return Scaling::kBlock1x128x1x128;
  if (is(a0, ceildiv(M, SymInt(128))) && is(a1, kb) && is(b0, kb) && is(b1, N)) return Scaling::kBlock128x128x1x128;
  return Scaling::kInvalid;
}

}  // namespace scaled_mm_detail

op::Outputs scaled_mm_fake(const op::Args& a, op::FakeContext& cx);  // op.cpp

op::Outputs scaled_mm_reference(const op::Args& args, op::KernelContext& cx) {
  using scaled_mm_detail::Scaling;
  const op::Outputs f = nn::fake_of_real(scaled_mm_fake, args, "scaled_mm");
  const Tensor& a = args.tensor("a");
  const Tensor& b = args.tensor("b");
  const Tensor& sa = args.tensor("scale_a");
  const Tensor& sb = args.tensor("scale_b");
  const std::int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  sym::ShapeEnv env;
  const Scaling s = scaled_mm_detail::classify(env, M, K, N, sa.meta(), sb.meta());
  const std::vector<double> A = nn::read_f64(a), B = nn::read_f64(b), SA = nn::read_f64(sa), SB = nn::read_f64(sb);
  const std::vector<double> bias = args.opt_tensor("bias") ? nn::read_f64(*args.opt_tensor("bias")) : std::vector<double>{};
  const std::int64_t kb = (K + 127) / 128, ncols_b = sb.dim() == 2 ? sb.size(1) : 1,
                     ncols_a = sa.dim() == 2 ? sa.size(1) : 1;
  // The scale pair applied to K block j of output (m, n).
  const auto scales = [&](std::int64_t m, std::int64_t n, std::int64_t j) -> double {
    const auto at = [](const std::vector<double>& v, std::int64_t i) { return v[static_cast<std::size_t>(i)]; };
    switch (s) {
      case Scaling::kTensorwise: return at(SA, 0) * at(SB, 0);
      case Scaling::kRowwise: return at(SA, m) * at(SB, n);
      case Scaling::kBlock1x128x128x128: return at(SA, m * ncols_a + j) * at(SB, j * ncols_b + n / 128);
      case Scaling::kBlock1x128x1x128: return at(SA, m * ncols_a + j) * at(SB, j * ncols_b + n);
      case Scaling::kBlock128x128x1x128: return at(SA, (m / 128) * ncols_a + j) * at(SB, j * ncols_b + n);
      case Scaling::kInvalid: break;
    }
    throw diag::InternalError("scaled_mm: the fake accepted an invalid scaling");
  };
  double result_scale = 1.0;
  const DType out = args.opt_dtype("out_dtype").value_or(a.dtype());
  if (const Tensor* r = args.opt_tensor("scale_result"); r != nullptr && tensor::is_fp8(out))
    result_scale = nn::read_f64(*r).at(0);
  std::vector<double> y(static_cast<std::size_t>(M * N));
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (std::int64_t j = 0; j < kb; ++j) {
        double part = 0;
        for (std::int64_t k = j * 128; k < std::min(K, (j + 1) * 128); ++k)
          part += A[static_cast<std::size_t>(m * K + k)] * B[static_cast<std::size_t>(k * N + n)];
        acc += part * scales(m, n, j);
      }
      if (!bias.empty()) acc += bias[static_cast<std::size_t>(n)];
      y[static_cast<std::size_t>(m * N + n)] = acc * result_scale;
    }
  Tensor t = cx.alloc.output(0, nn::out_sizes(f), out);
  nn::write_f64(t, y);
  return {t};
}

}  // namespace symtrace::ops
