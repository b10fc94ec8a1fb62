// AVX-512 (F/BW/VL/DQ) builds of the fast elementwise kernels: 16 lanes of f32, bf16 widened
// by a shift and narrowed with integer round-to-nearest-even (exactly ew_kernels_scalar's
// rounding, NaN kept), masked loads/stores for the tail so no element past n is touched.
#include <algorithm>

// GCC 12's AVX-512 intrinsics pass an "undefined" register as a merge source and warn at
// every inlining site (GCC PR 105593); the warning is noise, and it fires where they inline.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "ops/common/ew_kernels.hpp"

namespace symtrace::ops::ewk {
namespace {

constexpr std::int64_t kParallelMin = 1 << 15;
constexpr std::int64_t kBlock = 4096;  // elements per OpenMP work item

__mmask16 tail_mask(std::int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
}

__m512 load(DType dt, const void* p, std::int64_t i, __mmask16 m) {
  if (dt == DType::kF32) return _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + i);
  const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(p) + i);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// bf16 bits (in the low half of each 32-bit lane) of v, nearest even, NaN -> quiet NaN.
__m512i bf16_bits(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i hi = _mm512_srli_epi32(u, 16);
  const __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1)));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_mask_or_epi32(rounded, nan, hi, _mm512_set1_epi32(0x40));
}

__m512 round_bf16(__m512 v) { return _mm512_castsi512_ps(_mm512_slli_epi32(bf16_bits(v), 16)); }

void store(DType dt, void* p, std::int64_t i, __mmask16 m, __m512 v) {
  if (dt == DType::kF32) return _mm512_mask_storeu_ps(static_cast<float*>(p) + i, m, v);
  _mm256_mask_storeu_epi16(static_cast<std::uint16_t*>(p) + i, m, _mm512_cvtepi32_epi16(bf16_bits(v)));
}

// e^x: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), a degree-7 Taylor
// polynomial for e^r (truncation error < 6e-9, below an f32 ulp), and scalef for 2^n, which
// overflows to inf and underflows through the subnormals to 0 by itself. Inputs are clamped
// only so that +-inf do not make inf - inf; NaN lanes are fixed by the caller.
__m512 exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-110.f)), _mm512_set1_ps(100.f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

__m512 silu(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  const __m512 s = _mm512_div_ps(x, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
  return _mm512_mask_mov_ps(s, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);  // NaN in, NaN out
}

}  // namespace

namespace {

// f(i, m) over 16-lane steps of [0, n) (m masks the tail), OpenMP over kBlock-element blocks.
template <class F>
void for_each_16(std::int64_t n, F f) {
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for if (n > kParallelMin)
  for (std::int64_t blk = 0; blk < blocks; ++blk) {
    const std::int64_t end = std::min(n, (blk + 1) * kBlock);
    for (std::int64_t i = blk * kBlock; i < end; i += 16) f(i, tail_mask(end - i));
  }
}

}  // namespace

void binary_avx512(BinOp op, DType dtype, const void* a, const void* b, void* out, std::int64_t n) {
  for_each_16(n, [&](std::int64_t i, __mmask16 m) {
    const __m512 x = load(dtype, a, i, m), y = load(dtype, b, i, m);
    store(dtype, out, i, m, op == BinOp::kAdd ? _mm512_add_ps(x, y) : _mm512_mul_ps(x, y));
  });
}

void unary_avx512(UnaryOp op, DType dtype, const void* x, void* out, std::int64_t n) {
  (void)op;  // kSilu is the only one so far
  for_each_16(n, [&](std::int64_t i, __mmask16 m) { store(dtype, out, i, m, silu(load(dtype, x, i, m))); });
}

void silu_and_mul_avx512(DType dtype, const void* x, void* out, std::int64_t rows, std::int64_t d) {
  const std::size_t esize = dtype == DType::kF32 ? 4 : 2;
#pragma omp parallel for if (rows * d > kParallelMin)
  for (std::int64_t r = 0; r < rows; ++r) {
    const void* row = static_cast<const char*>(x) + static_cast<std::size_t>(r * 2 * d) * esize;
    void* orow = static_cast<char*>(out) + static_cast<std::size_t>(r * d) * esize;
    for (std::int64_t i = 0; i < d; i += 16) {
      const __mmask16 m = tail_mask(d - i);
      __m512 s = silu(load(dtype, row, i, m));
      if (dtype == DType::kBF16) s = round_bf16(s);  // OPS.md 11.4: silu rounds first
      store(dtype, orow, i, m, _mm512_mul_ps(s, load(dtype, row, d + i, m)));
    }
  }
}

}  // namespace symtrace::ops::ewk
