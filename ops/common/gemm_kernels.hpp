// ops/common/gemm_kernels — the packed-panel GEMM engine shared by the quantized GEMM ops.
//
//   C[m, n] = sum_k A[m, k] * B[n, k]        (B given NK [N, K] or KN [K, N])
//
// The driver (gemm_driver.cpp, baseline x86-64) cuts the problem into MB x NB output blocks
// spread over OpenMP threads, packs an MB x KB block of A and an NB x KB block of B into the
// microkernel's format (converting fp8/f16 on the way), and calls an ISA-specific
// microkernel on MR x NR tiles that accumulates into a per-thread int32/f32 block. When the
// block's K loop is done an op-specific epilogue turns it into the output (scales, bias,
// rounding). Nothing allocates: every buffer comes from the caller's workspace.
//
// Packed formats (a "word" is 32 bits; an A word is broadcast, a B row is NR words):
//   kVnniU8  A: 4 x s8 per word      B: 4 x u8 per column, u8 = s8 ^ 0x80  (vpdpbusd)
//            the sum then holds sum_k a*(b+128); the epilogue subtracts 128*rowsum(a).
//   kS16     A: 2 x s16              B: 2 x s16                            (vpmaddwd)
//   kBf16    A: 2 x bf16             B: 2 x bf16                           (vdpbf16ps)
//   kF32     A: 1 x f32              B: 1 x f32                            (FMA)
// K is zero-padded to whole words, M and N to whole tiles, so microkernels never mask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include <symtrace/tensor/cpu_features.hpp>

namespace symtrace::ops::gemm {

enum class Elem : std::uint8_t { kI8, kF8E4M3, kF8E5M2, kBF16, kF16, kF32 };
enum class PackKind : std::uint8_t { kVnniU8, kS16, kBf16, kF32 };

int k_per_word(PackKind k);    // 4, 2, 2, 1
bool integer_acc(PackKind k);  // int32 accumulators (kVnniU8, kS16)

// A source [M, K]: row m starts at data + m*ld elements.
struct MatA {
  const void* data = nullptr;
  Elem elem = Elem::kI8;
  std::int64_t ld = 0;
};
// B: NK ([N, K], row n at data + n*ld) or KN ([K, N], row k at data + k*ld).
struct MatB {
  const void* data = nullptr;
  Elem elem = Elem::kI8;
  std::int64_t ld = 0;
  bool kn = false;
};

struct Microkernel {
  PackKind kind;
  int mr, nr;
  const char* isa;  // "avx512_vnni", "avx2", "scalar", ...
  // C[i*ldc + j] (i < mr, j < nr) = (accumulate ? C : 0) + sum_w A_i[w] . Bp[w][j], where
  // A_i = a_rows[i] (kind words, row-major) and Bp holds nr words per w.
  void (*run)(std::int64_t kwords, const void* const* a_rows, const void* bp, void* c,
              std::int64_t ldc, bool accumulate);
  // f32 kinds only: C[i*ldc + j] += (A . Bp)[i][j] * rs[i] * cs[j]   (block-scaled K loop)
  void (*run_scaled)(std::int64_t kwords, const void* const* a_rows, const void* bp, float* c,
                     std::int64_t ldc, const float* rs, const float* cs);
};

// The microkernel of `kind` for exactly `isa` (nullptr when that ISA has none for the kind).
const Microkernel* microkernel_for(PackKind kind, tensor::Isa isa);

// A in the microkernel's word format: row m at data + m*ld_bytes, kwords(K) words per row.
struct AWords {
  const std::byte* data = nullptr;
  std::int64_t ld_bytes = 0;
};
// Bytes `to_words` needs for M rows (0 when A can be read in place).
std::size_t a_words_bytes(PackKind kind, const MatA& a, std::int64_t M, std::int64_t K);
// A in place when its element type and row padding already fit `kind`, else converted into
// `ws` (OpenMP over rows).
AWords to_words(PackKind kind, const MatA& a, std::int64_t M, std::int64_t K,
                std::span<std::byte> ws, int threads);

// One finished output block: acc[i*ld + j] holds C[m0+i, n0+j] for i < mb, j < nb.
struct Tile {
  const void* acc;  // int32 or f32, per the kind
  std::int64_t ld;
  std::int64_t m0, mb, n0, nb;
};
using Epilogue = std::function<void(const Tile&)>;

// Per-K-block scaling (block fp8): the K block j = [j*bk, (j+1)*bk) contributes
//   sum_{k in j} A*B * xs[m*xs_ld + j] * ws[(n / bn)*ws_ld + j].
struct BlockScales {
  const float* xs = nullptr;
  std::int64_t xs_ld = 0;
  const float* ws = nullptr;
  std::int64_t ws_ld = 0;
  std::int64_t bn = 128;
  std::int64_t bk = 128;
};

struct Problem {
  std::int64_t M = 0, N = 0, K = 0;
  AWords a;
  MatB b;
  const BlockScales* block = nullptr;  // null: plain accumulation over K
};

// Workspace bytes `run_gemm` needs (besides to_words) with `threads` threads (0: OpenMP max).
std::size_t workspace_bytes(const Microkernel& mk, const Problem& p, int threads);
// Runs the blocked GEMM; `epilogue` is called once per output block, from worker threads.
// For kVnniU8 the driver removes the u8 offset, so every epilogue sees exact sum_k a*b.
void run_gemm(const Microkernel& mk, const Problem& p, std::span<std::byte> workspace, int threads,
              const Epilogue& epilogue);

int resolve_threads(int threads);  // 0 -> omp_get_max_threads()

// Decode tables (OPS.md §15.1) used by the packers and GEMV kernels.
const float* f32_table(Elem e);
const std::uint16_t* bf16_table(Elem e);

// ---- small-M paths (decode): stream the weight once, no packing ------------------------
inline constexpr std::int64_t kGemvMaxM = 16;
// out[m*ldo + n] = sum_k A[m, k] * B[n, k] for m < M (M small), n in [0, N), int32.
// With colsum != nullptr also colsum[n] = sum_k B[n, k].
// Returns false when this ISA has no such kernel (the caller uses run_gemm).
bool gemv_i8(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a, std::int64_t lda,
             const std::int8_t* b, std::int64_t ldb, std::int32_t* out, std::int64_t ldo,
             std::int32_t* colsum, int threads);
// f32 out[m*ldo + n] = sum_k x[m, k] * decode(B[n, k]); x given as f32 rows (the caller
// expands bf16/f16/fp8 activations once, M*K elements); B fp8 e4m3fn NK. M <= kGemvMaxM.
bool gemv_f8(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
             const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo, int threads);
// The same with B fp8 e4m3fn KN ([K, N], row stride ldb).
bool gemv_f8_kn(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo, int threads);

// ISA entry points (defined in gemm_<isa>.cpp; used by microkernel_for and gemv_*).
namespace avx512 {
extern const Microkernel kVnni, kBf16, kF32;
bool gemv_i8(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a, std::int64_t lda,
             const std::int8_t* b, std::int64_t ldb, std::int32_t* out, std::int64_t ldo,
             std::int32_t* colsum, int threads);
bool gemv_f8(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
             const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo, int threads);
bool gemv_f8_kn(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo, int threads);
}  // namespace avx512
namespace avx2 {
extern const Microkernel kS16, kF32;
}
namespace scalar {
extern const Microkernel kS16, kF32;
}

}  // namespace symtrace::ops::gemm
