// SafetensorsWriter: the layout the Python library writes, so files of ours and of Hugging
// Face read back identically.
#include <algorithm>
#include <cstring>
#include <fstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/safetensors.hpp>

namespace symtrace::model {

namespace json = boost::json;
using tensor::DType;

namespace {

[[noreturn]] void fail(std::string code, std::string_view tensor_name, std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.argument = std::string(tensor_name);
  d.message = std::move(message);
  throw diag::Error(std::move(d));
}

std::uint64_t numel_of(std::string_view name, const std::vector<std::int64_t>& shape) {
  std::uint64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) fail("shape", name, fmt::format("tensor '{}': negative dimension", name));
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n))
      fail("shape", name, fmt::format("tensor '{}': numel overflows", name));
  }
  return n;
}

}  // namespace

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<std::int64_t> shape,
                            std::span<const std::byte> data) {
  if (safetensors_code(dtype).empty())
    fail("dtype", name,
         fmt::format("tensor '{}': {} has no safetensors dtype code", name, tensor::name(dtype)));
  if (name == "__metadata__") fail("shape", name, "'__metadata__' is not a tensor name");
  if (contains(name)) fail("duplicate-tensor", name, fmt::format("tensor '{}' added twice", name));
  const std::uint64_t numel = numel_of(name, shape);
  std::uint64_t bits = 0;
  const bool overflow =
      __builtin_mul_overflow(numel, static_cast<std::uint64_t>(tensor::info(dtype).bits), &bits);
  if (overflow || bits % 8 != 0 || bits / 8 != data.size())
    fail("shape", name,
         fmt::format("tensor '{}': {} bytes given for {} elements of {}", name, data.size(),
                     numel, tensor::name(dtype)));
  entries_.push_back(Entry{std::move(name), dtype, std::move(shape),
                           std::vector<std::byte>(data.begin(), data.end())});
}

void SafetensorsWriter::add(std::string name, const tensor::Tensor& t) {
  const tensor::Tensor c = t.contiguous();
  const auto* p = static_cast<const std::byte*>(c.data_ptr());
  add(std::move(name), c.dtype(), c.sizes(), std::span<const std::byte>(p, c.nbytes()));
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

bool SafetensorsWriter::contains(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; });
}

std::vector<std::byte> SafetensorsWriter::serialize() const {
  // Data order: larger elements first, then by name, so each tensor starts aligned to its
  // element size (the header is padded to 8).
  std::vector<const Entry*> order;
  for (const auto& e : entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    const auto sa = tensor::info(a->dtype).bytes, sb = tensor::info(b->dtype).bytes;
    return sa != sb ? sa > sb : a->name < b->name;
  });
  std::map<std::string_view, std::pair<std::uint64_t, std::uint64_t>> offsets;
  std::uint64_t at = 0;
  for (const Entry* e : order) {
    offsets[e->name] = {at, at + e->data.size()};
    at += e->data.size();
  }

  json::object header;
  if (!metadata_.empty()) {
    json::object m;
    for (const auto& [k, v] : metadata_) m[k] = v;
    header["__metadata__"] = std::move(m);
  }
  for (const Entry* e : order) {  // keys in data order, as the Python library writes them
    json::array shape;
    for (auto d : e->shape) shape.emplace_back(d);
    const auto [b, en] = offsets[e->name];
    header[e->name] = json::object{{"dtype", safetensors_code(e->dtype)},
                                   {"shape", std::move(shape)},
                                   {"data_offsets", json::array{b, en}}};
  }
  std::string text = json::serialize(header);
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<std::byte> out(8 + text.size() + at);
  std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::byte* data = out.data() + 8 + text.size();
  for (const Entry* e : order)
    if (!e->data.empty()) std::memcpy(data + offsets[e->name].first, e->data.data(), e->data.size());
  return out;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  const std::vector<std::byte> bytes = serialize();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("safetensors-io", "", fmt::format("{}: cannot open for writing", path.string()));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail("safetensors-io", "", fmt::format("{}: write failed", path.string()));
}

}  // namespace symtrace::model
