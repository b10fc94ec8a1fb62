// Plain C++ entry point of the attention kernel (OPS.md §11.5), for the executor and the
// decode step: one call covers prefill (S = T) and decode with a KV cache (S = 1, T = past + 1).
//
//   kernels::Attention a{.B = 1, .S = 1, .T = 129, .Hq = 32, .Hkv = 8, .D = 128, .Dv = 128, ...};
//   a.q = q_ptr; a.q_stride = {S*Hq*D, Hq*D, D, 1};          // [B, S, Hq, D]
//   a.k = cache_k; a.k_stride = {Tmax*Hkv*D, Hkv*D, D, 1};   // a [B, T, Hkv, D] view of the cache
//   kernels::attention(a, tensor::best_isa());
//
// Strides are in elements and index [b, s, h, d]; the last one must be 1 for q, k, v and out
// (other layouts, such as PyTorch's [B, H, S, D], are the same call with permuted strides).
// Query head h reads kv head h / (Hq / Hkv). Scores and the softmax are f32, P·V accumulates in
// f32 with p kept in f32, one rounding at the store. Causal: query i sees key j iff
// j <= i + q_offset (q_offset = T - S for a KV cache), and with a window W also j > i + q_offset - W.
// A query row that sees no key is written as 0. OpenMP over (b, h, query blocks).
#pragma once

#include <array>
#include <cstdint>

#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::kernels {

struct Attention {
  std::int64_t B = 1, S = 1, T = 1, Hq = 1, Hkv = 1, D = 1, Dv = 1;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  std::array<std::int64_t, 4> q_stride{}, k_stride{}, v_stride{}, out_stride{};
  tensor::DType dtype = tensor::DType::kF32;  // q, k, v and out (f32, bf16 or f16)
  float scale = 1.f;
  bool causal = true;
  std::int64_t q_offset = 0;
  std::int64_t window = 0;  // 0: none
};

void attention(const Attention& a, tensor::Isa isa);

}  // namespace symtrace::ops::kernels
