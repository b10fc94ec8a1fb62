// safetensors reader and writer: Hugging Face's files, round trips, shards.
#include <cmath>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <symtrace/model/safetensors.hpp>
#include <symtrace/tensor/dtype.hpp>

#include "tests/model/model_test_util.hpp"

namespace symtrace::model {
namespace {

using testing::expect_error;
using testing::raw_safetensors;
using testing::refdata;
using testing::ScratchDir;
using tensor::DType;

std::vector<std::byte> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

boost::json::object listing(const std::string& variant) {
  std::ifstream in(refdata() / "hf_tiny_llama.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str()).at("models").at("llama").at("written_by_transformers").at(variant).at("listing").as_object();
}

void expect_matches_listing(const SafetensorsFile& f, const boost::json::object& want) {
  ASSERT_EQ(f.tensors().size(), want.size());
  for (const auto& kv : want) {
    const TensorInfo* t = f.find(kv.key());
    ASSERT_NE(t, nullptr) << kv.key();
    EXPECT_EQ(t->dtype_code, kv.value().at(0).as_string()) << kv.key();
    std::vector<std::int64_t> shape;
    for (const auto& d : kv.value().at(1).as_array()) shape.push_back(d.as_int64());
    EXPECT_EQ(t->shape, shape) << kv.key();
  }
}

TEST(Safetensors, ReadsHuggingFaceBf16Checkpoint) {
  const auto f = SafetensorsFile::open(refdata() / "hf-tiny-llama" / "model.safetensors");
  expect_matches_listing(f, listing("bf16"));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.info("lm_head.weight").dtype, DType::kBF16);
}

TEST(Safetensors, ReadsHuggingFaceFp8Checkpoint) {
  const auto f = SafetensorsFile::open(refdata() / "hf-tiny-llama-fp8" / "model.safetensors");
  expect_matches_listing(f, listing("fp8"));
  const TensorInfo& w = f.info("model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(w.dtype, DType::kF8E4M3FN);
  EXPECT_EQ(w.numel, 256u * 512u);
  EXPECT_EQ(f.info("model.layers.0.mlp.down_proj.weight_scale_inv").shape,
            (std::vector<std::int64_t>{2, 4}));
}

TEST(Safetensors, TensorIsReadOnlyViewOfTheMapping) {
  const auto path = refdata() / "hf-tiny-llama-fp8" / "model.safetensors";
  const auto f = SafetensorsFile::open(path);
  const std::vector<std::byte> file = read_file(path);
  const TensorInfo& info = f.info("model.layers.1.self_attn.k_proj.weight_scale_inv");
  const tensor::Tensor t = f.tensor(info.name);
  EXPECT_TRUE(t.storage()->read_only());
  EXPECT_EQ(t.sizes(), (tensor::Shape{1, 2}));
  EXPECT_TRUE(t.is_contiguous());
  float want[2];
  std::memcpy(want, file.data() + f.data_offset() + info.begin, sizeof want);
  const auto got = t.to_f32();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], want[0]);
  EXPECT_EQ(got[1], want[1]);
  // refdata README: transformers 5.17 stored every scale as 0.0625/448.
  EXPECT_FLOAT_EQ(got[0], 0.0625f / 448.f);
  // The view outlives the file object: the mapping is kept alive by the storage.
  tensor::Tensor kept;
  {
    const auto g = SafetensorsFile::open(path);
    kept = g.tensor("model.norm.weight");
  }
  EXPECT_EQ(kept.to_f32().size(), 256u);
}

TEST(Safetensors, WriterReproducesHuggingFaceFileByteForByte) {
  for (const char* dir : {"hf-tiny-llama", "hf-tiny-llama-fp8"}) {
    const auto path = refdata() / dir / "model.safetensors";
    const auto f = SafetensorsFile::open(path);
    SafetensorsWriter w;
    for (const auto& [k, v] : f.metadata()) w.set_metadata(k, v);
    for (const auto& t : f.tensors()) w.add(t.name, t.dtype, t.shape, f.bytes(t.name));
    const auto ours = w.serialize(), theirs = read_file(path);
    ASSERT_EQ(ours.size(), theirs.size()) << dir;
    const auto diff = std::mismatch(ours.begin(), ours.end(), theirs.begin());
    EXPECT_TRUE(diff.first == ours.end())
        << dir << ": first difference at byte " << (diff.first - ours.begin()) << ": "
        << std::string(reinterpret_cast<const char*>(&*diff.first), 40) << " vs "
        << std::string(reinterpret_cast<const char*>(&*diff.second), 40);
  }
}

TEST(Safetensors, WriterRoundTripsEveryDtype) {
  SafetensorsWriter w;
  const std::vector<std::pair<DType, std::vector<std::int64_t>>> cases{
      {DType::kF64, {3}},      {DType::kF32, {2, 3}},   {DType::kF16, {5}},
      {DType::kBF16, {1, 7}},  {DType::kF8E4M3FN, {9}}, {DType::kF8E5M2, {2, 2}},
      {DType::kF8E8M0FNU, {3}}, {DType::kF4E2M1X2, {4, 6}}, {DType::kI64, {2}},
      {DType::kI32, {3}},      {DType::kI8, {7}},       {DType::kU8, {0, 4}},
      {DType::kBool, {}}};
  std::map<std::string, std::vector<std::byte>> data;
  for (const auto& [dt, shape] : cases) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    std::vector<std::byte> b(n * static_cast<std::size_t>(tensor::info(dt).bits) / 8);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>((i * 37 + 11) & 0x7F);
    const std::string name = std::string(tensor::name(dt));
    w.add(name, dt, shape, b);
    data[name] = b;
  }
  w.set_metadata("format", "pt");
  ScratchDir dir;
  w.write(dir / "x.safetensors");
  for (const auto& f : {SafetensorsFile::from_bytes(w.serialize(), "mem"),
                        SafetensorsFile::open(dir / "x.safetensors")}) {
    ASSERT_EQ(f.tensors().size(), cases.size());
    EXPECT_EQ((f.data_offset() - 8) % 8, 0u);
    for (const auto& [dt, shape] : cases) {
      const std::string name(tensor::name(dt));
      const TensorInfo& t = f.info(name);
      EXPECT_EQ(t.dtype, dt);
      EXPECT_EQ(t.shape, shape);
      EXPECT_EQ(t.begin % tensor::info(dt).bytes, 0u) << name << " is not aligned";
      const auto b = f.bytes(name);
      EXPECT_TRUE(std::equal(b.begin(), b.end(), data[name].begin(), data[name].end())) << name;
    }
  }
}

TEST(Safetensors, WriterTakesTensorsInAnyLayout) {
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  const tensor::Tensor t = tensor::Tensor::from_f32({2, 3}, v, DType::kBF16);
  SafetensorsWriter w;
  w.add("t", t);
  w.add("tt", t.transpose(0, 1));  // a strided view is written row-major
  const auto f = SafetensorsFile::from_bytes(w.serialize(), "mem");
  EXPECT_EQ(f.tensor("t").to_f32(), v);
  EXPECT_EQ(f.info("tt").shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(f.tensor("tt").to_f32(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(Safetensors, WriterRejectsWrongByteCount) {
  SafetensorsWriter w;
  std::vector<std::byte> b(5);
  expect_error([&] { w.add("x", DType::kF32, {2}, b); }, "shape");
  expect_error([&] { w.add("x", DType::kF8E4M3FNUZ, {5}, b); }, "dtype");
}

TEST(Safetensors, MisalignedTensorIsCopiedNotReadUnaligned) {
  // A writer that does not sort by alignment: an F32 tensor at byte offset 2.
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})";
  std::vector<std::byte> bytes = raw_safetensors(header, 10);
  const float v[2] = {1.5f, -2.25f};
  std::memcpy(bytes.data() + 8 + header.size() + 2, v, sizeof v);
  const auto f = SafetensorsFile::from_bytes(bytes, "mem");
  const auto t = f.tensor("b");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data_ptr()) % alignof(float), 0u);
  EXPECT_EQ(t.to_f32(), (std::vector<float>{1.5f, -2.25f}));
}

TEST(Safetensors, ZeroSizeTensorsAreValid) {
  const std::string header =
      R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
      R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})";
  const auto f = SafetensorsFile::from_bytes(raw_safetensors(header, 4), "mem");
  EXPECT_EQ(f.info("e").numel, 0u);
  EXPECT_EQ(f.info("s").numel, 1u);
  EXPECT_EQ(f.tensor("e").numel(), 0);
}

// ---- sharded checkpoints -------------------------------------------------------------------

void write_shards(const ScratchDir& dir) {
  std::vector<std::byte> b(8, std::byte{1});
  SafetensorsWriter a, c;
  a.add("model.embed_tokens.weight", DType::kF32, {2}, b);
  c.add("lm_head.weight", DType::kF32, {2}, b);
  a.write(dir / "model-00001-of-00002.safetensors");
  c.write(dir / "model-00002-of-00002.safetensors");
}

TEST(Safetensors, OpensShardedCheckpointThroughIndex) {
  ScratchDir dir;
  write_shards(dir);
  dir.write("model.safetensors.index.json",
            std::string(R"({"metadata":{"total_size":16},"weight_map":{)"
                        R"("model.embed_tokens.weight":"model-00001-of-00002.safetensors",)"
                        R"("lm_head.weight":"model-00002-of-00002.safetensors"}})"));
  const auto c = SafetensorsCheckpoint::open(dir.path());
  EXPECT_TRUE(c.sharded());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.names(), (std::vector<std::string>{"lm_head.weight", "model.embed_tokens.weight"}));
  EXPECT_NE(c.file_of("lm_head.weight").name().find("00002"), std::string::npos);
  EXPECT_EQ(c.tensor("lm_head.weight").numel(), 2);
}

TEST(Safetensors, IndexNamingMissingShardIsAnError) {
  ScratchDir dir;
  write_shards(dir);
  dir.write("model.safetensors.index.json",
            std::string(R"({"weight_map":{"model.embed_tokens.weight":"model-00001-of-00002.safetensors",)"
                        R"("lm_head.weight":"model-00003-of-00003.safetensors"}})"));
  const auto d = expect_error([&] { SafetensorsCheckpoint::open(dir.path()); }, "missing-shard");
  EXPECT_NE(d.message.find("model-00003-of-00003.safetensors"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("lm_head.weight"), std::string::npos) << d.message;
  EXPECT_EQ(d.argument, "lm_head.weight");
}

TEST(Safetensors, IndexNamingTensorAbsentFromItsShard) {
  ScratchDir dir;
  write_shards(dir);
  dir.write("model.safetensors.index.json",
            std::string(R"({"weight_map":{"lm_head.weight":"model-00001-of-00002.safetensors"}})"));
  const auto d = expect_error([&] { SafetensorsCheckpoint::open(dir.path()); }, "missing-tensor");
  EXPECT_EQ(d.argument, "lm_head.weight");
}

TEST(Safetensors, IndexShardOutsideDirectoryIsRefused) {
  ScratchDir dir;
  dir.write("model.safetensors.index.json",
            std::string(R"({"weight_map":{"w":"../../etc/passwd"}})"));
  expect_error([&] { SafetensorsCheckpoint::open(dir.path()); }, "safetensors-index");
  dir.write("model.safetensors.index.json", std::string("{not json"));
  expect_error([&] { SafetensorsCheckpoint::open(dir.path()); }, "safetensors-index");
}

TEST(Safetensors, SameTensorInTwoShardsIsAnError) {
  ScratchDir dir;
  std::vector<std::byte> b(4);
  SafetensorsWriter a;
  a.add("w", DType::kF32, {1}, b);
  a.write(dir / "s1.safetensors");
  a.write(dir / "s2.safetensors");
  dir.write("model.safetensors.index.json",
            std::string(R"({"weight_map":{"w":"s1.safetensors","v":"s2.safetensors"}})"));
  expect_error([&] { SafetensorsCheckpoint::open(dir.path()); }, "duplicate-tensor");
}

TEST(Safetensors, DirectoryWithoutWeightsIsAnError) {
  ScratchDir dir;
  expect_error([&] { SafetensorsCheckpoint::open(dir.path()); }, "safetensors-io");
  expect_error([&] { SafetensorsCheckpoint::open(dir / "nope"); }, "safetensors-io");
}

TEST(Safetensors, OpensDirectoryWithSingleFile) {
  const auto c = SafetensorsCheckpoint::open(refdata() / "hf-tiny-llama");
  EXPECT_FALSE(c.sharded());
  EXPECT_EQ(c.size(), 21u);  // reference_logits.safetensors beside it is not a weight file
  EXPECT_EQ(c.find("nope"), nullptr);
  expect_error([&] { (void)c.info("nope"); }, "missing-tensor");
}

}  // namespace
}  // namespace symtrace::model
