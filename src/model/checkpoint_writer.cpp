// make_checkpoint_tensors: random weights quantized per the spec's format, and the edits
// that make broken variants.
#include <symtrace/model/checkpoint_writer.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::model {

using tensor::DType;

namespace {

inline constexpr float kE4m3Max = 448.f;
inline constexpr float kE2m1Max = 6.f;
inline constexpr float kInt8Max = 127.f;
inline constexpr float kInt4Max = 7.f;
inline constexpr float kWeightRange = 0.04f;     // |w| <= 0.04: std ~0.023, like trained layers
inline constexpr float kStaticInputScale = 0.02f;  // static activation scales written

[[noreturn]] void fail(std::string code, std::string_view name, std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.argument = std::string(name);
  d.message = std::move(message);
  throw diag::Error(std::move(d));
}

// splitmix64: small, seedable, the same on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t s) : s_(s) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(next() >> 40) * (1.f / 16777216.f);
  }

 private:
  std::uint64_t s_;
};

std::uint64_t seed_of(std::string_view name, std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h ^ (seed * 0x9E3779B97F4A7C15ull);
}

std::size_t numel(const std::vector<std::int64_t>& s) {
  std::size_t n = 1;
  for (auto d : s) n *= static_cast<std::size_t>(d);
  return n;
}

TensorData from_f32(const std::vector<float>& v, DType dtype, std::vector<std::int64_t> shape) {
  TensorData t{dtype, std::move(shape), {}};
  t.bytes.resize(v.size() * static_cast<std::size_t>(tensor::info(dtype).bits) / 8);
  tensor::convert(v.data(), DType::kF32, t.bytes.data(), dtype, v.size(), tensor::Rounding::kSaturate);
  return t;
}

// The value a scale of dtype d will have once stored (quantize with what is stored).
float stored(float s, DType d) {
  if (d == DType::kBF16) return tensor::bf16_to_f32(tensor::f32_to_bf16(s));
  if (d == DType::kF16) return tensor::f16_to_f32(tensor::f32_to_f16(s));
  return s;
}

// One quantized linear: weight [N, K] in f32 -> the tensors its spec lists.
void quantize_linear(const LinearSpec& ls, const CheckpointSpec& spec, std::uint64_t seed,
                     CheckpointTensors& out) {
  const std::int64_t N = ls.N.value, K = ls.K.value;
  Rng rng(seed_of(ls.name, seed));
  std::vector<float> w(static_cast<std::size_t>(N * K));
  for (std::int64_t n = 0; n < N; ++n) {
    const float row = 0.5f + rng.uniform(0.f, 1.f);  // rows of different magnitude
    for (std::int64_t k = 0; k < K; ++k) w[n * K + k] = row * rng.uniform(-kWeightRange, kWeightRange);
  }
  const QuantArgs& a = *ls.weights;
  auto find = [&](const char* suffix) { return spec.find(fmt::format("{}.{}", ls.name, suffix)); };
  const ExpectedTensor* wt = find("weight");
  if (wt == nullptr) wt = find("weight_packed");
  if (wt == nullptr) throw diag::InternalError("quantized linear without weight: " + ls.name);
  const ExpectedTensor* st = find("weight_scale_inv");
  if (st == nullptr) st = find("weight_scale");

  if (wt->dtype == DType::kI8 || wt->dtype == DType::kF8E4M3FN || wt->dtype == DType::kI32) {
    // Which scale each element uses: groups of gn rows by gk columns.
    std::int64_t gn = 1, gk = K;
    switch (a.strategy) {
      case Strategy::kTensor: gn = N, gk = K; break;
      case Strategy::kChannel: gn = 1, gk = K; break;
      case Strategy::kGroup: gn = 1, gk = *a.group_size; break;
      case Strategy::kBlock: gn = *a.block_n, gk = *a.block_k; break;
      default: fail("writer-unsupported", ls.name, fmt::format("{}: cannot write {}", ls.name, a.str()));
    }
    const bool int4 = wt->dtype == DType::kI32;
    if (int4 && !a.symmetric)
      fail("writer-unsupported", ls.name, fmt::format("{}: asymmetric int4 is not written", ls.name));
    const std::int64_t rows = (N + gn - 1) / gn, cols = (K + gk - 1) / gk;
    const float qmax = wt->dtype == DType::kF8E4M3FN ? kE4m3Max : int4 ? kInt4Max : kInt8Max;
    std::vector<float> s(static_cast<std::size_t>(rows * cols), 0.f);
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t k = 0; k < K; ++k) {
        float& m = s[(n / gn) * cols + k / gk];
        m = std::max(m, std::abs(w[n * K + k]));
      }
    for (float& x : s) x = stored(x > 0 ? x / qmax : 1.f, st->dtype);
    std::vector<std::byte> q(static_cast<std::size_t>(N * K));
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t k = 0; k < K; ++k) {
        const float x = w[n * K + k] / s[(n / gn) * cols + k / gk];
        if (wt->dtype == DType::kF8E4M3FN) {
          q[n * K + k] = static_cast<std::byte>(tensor::encode(DType::kF8E4M3FN, x));
        } else {
          const float r = std::clamp(std::nearbyint(x), -qmax, qmax);
          q[n * K + k] = static_cast<std::byte>(static_cast<std::int8_t>(r));
        }
      }
    TensorData wd{wt->dtype, wt->shape(), {}};
    if (int4) {  // eight 4-bit values (offset by 8) per int32 along K, low bits first
      wd.bytes.resize(static_cast<std::size_t>(N * K / 2));
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k8 = 0; k8 < K / 8; ++k8) {
          std::uint32_t word = 0;
          for (int j = 0; j < 8; ++j) {
            const auto v = static_cast<std::int8_t>(q[n * K + k8 * 8 + j]);
            word |= static_cast<std::uint32_t>(v + 8) << (4 * j);
          }
          std::memcpy(wd.bytes.data() + (n * (K / 8) + k8) * 4, &word, 4);
        }
      const std::int64_t shape2[2] = {N, K};
      TensorData sh{DType::kI64, {2}, std::vector<std::byte>(16)};
      std::memcpy(sh.bytes.data(), shape2, 16);
      out.tensors[ls.name + ".weight_shape"] = std::move(sh);
    } else {
      wd.bytes = std::move(q);
    }
    out.tensors[wt->name] = std::move(wd);
    out.tensors[st->name] = from_f32(s, st->dtype, st->shape());
  } else if (wt->dtype == DType::kU8) {
    // NVFP4: global divisor g = 448·6 / amax(W); e4m3 block scales per 16 along K.
    float amax = 0;
    for (float x : w) amax = std::max(amax, std::abs(x));
    const float global = amax > 0 ? kE4m3Max * kE2m1Max / amax : 1.f;
    const std::int64_t groups = K / 16;
    std::vector<std::byte> bs(static_cast<std::size_t>(N * groups));
    std::vector<std::byte> packed(static_cast<std::size_t>(N * K / 2), std::byte{0});
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t b = 0; b < groups; ++b) {
        float m = 0;
        for (std::int64_t k = b * 16; k < b * 16 + 16; ++k) m = std::max(m, std::abs(w[n * K + k]));
        const auto code = tensor::encode(DType::kF8E4M3FN, m / kE2m1Max * global);
        bs[n * groups + b] = static_cast<std::byte>(code);
        const float scale = tensor::decode(DType::kF8E4M3FN, code) / global;  // multiplier
        for (std::int64_t k = b * 16; k < b * 16 + 16; ++k) {
          const std::uint32_t nib = scale > 0 ? tensor::encode(DType::kF4E2M1X2, w[n * K + k] / scale) : 0;
          auto& byte = packed[(n * K + k) / 2];
          byte |= static_cast<std::byte>((nib & 0xF) << (k % 2 == 0 ? 0 : 4));  // 2j low nibble
        }
      }
    out.tensors[wt->name] = TensorData{DType::kU8, wt->shape(), std::move(packed)};
    out.tensors[st->name] = TensorData{DType::kF8E4M3FN, st->shape(), std::move(bs)};
    const ExpectedTensor* g = find("weight_global_scale");
    out.tensors[g->name] = from_f32({global}, DType::kF32, g->shape());
    if (const ExpectedTensor* ig = find("input_global_scale"))
      out.tensors[ig->name] = from_f32({kE4m3Max * kE2m1Max / 4.f}, DType::kF32, ig->shape());
  } else {
    fail("writer-unsupported", ls.name, fmt::format("{}: cannot write {} weights", ls.name,
                                                    tensor::name(wt->dtype)));
  }
  // Zero points (symmetric: zeros) and static activation scales.
  for (const char* zp : {"weight_zero_point", "input_zero_point"})
    if (const ExpectedTensor* t = find(zp))
      out.tensors[t->name] = TensorData{t->dtype, t->shape(),
                                        std::vector<std::byte>(numel(t->shape()) * tensor::info(t->dtype).bytes)};
  if (const ExpectedTensor* t = find("input_scale"))
    out.tensors[t->name] = from_f32({kStaticInputScale}, t->dtype, t->shape());
}

}  // namespace

TensorData& CheckpointTensors::at(std::string_view name) {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail("missing-tensor", name, fmt::format("no tensor '{}' to edit", name));
  return it->second;
}

void CheckpointTensors::erase(std::string_view name) { tensors.erase(tensors.find(name)); }

void CheckpointTensors::transpose2d(std::string_view name) {
  TensorData& t = at(name);
  if (t.shape.size() != 2) fail("shape", name, fmt::format("'{}' is not 2-D", name));
  const std::size_t a = static_cast<std::size_t>(t.shape[0]), b = static_cast<std::size_t>(t.shape[1]);
  const std::size_t e = tensor::info(t.dtype).bytes;
  std::vector<std::byte> out(t.bytes.size());
  for (std::size_t i = 0; i < a; ++i)
    for (std::size_t j = 0; j < b; ++j)
      std::memcpy(out.data() + (j * a + i) * e, t.bytes.data() + (i * b + j) * e, e);
  t.bytes = std::move(out);
  std::swap(t.shape[0], t.shape[1]);
}

void CheckpointTensors::reshape(std::string_view name, std::vector<std::int64_t> shape) {
  TensorData& t = at(name);
  if (numel(shape) != numel(t.shape)) fail("shape", name, fmt::format("'{}': numel differs", name));
  t.shape = std::move(shape);
}

void CheckpointTensors::set_f32(std::string_view name, std::size_t flat, float value) {
  TensorData& t = at(name);
  if (t.dtype != DType::kF32 || flat >= numel(t.shape))
    fail("shape", name, fmt::format("'{}': no f32 element {}", name, flat));
  std::memcpy(t.bytes.data() + flat * 4, &value, 4);
}

void CheckpointTensors::convert(std::string_view name, DType to) {
  TensorData& t = at(name);
  const std::size_t n = numel(t.shape);
  std::vector<float> v(n);
  tensor::convert(t.bytes.data(), t.dtype, v.data(), DType::kF32, n);
  t = from_f32(v, to, t.shape);
}

SafetensorsWriter CheckpointTensors::writer() const {
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (const auto& [name, t] : tensors) w.add(name, t.dtype, t.shape, t.bytes);
  return w;
}

CheckpointTensors make_checkpoint_tensors(const CheckpointSpec& spec, std::uint64_t seed) {
  CheckpointTensors out;
  for (const LinearSpec& ls : spec.linears)
    if (ls.quantized) quantize_linear(ls, spec, seed, out);
  for (const ExpectedTensor& t : spec.tensors) {
    if (out.tensors.contains(t.name) || t.optional) continue;
    Rng rng(seed_of(t.name, seed));
    std::vector<float> v(numel(t.shape()));
    switch (t.role) {
      case TensorRole::kNorm:
        for (float& x : v) x = 1.f + rng.uniform(-0.1f, 0.1f);
        break;
      case TensorRole::kWeight:
      case TensorRole::kEmbedding:
      case TensorRole::kBias:
        for (float& x : v) x = rng.uniform(-kWeightRange, kWeightRange);
        break;
      default:
        throw diag::InternalError(fmt::format("no generator for {} tensor {}", role_name(t.role), t.name));
    }
    if (!tensor::info(t.dtype).is_float)
      throw diag::InternalError(fmt::format("unquantized tensor {} is not a float", t.name));
    out.tensors[t.name] = from_f32(v, t.dtype, t.shape());
  }
  return out;
}

void write_checkpoint(const std::filesystem::path& dir, std::string_view config_json,
                      const CheckpointTensors& tensors) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("safetensors-io", dir.string(), fmt::format("{}: {}", dir.string(), ec.message()));
  std::ofstream cfg(dir / "config.json", std::ios::binary | std::ios::trunc);
  cfg << config_json << '\n';
  if (!cfg) fail("safetensors-io", dir.string(), fmt::format("{}/config.json: write failed", dir.string()));
  tensors.writer().write(dir / "model.safetensors");
}

}  // namespace symtrace::model
