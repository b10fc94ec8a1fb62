// Bulk convert() against the scalar definitions on every ISA path, every dtype pair, odd
// lengths; plus the conversion rules that refdata does not pin (ints, f4, e8m0 ceil).
// SYMTRACE_EXHAUSTIVE=1 also sweeps all 2^32 f32 patterns through f32 -> fp8/bf16/f16.
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/convert_kernels.hpp"
#include "tests/tensor/isa_scope.hpp"

namespace symtrace::tensor {
namespace {

using testing::IsaScope;
using testing::kIsas;


std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// f32 inputs that stress every encoder: random bit patterns (all exponents, NaN payloads,
// subnormals), values near each format's range, exact halves, and specials.
std::vector<float> stress_inputs(std::size_t n) {
  std::vector<float> xs;
  for (float v : {0.f, -0.f, 1.f, -1.f, 448.f, 464.f, 480.f, 240.f, 248.f, 57344.f, 61440.f,
                  65504.f, 65520.f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                  std::bit_cast<float>(0xFFC12345u), std::bit_cast<float>(0x7F800001u),
                  std::bit_cast<float>(0x00000001u), std::bit_cast<float>(0x807FFFFFu),
                  0x1p-9f, 0x1p-10f, 0x1.8p-10f, 0x1p-17f, 0x1p-16f, 0x1.8p-17f})
    xs.push_back(v);
  for (std::size_t i = 0; xs.size() < n; ++i) {
    const std::uint64_t r = mix(i);
    const auto bits = static_cast<std::uint32_t>(r);
    // Half raw patterns, half magnitudes in [2^-20, 2^17) where the formats live.
    if (r >> 63) {
      xs.push_back(std::bit_cast<float>(bits));
    } else {
      const float m = std::ldexp(1.f + static_cast<float>(bits & 0xFFFFFF) * 0x1p-24f,
                                 static_cast<int>((r >> 32) % 37) - 20);
      xs.push_back(((r >> 62) & 1) ? -m : m);
    }
  }
  return xs;
}

std::vector<std::uint8_t> raw_bytes_for(DType d, std::size_t n, std::uint64_t seed) {
  const std::size_t bytes = d == DType::kF4E2M1X2 ? (n + 1) / 2 : n * info(d).bytes;
  std::vector<std::uint8_t> v(bytes);
  for (std::size_t i = 0; i < bytes; ++i) v[i] = static_cast<std::uint8_t>(mix(seed + i));
  if (d == DType::kBool)
    for (auto& b : v) b &= 1;
  return v;
}

TEST(Convert, FloatToSmallFormatsEqualsScalarOnEveryIsa) {
  const std::vector<float> xs = stress_inputs(20011);  // prime: every tail length shows up
  for (DType d : {DType::kF8E4M3FN, DType::kF8E5M2, DType::kF8E4M3FNUZ, DType::kF8E5M2FNUZ,
                  DType::kF8E8M0FNU, DType::kF4E2M1X2, DType::kBF16, DType::kF16}) {
    for (Rounding r : {Rounding::kRaw, Rounding::kSaturate}) {
      for (const char* isa : kIsas) {
        IsaScope scope(isa);
        for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{15}, std::size_t{17},
                              std::size_t{33}, xs.size()}) {
          std::vector<std::uint8_t> out(n * 2 + 1, 0);
          convert(xs.data(), DType::kF32, out.data(), d, n, r);
          for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t got;
            if (d == DType::kF4E2M1X2) got = (out[i / 2] >> ((i & 1) * 4)) & 0xF;
            else if (info(d).bytes == 2) got = out[2 * i] | (std::uint32_t{out[2 * i + 1]} << 8);
            else got = out[i];
            ASSERT_EQ(got, encode(d, xs[i], r))
                << isa << " " << name(d) << (r == Rounding::kRaw ? " raw" : " sat") << " n=" << n
                << " input bits 0x" << std::hex << std::bit_cast<std::uint32_t>(xs[i]);
          }
        }
      }
    }
  }
}

// Every source code of every 8/16-bit float format, to f32 and to bf16, on every path.
TEST(Convert, DecodeEveryCodeEqualsScalarOnEveryIsa) {
  for (DType d : {DType::kF8E4M3FN, DType::kF8E5M2, DType::kF8E4M3FNUZ, DType::kF8E5M2FNUZ,
                  DType::kF8E8M0FNU, DType::kF4E2M1X2, DType::kBF16, DType::kF16}) {
    const std::size_t codes = d == DType::kF4E2M1X2 ? 16 : info(d).bytes == 2 ? 65536 : 256;
    std::vector<std::uint8_t> src(codes * info(d).bytes + 1);
    for (std::size_t c = 0; c < codes; ++c) {
      if (d == DType::kF4E2M1X2) src[c / 2] |= static_cast<std::uint8_t>(c << ((c & 1) * 4));
      else if (info(d).bytes == 2) std::memcpy(&src[2 * c], &c, 2);
      else src[c] = static_cast<std::uint8_t>(c);
    }
    for (const char* isa : kIsas) {
      IsaScope scope(isa);
      for (std::size_t n : {codes, codes - 1}) {
        std::vector<float> f(n);
        std::vector<std::uint16_t> b(n);
        convert(src.data(), d, f.data(), DType::kF32, n);
        convert(src.data(), d, b.data(), DType::kBF16, n);
        for (std::size_t c = 0; c < n; ++c) {
          const float want = decode(d, static_cast<std::uint32_t>(c));
          ASSERT_EQ(std::bit_cast<std::uint32_t>(f[c]), std::bit_cast<std::uint32_t>(want))
              << isa << " " << name(d) << " code " << c;
          // bf16 -> bf16 is a copy: bits kept, sNaNs included.
          const std::uint16_t want_bf16 = d == DType::kBF16 ? static_cast<std::uint16_t>(c) : f32_to_bf16(want);
          ASSERT_EQ(b[c], want_bf16) << isa << " " << name(d) << " -> bf16 code " << c;
        }
      }
    }
  }
}

// Every (src, dst) pair on every path equals the per-element rule (no kernels), whose
// integer/bool corners are pinned below.
TEST(Convert, EveryDtypePairAgreesAcrossIsas) {
  constexpr std::size_t kN = 1037;
  for (int si = 0; si < kNumDTypes; ++si) {
    const auto st = static_cast<DType>(si);
    const std::vector<std::uint8_t> src = raw_bytes_for(st, kN, 1000 + si);
    for (int di = 0; di < kNumDTypes; ++di) {
      const auto dt = static_cast<DType>(di);
      const std::size_t out_bytes = dt == DType::kF4E2M1X2 ? (kN + 1) / 2 : kN * info(dt).bytes;
      std::vector<std::uint8_t> want(out_bytes, 0), got(out_bytes, 0);
      detail::convert_elementwise(src.data(), st, want.data(), dt, kN, Rounding::kSaturate);
      for (const char* isa : kIsas) {
        IsaScope scope(isa);
        std::fill(got.begin(), got.end(), 0);
        convert(src.data(), st, got.data(), dt, kN);
        ASSERT_EQ(got, want) << isa << " " << name(st) << " -> " << name(dt);
      }
    }
  }
}

// Above the OpenMP threshold the run is split in chunks; packed f4 chunks must start on a
// byte and the odd tail must keep its neighbour nibble.
TEST(Convert, LargeRunsSplitAcrossThreadsEqualTheRule) {
  const std::vector<float> xs = stress_inputs(300007);
  for (DType d : {DType::kF8E4M3FN, DType::kF4E2M1X2, DType::kBF16, DType::kI8}) {
    const std::size_t bytes = d == DType::kF4E2M1X2 ? (xs.size() + 1) / 2 : xs.size() * info(d).bytes;
    std::vector<std::uint8_t> got(bytes, 0x5A), want(bytes, 0x5A);
    convert(xs.data(), DType::kF32, got.data(), d, xs.size());
    detail::convert_elementwise(xs.data(), DType::kF32, want.data(), d, xs.size(), Rounding::kSaturate);
    ASSERT_EQ(got, want) << name(d);
    std::vector<float> back(xs.size()), back_want(xs.size());
    convert(got.data(), d, back.data(), DType::kF32, xs.size());
    detail::convert_elementwise(got.data(), d, back_want.data(), DType::kF32, xs.size(), Rounding::kSaturate);
    ASSERT_EQ(0, std::memcmp(back.data(), back_want.data(), back.size() * sizeof(float))) << name(d);
  }
}

TEST(Convert, IntegerAndBoolRules) {
  const double src[] = {2.9, -2.9, 1e20, -1e20, std::nan(""), 300.0, -0.0, 0.5};
  std::int32_t i32[8];
  std::uint8_t u8[8], b[8];
  std::int8_t i8[8];
  convert(src, DType::kF64, i32, DType::kI32, 8);
  convert(src, DType::kF64, u8, DType::kU8, 8);
  convert(src, DType::kF64, i8, DType::kI8, 8);
  convert(src, DType::kF64, b, DType::kBool, 8);
  EXPECT_EQ(i32[0], 2);  // truncation toward zero
  EXPECT_EQ(i32[1], -2);
  EXPECT_EQ(i32[2], std::numeric_limits<std::int32_t>::max());  // saturation
  EXPECT_EQ(i32[3], std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(i32[4], 0);  // NaN
  EXPECT_EQ(u8[5], 255);
  EXPECT_EQ(u8[1], 0);
  EXPECT_EQ(i8[5], 127);
  EXPECT_EQ(b[4], 1);  // NaN is truthy
  EXPECT_EQ(b[6], 0);  // -0 is not
  EXPECT_EQ(b[7], 1);
  const std::int64_t big[] = {300, -1, (std::int64_t{1} << 40) + 5, 16777217};
  std::uint8_t w[4];
  float f[4];
  convert(big, DType::kI64, w, DType::kU8, 4);
  convert(big, DType::kI64, f, DType::kF32, 4);
  EXPECT_EQ(w[0], 300 % 256);  // integers wrap, as PyTorch's casts do
  EXPECT_EQ(w[1], 255);
  EXPECT_EQ(w[2], 5);
  EXPECT_EQ(f[3], 16777216.f);  // one rounding (ties to even), never through a double
}

TEST(Convert, F4PackingIsLowNibbleFirstAndOddLengthsKeepTheNeighbour) {
  const float vals[] = {0.5f, -6.f, 1.5f};
  std::uint8_t packed[2] = {0x00, 0xA0};
  convert(vals, DType::kF32, packed, DType::kF4E2M1X2, 3);
  EXPECT_EQ(packed[0], 0xF1);  // element 0 (0.5 = 0x1) low, element 1 (-6 = 0xF) high
  EXPECT_EQ(packed[1], 0xA3);  // 1.5 = 0x3 in the low nibble, the high nibble untouched
  float back[3];
  convert(packed, DType::kF4E2M1X2, back, DType::kF32, 3);
  EXPECT_EQ(back[0], 0.5f);
  EXPECT_EQ(back[1], -6.f);
  EXPECT_EQ(back[2], 1.5f);
  // e2m1 ties go to the even code: 2.5 -> 2 (0x4), 5 -> 4 (0x6), 0.25 -> 0, 0.75 -> 1.
  EXPECT_EQ(encode(DType::kF4E2M1X2, 2.5f), 0x4u);
  EXPECT_EQ(encode(DType::kF4E2M1X2, 5.f), 0x6u);
  EXPECT_EQ(encode(DType::kF4E2M1X2, 0.25f), 0x0u);
  EXPECT_EQ(encode(DType::kF4E2M1X2, 0.75f), 0x2u);
  EXPECT_EQ(encode(DType::kF4E2M1X2, 100.f, Rounding::kRaw), 0x7u);  // no inf: saturates
  EXPECT_EQ(encode(DType::kF4E2M1X2, -std::nanf("")), 0xFu);
}

TEST(Convert, Ue8m0CeilRoundsUpAndRejectsBadScales) {
  EXPECT_EQ(to_ue8m0_ceil(1.f), 127);
  EXPECT_EQ(to_ue8m0_ceil(1.0000001f), 128);
  EXPECT_EQ(to_ue8m0_ceil(0.75f), 127);  // the PyTorch cast gives the same here...
  EXPECT_EQ(to_ue8m0_ceil(1.4f), 128);   // ...but rounds 1.4 down to 1 (127)
  EXPECT_EQ(encode(DType::kF8E8M0FNU, 1.4f, Rounding::kRaw), 127u);
  EXPECT_EQ(to_ue8m0_ceil(std::bit_cast<float>(0x00000001u)), 1);  // f32 subnormal -> 2^-126
  EXPECT_EQ(to_ue8m0_ceil(std::numeric_limits<float>::max()), 254);
  EXPECT_EQ(ue8m0_to_f32(to_ue8m0_ceil(0.0625f / 448)), 0x1p-12f);
  for (float bad : {0.f, -1.f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    try {
      to_ue8m0_ceil(bad);
      FAIL() << "accepted " << bad;
    } catch (const diag::Error& e) {
      EXPECT_EQ(e.diagnostic().code, "scale-format");
    }
  }
  EXPECT_TRUE(std::isnan(ue8m0_to_f32(0xFF)));
  EXPECT_EQ(ue8m0_to_f32(0), 0x1p-127f);
}

TEST(Convert, ComputeFormatsIgnoreSaturation) {
  // bf16/f16 keep inf (attention masks) whatever the rounding asks.
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(encode(DType::kBF16, -inf, Rounding::kSaturate), 0xFF80u);
  EXPECT_EQ(encode(DType::kF16, 1e6f, Rounding::kSaturate), 0x7C00u);
  EXPECT_EQ(encode(DType::kF8E5M2, inf, Rounding::kSaturate), 0x7Bu);
  EXPECT_EQ(encode(DType::kF8E8M0FNU, inf, Rounding::kSaturate), 0xFEu);
}

TEST(Convert, NonFloatDtypesAreRejectedByScalarCodecs) {
  EXPECT_THROW(encode(DType::kI32, 1.f), diag::Error);
  EXPECT_THROW(decode(DType::kF64, 0), diag::Error);
}

// Long mode: every f32 bit pattern through the vector encoders vs the scalar ones.
TEST(Convert, ExhaustiveF32PatternsWhenRequested) {
  if (std::getenv("SYMTRACE_EXHAUSTIVE") == nullptr) {
    std::printf("[convert] set SYMTRACE_EXHAUSTIVE=1 to sweep all 2^32 f32 patterns\n");
    return;
  }
  constexpr std::size_t kChunk = 1 << 20;
  std::vector<std::uint32_t> in(kChunk);
  std::vector<std::uint16_t> out(kChunk);
  for (const char* isa : {"avx2", "avx512"}) {
    IsaScope scope(isa);
    for (DType d : {DType::kF8E4M3FN, DType::kF8E5M2, DType::kF8E4M3FNUZ, DType::kF8E5M2FNUZ,
                    DType::kBF16, DType::kF16})
      for (Rounding r : {Rounding::kRaw, Rounding::kSaturate})
        for (std::uint64_t base = 0; base < (std::uint64_t{1} << 32); base += kChunk) {
          for (std::size_t i = 0; i < kChunk; ++i) in[i] = static_cast<std::uint32_t>(base + i);
          convert(in.data(), DType::kF32, out.data(), d, kChunk, r);
          const auto* o8 = reinterpret_cast<const std::uint8_t*>(out.data());
          for (std::size_t i = 0; i < kChunk; ++i) {
            const std::uint32_t got = info(d).bytes == 2 ? out[i] : o8[i];
            ASSERT_EQ(got, encode(d, std::bit_cast<float>(in[i]), r))
                << isa << " " << name(d) << " bits " << std::hex << in[i];
          }
        }
  }
}

}  // namespace
}  // namespace symtrace::tensor
