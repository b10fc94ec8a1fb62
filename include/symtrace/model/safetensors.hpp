// model::SafetensorsFile — validated safetensors headers, tensors as read-only mmap views.
//
//   auto ckpt = SafetensorsCheckpoint::open("hf-tiny-llama-fp8");   // file, dir or sharded dir
//   const TensorInfo& w = ckpt.info("model.layers.0.mlp.up_proj.weight");   // header only
//   tensor::Tensor t = ckpt.tensor(w.name);   // maps the file on first use, no copy
//
// Every defect of the header is a diag::Error whose message names the file and the tensor:
// codes safetensors-io, safetensors-header, safetensors-dtype, safetensors-shape,
// safetensors-offsets, safetensors-size, missing-shard, missing-tensor, duplicate-tensor.
// Nothing is ever read outside the file: the header is checked against the file size before
// any tensor view is made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/tensor/dtype.hpp>
#include <symtrace/tensor/tensor.hpp>

namespace symtrace::model {

// Largest header we accept (the safetensors format's own limit).
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100ull << 20;

struct TensorInfo {
  std::string name;
  std::string dtype_code;  // as written: "F8_E4M3"
  tensor::DType dtype = tensor::DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte range [begin, end) relative to the data area
  std::uint64_t end = 0;
  std::uint64_t numel = 0;

  std::uint64_t nbytes() const { return end - begin; }
  std::string shape_str() const;  // "[512, 256]"
};

// The safetensors dtype code of d ("" when the format has none, e.g. packed f4).
std::string_view safetensors_code(tensor::DType d);

class SafetensorsFile {
 public:
  // Reads and validates the header only; tensor data is mapped on the first tensor() call.
  static SafetensorsFile open(const std::filesystem::path& path);
  // A whole file held in memory (tests, fuzzing, files just written). `name` is used in
  // messages.
  static SafetensorsFile from_bytes(std::vector<std::byte> contents, std::string name);

  const std::string& name() const { return name_; }  // the path as given, for messages
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by name
  const TensorInfo* find(std::string_view tensor_name) const;
  const TensorInfo& info(std::string_view tensor_name) const;  // missing-tensor if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::uint64_t file_size() const { return file_size_; }
  std::uint64_t data_offset() const { return data_offset_; }  // 8 + header length

  // A read-only view of the tensor's bytes (contiguous, row-major). Shares the mapping; a
  // tensor whose bytes are not aligned to its element size is copied into aligned storage.
  tensor::Tensor tensor(std::string_view tensor_name) const;
  // The raw bytes of a tensor (inside the mapping), for scanning without a Tensor.
  std::span<const std::byte> bytes(std::string_view tensor_name) const;

 private:
  struct Mapping;
  SafetensorsFile() = default;
  void parse_header(std::span<const std::byte> prefix);
  const Mapping& mapping() const;

  std::string name_;
  std::filesystem::path path_;  // empty for in-memory files
  std::uint64_t file_size_ = 0;
  std::uint64_t data_offset_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  std::shared_ptr<Mapping> mapping_;  // set at open for in-memory files, lazily otherwise
};

// Parses and validates a header from a byte prefix of a file of `file_size` bytes (the prefix
// must hold at least the 8 length bytes; the JSON is read only if it lies inside the prefix).
// The fuzz target's entry point; SafetensorsFile::open uses the same code.
std::vector<TensorInfo> parse_safetensors_header(std::span<const std::byte> prefix,
                                                 std::uint64_t file_size, std::string_view file,
                                                 std::map<std::string, std::string>* metadata);

// All tensors of a checkpoint: a single .safetensors file, a directory with
// model.safetensors, or a directory with model.safetensors.index.json and its shards.
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open(const std::filesystem::path& file_or_dir);

  const std::vector<SafetensorsFile>& files() const { return files_; }
  std::vector<std::string> names() const;  // every tensor, sorted
  std::size_t size() const { return where_.size(); }
  const TensorInfo* find(std::string_view tensor_name) const;
  const TensorInfo& info(std::string_view tensor_name) const;  // missing-tensor if absent
  const SafetensorsFile& file_of(std::string_view tensor_name) const;
  tensor::Tensor tensor(std::string_view tensor_name) const;
  std::span<const std::byte> bytes(std::string_view tensor_name) const;
  bool sharded() const { return sharded_; }

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::size_t, std::less<>> where_;  // tensor name -> index in files_
  bool sharded_ = false;
};

// Writes safetensors files byte for byte as the Python library does: data ordered by (element
// alignment descending, name) so every tensor is aligned, header keys in that order after
// __metadata__, header padded with spaces to a multiple of 8.
class SafetensorsWriter {
 public:
  // Copies `data` (numel(shape) * element size bytes; diag::Error code "shape" otherwise).
  void add(std::string name, tensor::DType dtype, std::vector<std::int64_t> shape,
           std::span<const std::byte> data);
  void add(std::string name, const tensor::Tensor& t);  // any layout; written row-major
  void set_metadata(std::string key, std::string value);
  bool contains(std::string_view name) const;

  std::vector<std::byte> serialize() const;
  void write(const std::filesystem::path& path) const;  // safetensors-io on failure

 private:
  struct Entry {
    std::string name;
    tensor::DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> data;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace symtrace::model
