// Rotary position embedding (OPS.md §11.3): the cos/sin cache builder with llama3 / YaRN /
// linear scaling, and the rotation kernel, as plain C++ for the executor and model loaders.
//
//   RopeScaling s{.type = RopeScaling::kLlama3, .factor = 8, .low_freq_factor = 1,
//                 .high_freq_factor = 4, .original_max_positions = 8192};
//   std::vector<float> cache = ops::kernels::rope_cos_sin(P, rd, /*theta=*/500000, s);
//   // cache[p * rd + i] = cos(p·inv_freq[i]), cache[p * rd + rd/2 + i] = sin(...)
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <symtrace/tensor/dtype.hpp>

namespace symtrace::ops::kernels {

struct RopeScaling {
  enum Type { kNone, kLinear, kLlama3, kYarn } type = kNone;
  double factor = 1;
  double low_freq_factor = 1, high_freq_factor = 4;  // llama3
  std::int64_t original_max_positions = 8192;        // llama3, yarn: L
  double beta_fast = 32, beta_slow = 1;              // yarn
  std::optional<double> mscale, mscale_all_dim;      // yarn
};
std::optional<RopeScaling::Type> rope_scaling_type(std::string_view name);  // "none", "linear", "llama3", "yarn"

// inv_freq[i], i < rd/2, in f32 as Hugging Face computes it: 1 / theta^(2i/rd), then the
// scaling's frequency map.
std::vector<float> rope_inv_freq(std::int64_t rotary_dim, double theta, const RopeScaling& s);
// YaRN's attention factor m(f, mscale) / m(f, mscale_all_dim) (1 for other scalings), which
// multiplies cos and sin.
double rope_attention_factor(const RopeScaling& s);
// [P, rd] f32: [cos φ | sin φ] per position, φ = f32(p) · inv_freq[i] rounded to f32 (HF order),
// cos/sin of that f32 angle rounded once, times the attention factor.
std::vector<float> rope_cos_sin(std::int64_t positions, std::int64_t rotary_dim, double theta,
                                const RopeScaling& s);

enum class RopeStyle { kNeox, kGptj };

// Rotates n_heads heads of one token in place from x into y (both [n_heads, D] with row stride
// ld_x / ld_y): channels [0, rd) rotate by the cache row cs ([cos | sin], rd floats), the rest
// copy. neox pairs (i, i + rd/2), gptj pairs (2i, 2i + 1). f32 arithmetic, one rounding.
void rotary_rows(const void* x, std::int64_t ld_x, void* y, std::int64_t ld_y, tensor::DType dtype,
                 std::int64_t n_heads, std::int64_t D, std::int64_t rd, const float* cs, RopeStyle style);

}  // namespace symtrace::ops::kernels
