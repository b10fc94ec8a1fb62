// block_fp8_gemm's small-M (decode) path: the fp8 weight is streamed once, row by row, with
// no packing; the few activation rows are expanded once into the kernel's format.
//
//   out[m*ldo + n] = sum_j s[m, j, n] * sum_{k in block j} A[m, k] * W[n, k]      (f32)
//   s[m, j, n]     = xs[m*xs_ld + j] * ws[(n / bn)*ws_ld + j]                    (xs null: 1)
//
// Each (row, weight row, K block) partial sum is accumulated in f32 lanes and scaled by its
// block scale before it joins the row's f32 total (the per-block scaling of OPS.md §7); one
// horizontal sum per output element at the end. The driver (cpu.cpp) adds the bias and
// rounds once, as the packed path does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <symtrace/tensor/cpu_features.hpp>

namespace symtrace::ops::block_fp8_gemm {

// Up to this many rows the GEMV beats the packed driver on this machine: the packed path
// converts the whole weight to bf16 panels per call (one thread, 4096 x 4096: GEMV 7 ms vs
// packed 18 ms at M = 32, 12.6 vs 27.5 ms at M = 64; AVX2 and scalar cross at about 64 too).
inline constexpr std::int64_t kGemvMaxM = 64;

enum class ActKind : std::uint8_t { kE4m3, kBF16, kF16, kF32 };

struct Gemv {
  std::int64_t M = 0, N = 0, K = 0;
  std::int64_t bn = 128, bk = 128;
  const void* a = nullptr;  // [M, K] activations of kind `act`, row m at a + m*lda elements
  ActKind act = ActKind::kE4m3;
  std::int64_t lda = 0;
  const float* xs = nullptr;  // [M, G] activation group scales, or null (act_quant 'none')
  std::int64_t xs_ld = 0;
  const std::uint8_t* w = nullptr;  // [N, K] f8_e4m3fn, row n at w + n*ldw
  std::int64_t ldw = 0;
  const float* ws = nullptr;  // [cdiv(N, bn), G] weight block scales
  std::int64_t ws_ld = 0;
  float* out = nullptr;  // [M, N] f32
  std::int64_t ldo = 0;
};

// Bytes of scratch the kernel of `isa` needs for the expanded activations.
std::size_t gemv_workspace_bytes(const Gemv& g, tensor::Isa isa);
// Runs the kernel of `isa` (kAvx512Bf16, kAvx2 or kNone; the caller checked cpu_supports).
// `threads` = 0: OpenMP's default. Requires 0 < M <= kGemvMaxM.
void gemv(const Gemv& g, tensor::Isa isa, std::span<std::byte> workspace, int threads);

// ISA entry points (gemv_avx512.cpp, gemv_avx2.cpp, gemv_scalar.cpp). `act` is the expanded
// activation the driver prepared: bf16 words (avx512, exact operands) or f32 otherwise.
namespace detail {
struct Expanded {
  const void* data;
  bool bf16;
  std::int64_t ld;  // elements
};
void gemv_avx512(const Gemv& g, const Expanded& a, int threads);
void gemv_avx2(const Gemv& g, const Expanded& a, int threads);
void gemv_scalar(const Gemv& g, const Expanded& a, int threads);
// e4m3 bytes -> bf16 words, 32 at a time (avx512 file; n may be ragged).
void expand_e4m3_bf16_avx512(const std::uint8_t* q, std::int64_t n, std::uint16_t* out);
}  // namespace detail

}  // namespace symtrace::ops::block_fp8_gemm
