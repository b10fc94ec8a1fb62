// Replays refdata/fp8_tables.json (PyTorch 2.11): every bit pattern decoded, every listed
// f32 input encoded (raw and saturating), bf16/f16 casts and round trips — bit for bit,
// through the scalar functions and through the bulk convert() on every ISA path.
#include <symtrace/tensor/cpu_features.hpp>
#include <symtrace/tensor/dtype.hpp>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/tensor/isa_scope.hpp"

namespace symtrace::tensor {
namespace {

namespace json = boost::json;

const json::object& tables() {
  static const json::value v = [] {
    const char* env = std::getenv("SYMTRACE_REFDATA_DIR");
    const std::string dir = env ? env : SYMTRACE_REFDATA_DIR;
    std::ifstream in(dir + "/fp8_tables.json");
    if (!in) throw std::runtime_error("cannot open " + dir + "/fp8_tables.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
  }();
  return v.as_object();
}

// A JSON number or "nan"/"inf"/"-inf" as a double.
double number(const json::value& v) {
  if (v.is_string()) {
    const std::string s(v.as_string());
    if (s == "nan") return std::nan("");
    if (s == "inf") return HUGE_VAL;
    if (s == "-inf") return -HUGE_VAL;
    throw std::runtime_error("unexpected string " + s);
  }
  return v.to_number<double>();
}

std::vector<std::uint32_t> u32_list(const json::value& v) {
  std::vector<std::uint32_t> out;
  for (const auto& x : v.as_array()) out.push_back(x.to_number<std::uint32_t>());
  return out;
}

std::vector<float> inputs() {
  std::vector<float> xs;
  for (std::uint32_t b : u32_list(tables().at("encode_inputs_f32_bits")))
    xs.push_back(std::bit_cast<float>(b));
  return xs;
}

DType dtype_of(std::string_view fmt) {
  auto d = dtype_from_name(fmt);
  if (!d) throw std::runtime_error("unknown format " + std::string(fmt));
  return *d;
}

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%X", v);
  return buf;
}

// Restores SYMTRACE_ISA when a test that forces a path ends.
using testing::IsaScope;
using testing::kIsas;

TEST(DTypeRefdata, DecodeEveryBitPattern) {
  int checked = 0;
  for (const auto& [fmt, values] : tables().at("decode").as_object()) {
    const DType d = dtype_of(fmt);
    const auto& arr = values.as_array();
    ASSERT_EQ(arr.size(), d == DType::kF4E2M1X2 ? 16u : 256u) << fmt;
    for (std::size_t code = 0; code < arr.size(); ++code, ++checked) {
      const double want = number(arr[code]);
      const float got = decode(d, static_cast<std::uint32_t>(code));
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << fmt << " code " << hex(code);
      } else {
        EXPECT_EQ(std::bit_cast<std::uint32_t>(got), std::bit_cast<std::uint32_t>(float(want)))
            << fmt << " code " << hex(code) << " want " << want << " got " << got;
      }
    }
  }
  EXPECT_EQ(checked, 5 * 256 + 16);
  std::printf("[refdata] decoded %d bit patterns\n", checked);
}

TEST(DTypeRefdata, FinfoMatchesTraits) {
  for (const auto& [fmt, fi] : tables().at("finfo").as_object()) {
    const DType d = dtype_of(fmt);
    EXPECT_EQ(info(d).max_finite, number(fi.at("max"))) << fmt;
    EXPECT_EQ(info(d).bits, fi.at("bits").to_number<int>()) << fmt;
    EXPECT_EQ(decode(d, encode(d, float(info(d).max_finite))), float(info(d).max_finite)) << fmt;
  }
}

TEST(DTypeRefdata, EncodeFp8RawAndSaturating) {
  const std::vector<float> xs = inputs();
  ASSERT_EQ(xs.size(), 2144u);
  int checked = 0;
  for (const auto& [fmt, cols] : tables().at("encode").as_object()) {
    const DType d = dtype_of(fmt);
    if (!is_fp8(d) && d != DType::kF8E8M0FNU) continue;
    for (const auto& [col, rounding] :
         {std::pair{"raw", Rounding::kRaw}, std::pair{"saturating", Rounding::kSaturate}}) {
      if (!cols.as_object().contains(col)) continue;
      const std::vector<std::uint32_t> want = u32_list(cols.at(col));
      ASSERT_EQ(want.size(), xs.size());
      for (std::size_t i = 0; i < xs.size(); ++i, ++checked)
        EXPECT_EQ(hex(encode(d, xs[i], rounding)), hex(want[i]))
            << fmt << "." << col << " input " << xs[i] << " (" << hex(std::bit_cast<std::uint32_t>(xs[i]))
            << ", " << tables().at("encode_inputs_kind").as_array()[i].as_string() << ")";
    }
  }
  EXPECT_EQ(checked, 2144 * 9);  // 4 formats x (raw, saturating) + e8m0 raw
  std::printf("[refdata] encoded %d fp8 (input, format, rounding) triples\n", checked);
}

TEST(DTypeRefdata, EncodeBf16AndF16WithRoundTrip) {
  const std::vector<float> xs = inputs();
  int checked = 0;
  for (const char* fmt : {"bf16", "f16"}) {
    const DType d = dtype_of(fmt);
    const auto& cols = tables().at("encode").at(fmt);
    const std::vector<std::uint32_t> raw = u32_list(cols.at("raw"));
    const std::vector<std::uint32_t> back = u32_list(cols.at("roundtrip_f32_bits"));
    for (std::size_t i = 0; i < xs.size(); ++i, checked += 2) {
      const std::uint32_t code = encode(d, xs[i], Rounding::kRaw);
      EXPECT_EQ(hex(code), hex(raw[i])) << fmt << " input " << hex(std::bit_cast<std::uint32_t>(xs[i]));
      EXPECT_EQ(hex(std::bit_cast<std::uint32_t>(decode(d, code))), hex(back[i]))
          << fmt << " round trip of " << hex(std::bit_cast<std::uint32_t>(xs[i]));
    }
  }
  EXPECT_EQ(checked, 2144 * 4);
  std::printf("[refdata] checked %d bf16/f16 casts and round trips\n", checked);
}

// The bulk path on each ISA, on the same inputs (odd count, so every tail path runs too).
TEST(DTypeRefdata, BulkConvertMatchesTablesOnEveryIsa) {
  const std::vector<float> xs = inputs();
  for (const char* isa : kIsas) {
    IsaScope scope(isa);
    int checked = 0;
    for (const auto& [fmt, cols] : tables().at("encode").as_object()) {
      const DType d = dtype_of(fmt);
      for (const auto& [col, rounding] :
           {std::pair{"raw", Rounding::kRaw}, std::pair{"saturating", Rounding::kSaturate}}) {
        if (!cols.as_object().contains(col)) continue;
        const std::vector<std::uint32_t> want = u32_list(cols.at(col));
        const std::size_t n = xs.size() - 1;  // 2143: not a multiple of any vector width
        std::vector<std::uint8_t> out(n * info(d).bytes);
        convert(xs.data(), DType::kF32, out.data(), d, n, rounding);
        for (std::size_t i = 0; i < n; ++i, ++checked) {
          std::uint32_t got = out[i * info(d).bytes];
          if (info(d).bytes == 2) got |= std::uint32_t{out[2 * i + 1]} << 8;
          ASSERT_EQ(hex(got), hex(want[i])) << isa << " " << fmt << "." << col << " input " << i;
        }
      }
    }
    std::printf("[refdata] %s: %d bulk encodes match\n", isa, checked);
  }
}

}  // namespace
}  // namespace symtrace::tensor
