// quantize_int8 fast kernels: the shared row quantizers on one ISA's row kernels, OpenMP
// over rows.
#include "ops/common/quantizers_op.hpp"
#include "ops/quantize_int8/quantize_int8.hpp"

namespace symtrace::ops::quantize_int8 {

namespace v2 = boost::variant2;

op::Outputs run(const op::Args& a, op::KernelContext& cx, const quant::RowKernels& k) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  const Config c = config(a);
  tensor::Tensor q = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  tensor::Tensor s = qop::alloc_like(cx.alloc, 1, v2::get<TensorMeta>(metas[1]));
  tensor::Tensor z;
  if (!c.symmetric) z = qop::alloc_like(cx.alloc, 2, v2::get<TensorMeta>(metas[2]));
  const quant::Rows rows = qop::rows_of(a.tensor("x"), "x");
  auto* qp = q.data<std::int8_t>();
  auto* sp = s.data<float>();
  const std::int64_t ldq = rows.cols;
  switch (c.mode) {
    case Mode::kStatic: {
      sp[0] = static_cast<float>(a.tensor("scale").item(std::vector<std::int64_t>{0}));
      std::int32_t zp = 0;
      if (!c.symmetric) {
        zp = static_cast<std::int32_t>(a.tensor("azp").item(std::vector<std::int64_t>{0}));
        z.data<std::int32_t>()[0] = zp;
      }
      quant::int8_static(rows, sp[0], zp, qp, ldq, cx.threads, &k);
      break;
    }
    case Mode::kTensor:
      sp[0] = quant::int8_dynamic_tensor(rows, qp, ldq, cx.threads, &k);
      break;
    case Mode::kToken:
      quant::int8_dynamic_token(rows, 0.f, qp, ldq, sp, cx.threads, &k);
      break;
    case Mode::kTokenAsym:
      quant::int8_dynamic_token_asym(rows, qp, ldq, sp, z.data<std::int32_t>(), cx.threads, &k);
      break;
    case Mode::kGroup: {
      const std::int64_t G = (rows.cols + c.group - 1) / c.group;
      quant::int8_dynamic_group(rows, c.group, qp, ldq, quant::GroupScales{sp, nullptr, G, 1},
                                cx.threads, &k);
      break;
    }
  }
  return {q, s, z.defined() ? op::Value(z) : op::Value(op::None{})};
}

}  // namespace symtrace::ops::quantize_int8
