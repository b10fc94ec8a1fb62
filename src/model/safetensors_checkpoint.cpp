// SafetensorsCheckpoint: one file, model.safetensors in a directory, or the shards named by
// model.safetensors.index.json.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/safetensors.hpp>

namespace symtrace::model {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

inline constexpr std::string_view kIndexName = "model.safetensors.index.json";
inline constexpr std::string_view kSingleName = "model.safetensors";

[[noreturn]] void fail(std::string code, std::string_view file, std::string_view tensor_name,
                       std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.argument = std::string(tensor_name);
  d.message = fmt::format("{}: {}", file, message);
  d.notes.push_back(fmt::format("file: {}", file));
  throw diag::Error(std::move(d));
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("safetensors-io", p.string(), "", "cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A shard name must stay inside the checkpoint directory.
bool safe_relative(std::string_view s) {
  if (s.empty() || s.front() == '/') return false;
  const fs::path p{std::string(s)};
  return std::none_of(p.begin(), p.end(), [](const fs::path& c) { return c == ".."; });
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open(const fs::path& file_or_dir) {
  SafetensorsCheckpoint c;
  std::error_code ec;
  if (!fs::exists(file_or_dir, ec))
    fail("safetensors-io", file_or_dir.string(), "", "no such file or directory");

  auto add_file = [&](SafetensorsFile f) {
    const std::size_t idx = c.files_.size();
    for (const auto& t : f.tensors()) {
      auto [it, fresh] = c.where_.emplace(t.name, idx);
      if (!fresh)
        fail("duplicate-tensor", f.name(), t.name,
             fmt::format("tensor '{}' is also stored in {}", t.name, c.files_[it->second].name()));
    }
    c.files_.push_back(std::move(f));
  };

  if (!fs::is_directory(file_or_dir, ec)) {
    add_file(SafetensorsFile::open(file_or_dir));
    return c;
  }
  const fs::path index = file_or_dir / kIndexName;
  if (!fs::exists(index, ec)) {
    const fs::path single = file_or_dir / kSingleName;
    if (!fs::exists(single, ec))
      fail("safetensors-io", file_or_dir.string(), "",
           fmt::format("neither {} nor {} in the directory", kSingleName, kIndexName));
    add_file(SafetensorsFile::open(single));
    return c;
  }

  // Sharded: {"metadata": {...}, "weight_map": {tensor: shard file}}.
  c.sharded_ = true;
  const std::string idx_name = index.string();
  std::error_code jec;
  json::value root = json::parse(read_text(index), jec);
  if (jec) fail("safetensors-index", idx_name, "", fmt::format("not valid JSON ({})", jec.message()));
  const json::object* top = root.if_object();
  const json::value* wm = top ? top->if_contains("weight_map") : nullptr;
  if (wm == nullptr || !wm->is_object())
    fail("safetensors-index", idx_name, "", "missing \"weight_map\" object");

  std::map<std::string, std::vector<std::string>> by_shard;  // shard -> tensors, sorted
  for (const auto& kv : wm->get_object()) {
    if (!kv.value().is_string())
      fail("safetensors-index", idx_name, kv.key(), "weight_map value is not a file name");
    const std::string shard(kv.value().get_string());
    if (!safe_relative(shard))
      fail("safetensors-index", idx_name, kv.key(),
           fmt::format("shard name \"{}\" leaves the checkpoint directory", shard));
    by_shard[shard].emplace_back(kv.key());
  }
  for (const auto& [shard, names] : by_shard) {
    const fs::path p = file_or_dir / shard;
    if (!fs::exists(p, ec))
      fail("missing-shard", idx_name, names.front(),
           fmt::format("shard '{}' named for {} tensor(s) (first: '{}') does not exist", shard,
                       names.size(), names.front()));
    add_file(SafetensorsFile::open(p));
    const SafetensorsFile& f = c.files_.back();
    for (const auto& n : names)
      if (f.find(n) == nullptr)
        fail("missing-tensor", f.name(), n,
             fmt::format("tensor '{}' is mapped to this shard by {} but the shard lacks it", n,
                         kIndexName));
  }
  return c;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& kv : where_) out.push_back(kv.first);
  return out;
}

const TensorInfo* SafetensorsCheckpoint::find(std::string_view tensor_name) const {
  auto it = where_.find(tensor_name);
  return it == where_.end() ? nullptr : files_[it->second].find(tensor_name);
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(std::string_view tensor_name) const {
  auto it = where_.find(tensor_name);
  if (it == where_.end())
    fail("missing-tensor", files_.empty() ? "checkpoint" : files_.front().name(), tensor_name,
         fmt::format("no tensor '{}' in the checkpoint", tensor_name));
  return files_[it->second];
}

const TensorInfo& SafetensorsCheckpoint::info(std::string_view tensor_name) const {
  return file_of(tensor_name).info(tensor_name);
}

tensor::Tensor SafetensorsCheckpoint::tensor(std::string_view tensor_name) const {
  return file_of(tensor_name).tensor(tensor_name);
}

std::span<const std::byte> SafetensorsCheckpoint::bytes(std::string_view tensor_name) const {
  return file_of(tensor_name).bytes(tensor_name);
}

}  // namespace symtrace::model
