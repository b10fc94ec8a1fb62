// quantize_fp8 fast kernels: the shared row quantizers (ops/common/quantizers) on one ISA's
// row kernels, OpenMP over rows.
#include "ops/common/quantizers_op.hpp"
#include "ops/quantize_fp8/quantize_fp8.hpp"

namespace symtrace::ops::quantize_fp8 {

namespace v2 = boost::variant2;

op::Outputs run(const op::Args& a, op::KernelContext& cx, const quant::RowKernels& k) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const Config c = config(a);
  const tensor::Tensor& x = a.tensor("x");
  tensor::Tensor q = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor s = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  const quant::Rows rows = qop::rows_of(x, "x");
  auto* qp = q.data<std::uint8_t>();
  auto* sp = s.data<float>();
  const std::int64_t ldq = rows.cols;
  switch (c.mode) {
    case Mode::kStatic: {
      const tensor::Tensor given = a.tensor("scale").contiguous();
      const auto* g = given.data<float>();
      std::copy(g, g + given.numel(), sp);
      if (given.numel() == 1)
        quant::fp8_static(rows, g[0], qp, ldq, cx.threads, &k);
      else
        quant::fp8_static_cols(rows, g, qp, ldq, cx.threads, &k);
      break;
    }
    case Mode::kTensor:
      sp[0] = quant::fp8_dynamic_tensor(rows, qp, ldq, cx.threads, &k);
      break;
    case Mode::kToken:
      quant::fp8_dynamic_token(rows, c.ub, qp, ldq, sp, cx.threads, &k);
      break;
    case Mode::kGroup: {
      const std::int64_t G = (rows.cols + c.group - 1) / c.group;
      const quant::GroupScales gs{sp, nullptr, c.col_major ? 1 : G, c.col_major ? rows.rows : 1};
      quant::fp8_dynamic_group(rows, c.group, c.pow2, qp, ldq, gs, cx.threads, &k);
      break;
    }
  }
  return {q, s};
}

}  // namespace symtrace::ops::quantize_fp8
