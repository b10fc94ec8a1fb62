// dequantize reference: every element decoded exactly (OPS.md §15.1), scaled in f64,
// rounded once to the output dtype; any strides.
#include "ops/common/quantizers_op.hpp"
#include "ops/dequantize/dequant.hpp"
#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops::dequant {

namespace v2 = boost::variant2;

op::Outputs reference(const op::Args& a, op::KernelContext& cx) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  const tensor::Tensor q = a.tensor("q").contiguous(), s = a.tensor("scale").contiguous();
  const tensor::Tensor* azp = a.opt_tensor("azp");
  const tensor::Tensor z = azp ? azp->contiguous() : tensor::Tensor();
  const tensor::Tensor* gs = a.opt_tensor("global_scale");
  const double g = gs ? gs->item(std::vector<std::int64_t>{0}) : 1.0;
  const Layout l = layout(a, q.dtype());
  const std::int64_t K = out.size(-1), rows = K ? out.numel() / K : 0;
  const std::int64_t N = out.dim() >= 2 ? out.size(-2) : 1;
  const std::int64_t G = s.size(-1);
  const std::vector<double> sv = s.to_f64();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < K; ++k) {
      double v;
      if (l.fp4) {
        const std::uint8_t b = q.data<std::uint8_t>()[(r * K + k) / 2];
        v = nvfp4::kE2m1[k % 2 == 0 ? (b & 0xF) : (b >> 4)];
      } else {
        const std::uint8_t bits = static_cast<const std::uint8_t*>(q.data_ptr())[r * K + k];
        v = q.dtype() == DType::kI8 ? static_cast<double>(static_cast<std::int8_t>(bits))
                                    : tensor::decode(q.dtype(), bits);
      }
      std::int64_t si = 0;  // flat index of the scale of element (r, k)
      switch (l.gran) {
        case Gran::kTensor:
          si = 0;
          break;
        case Gran::kRow:
          si = r;
          break;
        case Gran::kGroup:
          si = r * G + k / l.bk;
          break;
        case Gran::kBlock: {
          const std::int64_t nb = (N + l.bn - 1) / l.bn;
          si = ((r / N) * nb + (r % N) / l.bn) * G + k / l.bk;
          break;
        }
      }
      if (azp) v -= z.data<std::int32_t>()[si];
      quant::store_f64(out.data_ptr(), out.dtype(), r * K + k,
                       v * sv[static_cast<std::size_t>(si)] * g);
    }
  return {out};
}

}  // namespace symtrace::ops::dequant
