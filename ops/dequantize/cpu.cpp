// dequantize fast kernel: rows over OpenMP threads; one ISA's row kernel writes f32 into a
// per-thread buffer (table decode for 8-bit codes, nibble decode for fp4), then a
// vectorized conversion to the output dtype.
#include <array>

#include <omp.h>

#include <symtrace/tensor/dtype.hpp>

#include "ops/common/quantizers_op.hpp"
#include "ops/dequantize/dequant.hpp"
#include "ops/nvfp4_w4a16_gemm/nvfp4.hpp"

namespace symtrace::ops::dequant {

namespace v2 = boost::variant2;

void row_scalar(const RowJob& j) {
  for (std::int64_t i = 0; i < j.n; ++i) {
    float v;
    if (j.fp4) {
      const std::uint8_t b = j.q[i / 2];
      v = nvfp4::kE2m1[i % 2 == 0 ? (b & 0xF) : (b >> 4)];
    } else {
      v = j.table[j.q[i]];
    }
    j.out[i] = (v - j.z) * j.s[i / j.g] * j.gm;
  }
}

namespace {

// f32 value of every 8-bit code of a format (i8: the integer).
std::array<float, 256> code_table(DType d) {
  std::array<float, 256> t{};
  if (d == DType::kU8) return t;  // packed fp4: decoded from nibbles, no table
  for (int b = 0; b < 256; ++b)
    t[b] = d == DType::kI8 ? static_cast<float>(static_cast<std::int8_t>(b))
                           : tensor::decode(d, static_cast<std::uint32_t>(b));
  return t;
}

}  // namespace

op::Outputs run(const op::Args& a, op::KernelContext& cx, DequantRow row) {
  const op::Outputs metas = qop::fake_for_real(a, fake);
  tensor::Tensor out = qop::alloc_like(cx.alloc, 0, v2::get<TensorMeta>(metas[0]));
  const tensor::Tensor& q = a.tensor("q");
  const auto* sp = a.tensor("scale").data<std::uint8_t>();
  const DType sd = a.tensor("scale").dtype();
  const tensor::Tensor* azp = a.opt_tensor("azp");
  const tensor::Tensor* gs = a.opt_tensor("global_scale");
  const float gm = gs ? static_cast<float>(gs->item(std::vector<std::int64_t>{0})) : 1.f;
  const Layout l = layout(a, q.dtype());
  const std::int64_t K = out.size(-1), rows = K ? out.numel() / K : 0;
  const std::int64_t N = out.dim() >= 2 ? out.size(-2) : 1;
  const std::int64_t G = a.tensor("scale").size(-1);
  const std::array<float, 256> table = code_table(l.fp4 ? DType::kU8 : q.dtype());
  const int T = cx.threads > 0 ? cx.threads : omp_get_max_threads();
  const int threads = rows * K < (1 << 15) ? 1 : T;
  // Per thread: the f32 row, and the f32 scales of that row (e4m3 fp4 scales decoded).
  const std::int64_t per = K + G + 16;
  float* buf = reinterpret_cast<float*>(
      cx.alloc.workspace(static_cast<std::size_t>(threads * per) * 4).data());
  const std::size_t qrow = static_cast<std::size_t>(l.fp4 ? K / 2 : K);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* f = buf + per * omp_get_thread_num();
    float* sc = f + K;
    std::int64_t s0 = 0, ns = 1, g = K;  // this row's scales: flat index, count, elements per scale
    switch (l.gran) {
      case Gran::kTensor:
        break;
      case Gran::kRow:
        s0 = r;
        break;
      case Gran::kGroup:
        s0 = r * G, ns = G, g = l.bk;
        break;
      case Gran::kBlock: {
        const std::int64_t nb = (N + l.bn - 1) / l.bn;
        s0 = ((r / N) * nb + (r % N) / l.bn) * G, ns = G, g = l.bk;
        break;
      }
    }
    tensor::convert(sp + s0 * static_cast<std::int64_t>(tensor::info(sd).bytes), sd, sc,
                    DType::kF32, static_cast<std::size_t>(ns));
    const float z = azp ? static_cast<float>(azp->data<std::int32_t>()[s0]) : 0.f;
    const RowJob job{static_cast<const std::uint8_t*>(q.data_ptr()) + r * qrow,
                     K,
                     table.data(),
                     l.fp4,
                     sc,
                     g == 0 ? 1 : g,
                     z,
                     gm,
                     f};
    row(job);
    tensor::convert(f, DType::kF32,
                    static_cast<std::byte*>(out.data_ptr()) +
                        r * K * static_cast<std::int64_t>(tensor::info(out.dtype()).bytes),
                    out.dtype(), static_cast<std::size_t>(K));
  }
  return {out};
}

}  // namespace symtrace::ops::dequant
