// The shared quantizer kernels (ops/common/quantizers): refdata bit-exactness, every ISA
// path against the scalar definitions, and the property tests of OPS.md §15.3.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "ops/common/quantizers.hpp"

namespace symtrace::ops::quant {
namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

boost::json::value read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str());
}

// Every row-kernel table this machine can run (SYMTRACE_ISA unset for the duration).
std::vector<const RowKernels*> all_tables() {
  std::vector<const RowKernels*> t{&row_kernels_scalar()};
  if (const RowKernels* k = row_kernels_avx2()) t.push_back(k);
  if (const RowKernels* k = row_kernels_avx512()) t.push_back(k);
  return t;
}

// A row of `n` values in dtype d (stored as raw bytes) with awkward content: random
// magnitudes over many octaves, exact ties, zeros, and optionally a NaN.
struct Row {
  DType dtype;
  std::vector<std::byte> bytes;
  std::vector<float> f32;  // the exact values
};

Row make_row(DType d, std::int64_t n, std::uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::uniform_int_distribution<int> oct(-12, 4);
  Row r{d, {}, {}};
  const std::size_t eb = d == DType::kF32 ? 4 : 2;
  r.bytes.resize(static_cast<std::size_t>(n) * eb);
  for (std::int64_t i = 0; i < n; ++i) {
    float v = u(rng) * std::ldexp(scale, oct(rng));
    if (i % 11 == 3) v = 0.f;
    if (d == DType::kF32) {
      std::memcpy(r.bytes.data() + 4 * i, &v, 4);
    } else if (d == DType::kBF16) {
      const auto h = static_cast<std::uint16_t>(bits_of(v) >> 16);  // truncation: exact bf16
      std::memcpy(r.bytes.data() + 2 * i, &h, 2);
    } else {
      // An exact f16 value: 11 significant bits within the normal f16 range.
      v = std::ldexp(std::nearbyint(std::ldexp(v, 10)), -10);
      const std::uint16_t h = [&] {
        if (v == 0.f) return std::uint16_t{0};
        int e;
        const float m = std::frexp(std::fabs(v), &e);  // v = m * 2^e, m in [0.5, 1)
        if (e < -13) return std::uint16_t{0};
        const auto man = static_cast<std::uint16_t>(std::ldexp(m, 11)) & 0x3FF;
        const auto ex = static_cast<std::uint16_t>(e + 14);
        return static_cast<std::uint16_t>((v < 0 ? 0x8000 : 0) | (ex << 10) | man);
      }();
      std::memcpy(r.bytes.data() + 2 * i, &h, 2);
    }
    r.f32.push_back(load_f32(r.bytes.data(), d, i));
  }
  return r;
}

void set_nan(Row& r, std::int64_t i) {
  if (r.dtype == DType::kF32) {
    const float v = std::nanf("");
    std::memcpy(r.bytes.data() + 4 * i, &v, 4);
  } else {
    const std::uint16_t h = r.dtype == DType::kBF16 ? 0xFFC0 : 0xFE00;  // negative NaN
    std::memcpy(r.bytes.data() + 2 * i, &h, 2);
  }
  r.f32[static_cast<std::size_t>(i)] = load_f32(r.bytes.data(), r.dtype, i);
}

TEST(Quantizers, E4m3EncodeMatchesRefdataSaturating) {
  const auto j = read_json(std::string(SYMTRACE_REFDATA_DIR) + "/fp8_tables.json");
  const auto& inputs = j.at("encode_inputs_f32_bits").as_array();
  const auto& want = j.at("encode").at("f8_e4m3fn").at("saturating").as_array();
  ASSERT_EQ(inputs.size(), want.size());
  std::vector<float> xs;
  for (const auto& v : inputs)
    xs.push_back(from_bits(static_cast<std::uint32_t>(v.to_number<std::int64_t>())));
  for (const RowKernels* k : all_tables()) {
    std::vector<std::uint8_t> q(xs.size());
    k->fp8_div(xs.data(), DType::kF32, static_cast<std::int64_t>(xs.size()), 1.f, q.data());
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const auto w = static_cast<std::uint8_t>(want[i].to_number<std::int64_t>());
      ASSERT_EQ(e4m3fn_encode_sat(xs[i]), w) << "scalar, input bits " << std::hex << bits_of(xs[i]);
      ASSERT_EQ(q[i], w) << k->isa << ", input bits " << std::hex << bits_of(xs[i]);
    }
  }
}

TEST(Quantizers, E4m3DecodeMatchesRefdata) {
  const auto j = read_json(std::string(SYMTRACE_REFDATA_DIR) + "/fp8_tables.json");
  const auto& dec = j.at("decode").at("f8_e4m3fn").as_array();
  for (int b = 0; b < 256; ++b) {
    const float got = e4m3fn_decode(static_cast<std::uint8_t>(b));
    if (dec[b].is_string()) {
      EXPECT_TRUE(std::isnan(got)) << b;
    } else {
      EXPECT_EQ(got, static_cast<float>(dec[b].to_number<double>())) << b;
    }
  }
}

TEST(Quantizers, Int8EncodeRoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(int8_encode(2.5f), 2);
  EXPECT_EQ(int8_encode(-2.5f), -2);
  EXPECT_EQ(int8_encode(3.5f), 4);
  EXPECT_EQ(int8_encode(127.5f), 127);
  EXPECT_EQ(int8_encode(-1e30f), -128);
  EXPECT_EQ(int8_encode(std::nanf("")), 0);
  EXPECT_EQ(int8_encode(std::nanf(""), -5), -5);
  EXPECT_EQ(int8_encode(100.f, 100), 127);
  EXPECT_EQ(int8_encode(-3e9f, 2147483000), -128);  // no int32 overflow on the add
  EXPECT_EQ(int8_encode(3e9f, -2147483647 - 1), -128);
}

TEST(Quantizers, ScaleRules) {
  EXPECT_EQ(fp8_tensor_scale(0.f), 1e-12f / 448.f);
  EXPECT_EQ(fp8_token_scale(0.f, std::nullopt), 1.f / 229376.f);
  EXPECT_EQ(fp8_token_scale(896.f, 448.f), 1.f);
  EXPECT_EQ(fp8_group_scale(0.f, false), 1e-10f / 448.f);
  EXPECT_EQ(fp8_group_scale(448.f, true), 1.f);
  EXPECT_EQ(fp8_group_scale(449.f, true), 2.f);
  EXPECT_EQ(fp8_group_scale(447.f, true), 1.f);
  EXPECT_TRUE(std::isnan(fp8_token_scale(std::nanf(""), 1.f)));
  EXPECT_EQ(ceil_pow2(0.75f), 1.f);
  EXPECT_EQ(ceil_pow2(0.5f), 0.5f);
}

// Every ISA table equals the scalar one on every kernel, dtype and awkward length.
TEST(Quantizers, EveryIsaMatchesScalarBitForBit) {
  const RowKernels& ref = row_kernels_scalar();
  for (const RowKernels* k : all_tables()) {
    for (DType d : {DType::kF32, DType::kBF16, DType::kF16}) {
      for (std::int64_t n : {0, 1, 5, 7, 8, 9, 15, 16, 17, 31, 33, 130, 257}) {
        for (int nan_at : {-1, 0, 6}) {
          if (nan_at >= n) continue;
          Row r = make_row(d, n, static_cast<std::uint32_t>(n * 7 + 1));
          if (nan_at >= 0) set_nan(r, nan_at);
          const std::string where = std::string(k->isa) + " dtype " +
                                    std::to_string(static_cast<int>(d)) + " n " +
                                    std::to_string(n) + " nan@" + std::to_string(nan_at);
          const float a0 = ref.absmax(r.bytes.data(), d, n), a1 = k->absmax(r.bytes.data(), d, n);
          EXPECT_EQ(bits_of(a0), bits_of(a1)) << where;
          float lo0, hi0, lo1, hi1;
          ref.minmax(r.bytes.data(), d, n, &lo0, &hi0);
          k->minmax(r.bytes.data(), d, n, &lo1, &hi1);
          if (n > 0) {
            EXPECT_EQ(bits_of(lo0) == bits_of(lo1) || (std::isnan(lo0) && std::isnan(lo1)), true)
                << where;
            EXPECT_EQ(bits_of(hi0) == bits_of(hi1) || (std::isnan(hi0) && std::isnan(hi1)), true)
                << where;
          }
          for (float s : {1.f, 0.013f, 3.7e-5f, 1e-10f / 448.f}) {
            std::vector<std::uint8_t> q0(n + 1, 0xAB), q1(n + 1, 0xAB);
            ref.fp8_div(r.bytes.data(), d, n, s, q0.data());
            k->fp8_div(r.bytes.data(), d, n, s, q1.data());
            EXPECT_EQ(q0, q1) << where << " fp8 s " << s;
            std::vector<std::int8_t> i0(n + 1, 0x55), i1(n + 1, 0x55);
            for (std::int32_t z : {0, -7, 130, -2147483647 - 1, 2147483000}) {
              ref.int8_div(r.bytes.data(), d, n, s, z, i0.data());
              k->int8_div(r.bytes.data(), d, n, s, z, i1.data());
              EXPECT_EQ(i0, i1) << where << " int8 s " << s << " z " << z;
            }
            ref.int8_mul(r.bytes.data(), d, n, 1.f / s, i0.data());
            k->int8_mul(r.bytes.data(), d, n, 1.f / s, i1.data());
            EXPECT_EQ(i0, i1) << where << " int8 mul " << s;
          }
          std::vector<float> cols(static_cast<std::size_t>(n));
          for (std::int64_t i = 0; i < n; ++i) cols[i] = 0.001f * static_cast<float>(i + 1);
          std::vector<std::uint8_t> c0(n + 1, 0xAB), c1(n + 1, 0xAB);
          ref.fp8_div_cols(r.bytes.data(), d, n, cols.data(), c0.data());
          k->fp8_div_cols(r.bytes.data(), d, n, cols.data(), c1.data());
          EXPECT_EQ(c0, c1) << where << " fp8 cols";
        }
      }
    }
  }
}

TEST(Quantizers, HalfLoadsAgreeOnEveryBitPattern) {
  std::vector<std::uint16_t> all(65536);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint16_t>(i);
  const auto n = static_cast<std::int64_t>(all.size());
  for (DType d : {DType::kBF16, DType::kF16}) {
    for (float s : {1.f, 0x1p-20f, 0x1p+20f}) {
      std::vector<std::uint8_t> q0(all.size()), q1(all.size());
      row_kernels_scalar().fp8_div(all.data(), d, n, s, q0.data());
      for (const RowKernels* k : all_tables()) {
        k->fp8_div(all.data(), d, n, s, q1.data());
        EXPECT_EQ(q0, q1) << k->isa << " dtype " << static_cast<int>(d) << " s " << s;
      }
    }
  }
}

// A row-major M x K activation in dtype d, with row stride ld >= K.
struct Act {
  std::vector<Row> rows;
  std::vector<std::byte> bytes;
  Rows view;
};
Act make_act(DType d, std::int64_t m, std::int64_t k, std::int64_t ld, std::uint32_t seed) {
  Act a;
  const std::size_t eb = d == DType::kF32 ? 4 : 2;
  a.bytes.assign(static_cast<std::size_t>(m * ld) * eb + 1, std::byte{0x7F});
  for (std::int64_t r = 0; r < m; ++r) {
    a.rows.push_back(
        make_row(d, k, seed + static_cast<std::uint32_t>(r), 1.f + static_cast<float>(r % 5)));
    std::memcpy(a.bytes.data() + static_cast<std::size_t>(r * ld) * eb, a.rows.back().bytes.data(),
                a.rows.back().bytes.size());
  }
  a.view = Rows{a.bytes.data(), d, m, k, ld};
  return a;
}

constexpr float kNoSaturation = 448.f * (1.f + 0x1p-21f);

// q is a nearest e4m3fn value to v (checked against every finite code).
::testing::AssertionResult is_nearest_e4m3(float v, std::uint8_t q) {
  const double err = std::fabs(static_cast<double>(v) - e4m3fn_decode(q));
  for (int c = 0; c < 256; ++c) {
    const float d = e4m3fn_decode(static_cast<std::uint8_t>(c));
    if (std::isnan(d)) continue;
    if (std::fabs(static_cast<double>(v) - d) < err)
      return ::testing::AssertionFailure()
             << v << " encoded as " << e4m3fn_decode(q) << " but " << d << " is nearer";
  }
  return ::testing::AssertionSuccess();
}

TEST(Quantizers, Fp8PerTokenNeverSaturatesAndHitsMax) {
  for (DType d : {DType::kF32, DType::kBF16, DType::kF16}) {
    const std::int64_t m = 17, k = 130, ld = 133;
    Act a = make_act(d, m, k, ld, 11);
    std::vector<std::uint8_t> q(static_cast<std::size_t>(m * k));
    std::vector<float> s(static_cast<std::size_t>(m));
    fp8_dynamic_token(a.view, std::nullopt, q.data(), k, s.data());
    for (std::int64_t r = 0; r < m; ++r) {
      float amax = 0.f;
      for (float v : a.rows[r].f32) amax = std::max(amax, std::fabs(v));
      ASSERT_EQ(s[r], std::max(amax / 448.f, 1.f / 229376.f));
      bool hit = false;
      for (std::int64_t c = 0; c < k; ++c) {
        const float x = a.rows[r].f32[c];
        const std::uint8_t code = q[r * k + c];
        // amax / (amax / 448) may exceed 448 by an f32 ulp of the division; anything below
        // the overflow tie 464 encodes the same with or without the clamp.
        ASSERT_LE(std::fabs(x / s[r]), kNoSaturation) << "saturated at row " << r;
        ASSERT_TRUE(is_nearest_e4m3(x / s[r], code));
        if (std::fabs(x) == amax) hit |= (code & 0x7F) == 0x7E;
      }
      EXPECT_TRUE(hit) << "amax element of row " << r << " is not +-448";
    }
  }
}

TEST(Quantizers, Fp8PerTokenUpperBoundSaturates) {
  const float xs[4] = {-1000.f, 10.f, 448.f, 0.5f};
  std::uint8_t q[4];
  float s;
  fp8_dynamic_token(Rows{xs, DType::kF32, 1, 4, 4}, 448.f, q, 4, &s);
  EXPECT_EQ(s, 1.f);
  EXPECT_EQ(q[0], 0xFE);  // -1000 saturates to -448
  EXPECT_EQ(q[2], 0x7E);
}

TEST(Quantizers, Fp8GroupRaggedPow2AndPacked) {
  const std::int64_t m = 3, k = 300, g = 128, groups = 3;
  Act a = make_act(DType::kBF16, m, k, k, 5);
  for (bool pow2 : {false, true}) {
    std::vector<std::uint8_t> q(static_cast<std::size_t>(m * k));
    std::vector<float> s(static_cast<std::size_t>(m * groups), -1.f);
    // Column-major scales (strides (1, M)), as CUTLASS reads them.
    fp8_dynamic_group(a.view, g, pow2, q.data(), k, GroupScales{s.data(), nullptr, 1, m});
    for (std::int64_t r = 0; r < m; ++r) {
      for (std::int64_t j = 0; j < groups; ++j) {
        float amax = 0.f;
        for (std::int64_t c = j * g; c < std::min(k, (j + 1) * g); ++c)
          amax = std::max(amax, std::fabs(a.rows[r].f32[c]));
        const float want =
            pow2 ? ceil_pow2(std::max(amax, 1e-10f) / 448.f) : std::max(amax, 1e-10f) / 448.f;
        ASSERT_EQ(s[j * m + r], want);
        for (std::int64_t c = j * g; c < std::min(k, (j + 1) * g); ++c) {
          const float x = a.rows[r].f32[c] / want;
          ASSERT_LE(std::fabs(x), kNoSaturation);
          ASSERT_TRUE(is_nearest_e4m3(x, q[r * k + c]));
        }
      }
    }
    if (!pow2) continue;
    // The same quantization with UE8M0 scales packed four per i32, MN-major (1, M4).
    const std::int64_t m4 = 4;
    std::vector<std::int32_t> packed(static_cast<std::size_t>(m4 * 1), -1);
    std::vector<std::uint8_t> q2(q.size());
    fp8_dynamic_group(a.view, g, true, q2.data(), k, GroupScales{nullptr, packed.data(), 1, m4});
    EXPECT_EQ(q, q2);
    for (std::int64_t r = 0; r < m; ++r) {
      const auto w = static_cast<std::uint32_t>(packed[r]);
      for (std::int64_t j = 0; j < 4; ++j) {
        const std::uint32_t byte = (w >> (8 * j)) & 0xFF;
        const std::uint32_t want = j < groups ? (bits_of(s[j * m + r]) >> 23) & 0xFF : 0;
        EXPECT_EQ(byte, want) << "row " << r << " group " << j;
      }
    }
  }
}

TEST(Quantizers, Fp8NanPropagatesToItsGroupOnly) {
  std::vector<float> x(256, 1.f);
  x[3] = std::nanf("");
  std::vector<std::uint8_t> q(256);
  float s[2];
  fp8_dynamic_group(Rows{x.data(), DType::kF32, 1, 256, 256}, 128, false, q.data(), 256,
                    GroupScales{s, nullptr, 2, 1});
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_EQ(s[1], 1.f / 448.f);
  EXPECT_EQ(q[3], 0x7F);
  EXPECT_EQ(q[200], 0x7E);
}

TEST(Quantizers, Fp8PerTensorZeroInputUsesFloor) {
  std::vector<float> x(40, 0.f);
  std::vector<std::uint8_t> q(40, 0xAB);
  EXPECT_EQ(fp8_dynamic_tensor(Rows{x.data(), DType::kF32, 4, 10, 10}, q.data(), 10),
            1e-12f / 448.f);
  EXPECT_EQ(q, std::vector<std::uint8_t>(40, 0));
}

TEST(Quantizers, Int8DynamicErrorIsAtMostHalfAScale) {
  for (DType d : {DType::kF32, DType::kBF16, DType::kF16}) {
    const std::int64_t m = 9, k = 257;
    Act a = make_act(d, m, k, k + 3, 21);
    std::vector<std::int8_t> q(static_cast<std::size_t>(m * k));
    std::vector<float> s(static_cast<std::size_t>(m));
    std::vector<std::int32_t> z(static_cast<std::size_t>(m));
    int8_dynamic_token(a.view, 0.f, q.data(), k, s.data());
    for (std::int64_t r = 0; r < m; ++r)
      for (std::int64_t c = 0; c < k; ++c) {
        const double err = std::fabs(a.rows[r].f32[c] - static_cast<double>(s[r]) * q[r * k + c]);
        ASSERT_LE(err, s[r] * (0.5 + 1e-5)) << "row " << r << " col " << c;
        ASSERT_GE(q[r * k + c], -127);
      }
    int8_dynamic_token_asym(a.view, q.data(), k, s.data(), z.data());
    for (std::int64_t r = 0; r < m; ++r) {
      for (std::int64_t c = 0; c < k; ++c) {
        const double deq = static_cast<double>(s[r]) * (q[r * k + c] - z[r]);
        ASSERT_LE(std::fabs(a.rows[r].f32[c] - deq), s[r] * (0.5 + 1e-4)) << r << "," << c;
      }
    }
  }
}

TEST(Quantizers, Int8DynamicZeroRowGivesZeroScale) {
  std::vector<float> x(20, 0.f);
  x[15] = 2.f;
  std::vector<std::int8_t> q(20, 9);
  float s[2];
  int8_dynamic_token(Rows{x.data(), DType::kF32, 2, 10, 10}, 0.f, q.data(), 10, s);
  EXPECT_EQ(s[0], 0.f);
  EXPECT_EQ(s[1], 2.f / 127.f);
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[15], 127);
  int8_dynamic_token(Rows{x.data(), DType::kF32, 2, 10, 10}, kInt8MoeAmaxFloor, q.data(), 10, s);
  EXPECT_EQ(s[0], 1e-10f / 127.f);
}

TEST(Quantizers, Int8AsymConstantRowUsesScaleFloor) {
  std::vector<float> x(8, 0.f);
  std::vector<std::int8_t> q(8);
  float s;
  std::int32_t z;
  int8_dynamic_token_asym(Rows{x.data(), DType::kF32, 1, 8, 8}, q.data(), 8, &s, &z);
  EXPECT_EQ(s, 1e-10f);
  EXPECT_EQ(z, -128);
  EXPECT_EQ(q, std::vector<std::int8_t>(8, -128));
}

TEST(Quantizers, ThreadCountDoesNotChangeResults) {
  Act a = make_act(DType::kBF16, 64, 1000, 1000, 3);
  std::vector<std::uint8_t> q1(64000), q2(64000);
  std::vector<float> s1(64), s2(64);
  fp8_dynamic_token(a.view, std::nullopt, q1.data(), 1000, s1.data(), 1);
  fp8_dynamic_token(a.view, std::nullopt, q2.data(), 1000, s2.data(), 2);
  EXPECT_EQ(q1, q2);
  EXPECT_EQ(s1, s2);
  std::vector<std::int8_t> i1(64000), i2(64000);
  EXPECT_EQ(int8_dynamic_tensor(a.view, i1.data(), 1000, 1),
            int8_dynamic_tensor(a.view, i2.data(), 1000, 2));
  EXPECT_EQ(i1, i2);
}

}  // namespace
}  // namespace symtrace::ops::quant
