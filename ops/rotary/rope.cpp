// The cos/sin cache of rotary embeddings with its frequency scalings (OPS.md §11.3), and the
// rotation kernel (f32, one rounding).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "ops/linear/elem.hpp"
#include "ops/rotary/kernels.hpp"

namespace symtrace::ops::kernels {

std::optional<RopeScaling::Type> rope_scaling_type(std::string_view name) {
  if (name == "none" || name == "default") return RopeScaling::kNone;
  if (name == "linear") return RopeScaling::kLinear;
  if (name == "llama3") return RopeScaling::kLlama3;
  if (name == "yarn") return RopeScaling::kYarn;
  return std::nullopt;
}

namespace {

double yarn_m(double scale, double mscale) { return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

// rd · ln(L / (2π · rotations)) / (2 ln θ): the dim whose wavelength makes `rotations` turns
// over the original context.
double yarn_correction_dim(double rotations, std::int64_t rd, double theta, std::int64_t L) {
  return static_cast<double>(rd) * std::log(static_cast<double>(L) / (rotations * 2 * std::numbers::pi)) /
         (2 * std::log(theta));
}

}  // namespace

std::vector<float> rope_inv_freq(std::int64_t rd, double theta, const RopeScaling& s) {
  const std::int64_t half = rd / 2;
  std::vector<float> inv(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < half; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(rd);
    inv[static_cast<std::size_t>(i)] = 1.0f / std::pow(static_cast<float>(theta), e);
  }
  const auto f = static_cast<float>(s.factor);
  switch (s.type) {
    case RopeScaling::kNone: break;
    case RopeScaling::kLinear:
      for (float& v : inv) v /= f;
      break;
    case RopeScaling::kLlama3: {
      const double L = static_cast<double>(s.original_max_positions);
      const double low_wavelen = L / s.low_freq_factor, high_wavelen = L / s.high_freq_factor;
      for (float& v : inv) {
        const double wavelen = 2 * std::numbers::pi / v;
        if (wavelen > low_wavelen) {
          v /= f;
        } else if (wavelen >= high_wavelen) {
          const double smooth = (L / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
          v = static_cast<float>((1 - smooth) * v / s.factor + smooth * v);
        }
      }
      break;
    }
    case RopeScaling::kYarn: {
      double lo = std::floor(yarn_correction_dim(s.beta_fast, rd, theta, s.original_max_positions));
      double hi = std::ceil(yarn_correction_dim(s.beta_slow, rd, theta, s.original_max_positions));
      lo = std::max(lo, 0.0);
      hi = std::min(hi, static_cast<double>(rd - 1));
      if (hi == lo) hi += 0.001;
      for (std::int64_t i = 0; i < half; ++i) {
        const double r = std::clamp((static_cast<double>(i) - lo) / (hi - lo), 0.0, 1.0);
        float& v = inv[static_cast<std::size_t>(i)];
        v = static_cast<float>(v / s.factor * r + v * (1 - r));
      }
      break;
    }
  }
  return inv;
}

double rope_attention_factor(const RopeScaling& s) {
  if (s.type != RopeScaling::kYarn) return 1.0;
  if (s.mscale && s.mscale_all_dim && *s.mscale != 0 && *s.mscale_all_dim != 0)
    return yarn_m(s.factor, *s.mscale) / yarn_m(s.factor, *s.mscale_all_dim);
  return yarn_m(s.factor, 1.0);
}

std::vector<float> rope_cos_sin(std::int64_t P, std::int64_t rd, double theta, const RopeScaling& s) {
  const std::vector<float> inv = rope_inv_freq(rd, theta, s);
  const double m = rope_attention_factor(s);
  const std::int64_t half = rd / 2;
  std::vector<float> out(static_cast<std::size_t>(P * rd));
  for (std::int64_t p = 0; p < P; ++p)
    for (std::int64_t i = 0; i < half; ++i) {
      const float phi = static_cast<float>(p) * inv[static_cast<std::size_t>(i)];
      out[static_cast<std::size_t>(p * rd + i)] = static_cast<float>(std::cos(static_cast<double>(phi)) * m);
      out[static_cast<std::size_t>(p * rd + half + i)] = static_cast<float>(std::sin(static_cast<double>(phi)) * m);
    }
  return out;
}

void rotary_rows(const void* x, std::int64_t ld_x, void* y, std::int64_t ld_y, tensor::DType dt,
                 std::int64_t n_heads, std::int64_t D, std::int64_t rd, const float* cs, RopeStyle style) {
  const std::int64_t half = rd / 2;
  for (std::int64_t h = 0; h < n_heads; ++h) {
    const std::int64_t xo = h * ld_x, yo = h * ld_y;
    for (std::int64_t i = 0; i < half; ++i) {
      const std::int64_t a = style == RopeStyle::kNeox ? i : 2 * i, b = style == RopeStyle::kNeox ? i + half : 2 * i + 1;
      const float x1 = elem::load(x, dt, xo + a), x2 = elem::load(x, dt, xo + b);
      const float c = cs[i], s = cs[half + i];
      elem::store(y, dt, yo + a, x1 * c - x2 * s);
      elem::store(y, dt, yo + b, x2 * c + x1 * s);
    }
    for (std::int64_t d = rd; d < D; ++d) elem::store(y, dt, yo + d, elem::load(x, dt, xo + d));
  }
}

}  // namespace symtrace::ops::kernels
