// Broken safetensors files: each defect is a structured diag::Error naming the file and the
// tensor, raised before any byte outside the file could be read.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <symtrace/model/safetensors.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::expect_error;
using testing::raw_safetensors;
using testing::ScratchDir;

constexpr const char* kFile = "bad.safetensors";

// Opens the bytes both ways (memory, and a real file through open + mmap) and expects `code`
// whose message names the file and, when given, the tensor.
void expect_bad(const std::vector<std::byte>& bytes, const std::string& code,
                const std::string& tensor = "") {
  const auto d = expect_error([&] { SafetensorsFile::from_bytes(bytes, kFile); }, code);
  EXPECT_NE(d.message.find(kFile), std::string::npos) << d.message;
  if (!tensor.empty()) {
    EXPECT_EQ(d.argument, tensor);
    EXPECT_NE(d.message.find("'" + tensor + "'"), std::string::npos) << d.message;
  }
  ScratchDir dir;
  dir.write(kFile, bytes);
  const auto d2 = expect_error([&] { SafetensorsFile::open(dir / kFile); }, code);
  EXPECT_NE(d2.message.find(kFile), std::string::npos) << d2.message;
}

// fmt rather than "literal" + std::string: GCC 12 at -O3 warns falsely (-Wrestrict) on the latter.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return fmt::format(R"("{}":{{"dtype":"{}","shape":{},"data_offsets":{}}})", name, dtype, shape,
                     offsets);
}

std::string header(const std::string& e) { return fmt::format("{{{}}}", e); }
std::string header(const std::string& a, const std::string& b) {
  return fmt::format("{{{},{}}}", a, b);
}

TEST(SafetensorsBadInput, FileShorterThanLengthField) {
  expect_bad(std::vector<std::byte>(5), "safetensors-header");
  expect_bad({}, "safetensors-header");
}

TEST(SafetensorsBadInput, TruncatedFileCutsTheData) {
  // A valid file cut after half of its data: the tensor now ends beyond the data area.
  const std::string h = header(entry("w", "F32", "[4]", "[0,16]"));
  const auto d = expect_error(
      [&] { SafetensorsFile::from_bytes(raw_safetensors(h, 8), kFile); }, "safetensors-offsets");
  EXPECT_EQ(d.argument, "w");
  EXPECT_EQ(d.expected, "end <= 8");
  expect_bad(raw_safetensors(h, 8), "safetensors-offsets", "w");
}

TEST(SafetensorsBadInput, TruncatedInsideHeader) {
  const std::string h = header(entry("w", "F32", "[1]", "[0,4]"));
  std::vector<std::byte> b = raw_safetensors(h, 4);
  b.resize(8 + h.size() / 2);  // the length field still claims the whole header
  expect_bad(b, "safetensors-header");
}

TEST(SafetensorsBadInput, HeaderLengthBeyondFile) {
  const std::string h = "{}";
  expect_bad(raw_safetensors(h, 0, 1000), "safetensors-header");
  expect_bad(raw_safetensors(h, 0, ~0ull - 1), "safetensors-header");  // no wrap-around
}

TEST(SafetensorsBadInput, HeaderNotJson) {
  expect_bad(raw_safetensors("{\"w\": [", 0), "safetensors-header");
  expect_bad(raw_safetensors("\xff\xfe garbage", 0), "safetensors-header");
  expect_bad(raw_safetensors("[1, 2]", 0), "safetensors-header");
  expect_bad(raw_safetensors("{\"w\": 3}", 0), "safetensors-header", "w");
  expect_bad(raw_safetensors("{\"__metadata__\": {\"a\": 1}}", 0), "safetensors-header");
}

TEST(SafetensorsBadInput, EntryMissingFields) {
  expect_bad(raw_safetensors(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4),
             "safetensors-header", "w");
  expect_bad(raw_safetensors(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4),
             "safetensors-header", "w");
  expect_bad(raw_safetensors(R"({"w":{"dtype":"F32","shape":[1]}})", 4), "safetensors-header", "w");
  expect_bad(raw_safetensors(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
             "safetensors-header", "w");
}

TEST(SafetensorsBadInput, OffsetsOverlap) {
  const std::string h = header(entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[4,12]"));
  const auto d = expect_error(
      [&] { SafetensorsFile::from_bytes(raw_safetensors(h, 12), kFile); }, "safetensors-offsets");
  EXPECT_EQ(d.argument, "b");
  EXPECT_NE(d.message.find("'a'"), std::string::npos) << d.message;  // names both tensors
  expect_bad(raw_safetensors(h, 12), "safetensors-offsets", "b");
}

TEST(SafetensorsBadInput, OffsetsOutsideData) {
  expect_bad(raw_safetensors(header(entry("w", "F32", "[2]", "[8,16]")), 8),
             "safetensors-offsets", "w");
  expect_bad(raw_safetensors(header(entry("w", "F32", "[0]", "[8,4]")), 8),
             "safetensors-offsets", "w");  // begin after end
  expect_bad(raw_safetensors(header(entry("w", "F32", "[1]", "[-4,0]")), 8),
             "safetensors-offsets", "w");
  expect_bad(raw_safetensors(header(entry("w", "F32", "[1]", "[18446744073709551612,0]")), 8),
             "safetensors-offsets", "w");
}

TEST(SafetensorsBadInput, UnknownDtype) {
  const auto d = expect_error(
      [&] {
        SafetensorsFile::from_bytes(raw_safetensors(header(entry("w", "F12", "[1]", "[0,4]")), 4),
                                    kFile);
      },
      "safetensors-dtype");
  EXPECT_EQ(d.got, "F12");
  expect_bad(raw_safetensors(header(entry("w", "F12", "[1]", "[0,4]")), 4), "safetensors-dtype", "w");
  expect_bad(raw_safetensors(header(entry("w", "f32", "[1]", "[0,4]")), 4), "safetensors-dtype", "w");
}

TEST(SafetensorsBadInput, NegativeDimension) {
  expect_bad(raw_safetensors(header(entry("w", "F32", "[-1,4]", "[0,0]")), 0),
             "safetensors-shape", "w");
}

TEST(SafetensorsBadInput, OverflowingNumel) {
  // 2^40 * 2^40 overflows int64; 2^62 * 4 bytes overflows the byte count.
  expect_bad(raw_safetensors(header(entry("w", "F32", "[1099511627776,1099511627776]", "[0,4]")), 4),
             "safetensors-shape", "w");
  expect_bad(raw_safetensors(header(entry("w", "F32", "[4611686018427387904]", "[0,4]")), 4),
             "safetensors-shape", "w");
  expect_bad(raw_safetensors(header(entry("w", "F32", "[18446744073709551615]", "[0,4]")), 4),
             "safetensors-shape", "w");
  // Empty, yet its strides would overflow: refused too.
  expect_bad(raw_safetensors(header(entry("w", "F32", "[0,1099511627776,1099511627776]", "[0,0]")), 0),
             "safetensors-shape", "w");
  expect_bad(raw_safetensors(header(entry("w", "F32", "[1.5]", "[0,4]")), 4),
             "safetensors-header", "w");
}

TEST(SafetensorsBadInput, ByteLengthNotDtypeTimesShape) {
  const auto d = expect_error(
      [&] {
        SafetensorsFile::from_bytes(raw_safetensors(header(entry("w", "BF16", "[3]", "[0,8]")), 8),
                                    kFile);
      },
      "safetensors-size");
  EXPECT_EQ(d.expected, "6 bytes (3 elements of 16 bits)");
  EXPECT_EQ(d.got, "8 bytes");
  expect_bad(raw_safetensors(header(entry("w", "BF16", "[3]", "[0,8]")), 8), "safetensors-size", "w");
  expect_bad(raw_safetensors(header(entry("w", "F4", "[3]", "[0,2]")), 2), "safetensors-size", "w");
}

TEST(SafetensorsBadInput, MessagesRenderWithFileAndTensor) {
  try {
    SafetensorsFile::from_bytes(raw_safetensors(header(entry("blk.w", "BF16", "[3]", "[0,8]")), 8),
                                kFile);
    FAIL();
  } catch (const diag::Error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("error[safetensors-size]"), std::string::npos) << text;
    EXPECT_NE(text.find("bad.safetensors: tensor 'blk.w'"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace symtrace::model
