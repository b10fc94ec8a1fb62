// safetensors reader: header validation (the fuzzed parser), lazy read-only mmap, views.
#include <symtrace/model/safetensors.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <string>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::model {

namespace json = boost::json;
using tensor::DType;

namespace {

[[noreturn]] void fail(std::string code, std::string_view file, std::string_view tensor_name,
                       std::string message, std::string expected = {}, std::string got = {}) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.argument = std::string(tensor_name);
  d.message = tensor_name.empty()
                  ? fmt::format("{}: {}", file, message)
                  : fmt::format("{}: tensor '{}': {}", file, tensor_name, message);
  d.expected = std::move(expected);
  d.got = std::move(got);
  d.notes.push_back(fmt::format("file: {}", file));
  throw diag::Error(std::move(d));
}

std::string errno_text() { return std::strerror(errno); }

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

// Checked a * b in uint64; false on overflow.
bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

std::string dims_str(const std::vector<std::int64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

// One tensor entry of the header: {"dtype": str, "shape": [int...], "data_offsets": [b, e]}.
TensorInfo parse_entry(std::string_view file, std::string_view name, const json::value& v,
                       std::uint64_t data_size) {
  TensorInfo t;
  t.name = std::string(name);
  const json::object* o = v.if_object();
  if (o == nullptr) fail("safetensors-header", file, name, "entry is not a JSON object");

  const json::value* dt = o->if_contains("dtype");
  if (dt == nullptr || !dt->is_string())
    fail("safetensors-header", file, name, "missing or non-string \"dtype\"");
  t.dtype_code = std::string(dt->get_string());
  auto dtype = tensor::dtype_from_safetensors(t.dtype_code);
  if (!dtype)
    fail("safetensors-dtype", file, name, fmt::format("unknown dtype \"{}\"", t.dtype_code),
         "one of F8_E4M3 F8_E5M2 F8_E8M0 U8 I8 BF16 F16 F32 F64 I32 I64 BOOL", t.dtype_code);
  t.dtype = *dtype;

  const json::value* sh = o->if_contains("shape");
  if (sh == nullptr || !sh->is_array())
    fail("safetensors-header", file, name, "missing or non-array \"shape\"");
  std::uint64_t span = 1;  // prod(max(dim, 1)): bounds the strides even when numel is 0
  bool overflow = false, empty = false;
  for (const json::value& d : sh->get_array()) {
    std::int64_t dim = 0;
    if (d.is_int64()) {
      dim = d.get_int64();
      if (dim < 0)
        fail("safetensors-shape", file, name, "negative dimension in shape", "sizes >= 0",
             json::serialize(*sh));
    } else if (d.is_uint64()) {  // > INT64_MAX
      fail("safetensors-shape", file, name, "dimension does not fit in int64",
           "sizes < 2^63", json::serialize(*sh));
    } else {
      fail("safetensors-header", file, name, "shape holds a non-integer", "integers",
           json::serialize(*sh));
    }
    t.shape.push_back(dim);
    empty = empty || dim == 0;
    if (!overflow)
      overflow = mul_overflows(span, static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 1)),
                               &span);
  }
  // A zero dim makes numel 0, yet the other dims still set the strides: reject shapes whose
  // strides would overflow even when they hold no element.
  if (overflow || span > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    fail("safetensors-shape", file, name, "number of elements overflows int64",
         "numel < 2^63", dims_str(t.shape));
  const std::uint64_t numel = empty ? 0 : span;
  t.numel = numel;

  const json::value* off = o->if_contains("data_offsets");
  if (off == nullptr || !off->is_array() || off->get_array().size() != 2)
    fail("safetensors-header", file, name, "\"data_offsets\" must be an array of two integers");
  std::uint64_t be[2];
  for (int i = 0; i < 2; ++i) {
    const json::value& x = off->get_array()[i];
    if (x.is_int64() && x.get_int64() >= 0) {
      be[i] = static_cast<std::uint64_t>(x.get_int64());
    } else if (x.is_uint64()) {
      be[i] = x.get_uint64();
    } else {
      fail("safetensors-offsets", file, name, "data_offsets must be non-negative integers",
           "[begin, end] >= 0", json::serialize(*off));
    }
  }
  t.begin = be[0];
  t.end = be[1];
  if (t.begin > t.end)
    fail("safetensors-offsets", file, name, "data_offsets begin after end", "begin <= end",
         json::serialize(*off));
  if (t.end > data_size)
    fail("safetensors-offsets", file, name,
         fmt::format("data_offsets reach outside the data area of {} bytes", data_size),
         fmt::format("end <= {}", data_size), fmt::format("end = {}", t.end));

  // Sizes count logical elements; packed 4-bit types hold two per byte (safetensors "F4").
  const int bits = tensor::info(t.dtype).bits;
  std::uint64_t total_bits = 0;
  if (mul_overflows(numel, static_cast<std::uint64_t>(bits), &total_bits))
    fail("safetensors-shape", file, name, "byte size overflows", "numel * element size < 2^64",
         dims_str(t.shape));
  if (total_bits % 8 != 0)
    fail("safetensors-size", file, name,
         fmt::format("{} elements of {} bits do not fill whole bytes", numel, bits),
         "numel * bits % 8 == 0", fmt::format("{} bits", total_bits));
  const std::uint64_t want = total_bits / 8;
  if (want != t.end - t.begin)
    fail("safetensors-size", file, name,
         fmt::format("byte length does not match {} {}", t.dtype_code, dims_str(t.shape)),
         fmt::format("{} bytes ({} elements of {} bits)", want, numel, bits),
         fmt::format("{} bytes", t.end - t.begin));
  return t;
}

}  // namespace

std::string TensorInfo::shape_str() const { return dims_str(shape); }

std::string_view safetensors_code(DType d) { return tensor::info(d).safetensors; }

std::vector<TensorInfo> parse_safetensors_header(std::span<const std::byte> prefix,
                                                 std::uint64_t file_size, std::string_view file,
                                                 std::map<std::string, std::string>* metadata) {
  if (file_size < 8 || prefix.size() < 8)
    fail("safetensors-header", file, "",
         fmt::format("file of {} bytes is too short for the 8-byte header length", file_size),
         ">= 8 bytes", fmt::format("{} bytes", file_size));
  const std::uint64_t n = read_u64_le(prefix.data());
  if (n > file_size - 8)
    fail("safetensors-header", file, "", "header length reaches beyond the end of the file",
         fmt::format("<= {} (file size - 8)", file_size - 8), fmt::format("{}", n));
  if (n > kMaxSafetensorsHeader)
    fail("safetensors-header", file, "", "header is larger than the format allows",
         fmt::format("<= {} bytes", kMaxSafetensorsHeader), fmt::format("{} bytes", n));
  if (n + 8 > prefix.size())
    fail("safetensors-header", file, "", "header was not read completely (truncated read)");
  const std::string_view text(reinterpret_cast<const char*>(prefix.data()) + 8,
                              static_cast<std::size_t>(n));

  json::parse_options opt;
  opt.max_depth = 8;  // object -> entry -> shape array; anything deeper is not a header
  std::error_code ec;
  json::value root = json::parse(text, ec, {}, opt);
  if (ec)
    fail("safetensors-header", file, "", fmt::format("header is not valid JSON ({})", ec.message()));
  json::object* top = root.if_object();
  if (top == nullptr) fail("safetensors-header", file, "", "header is not a JSON object");

  const std::uint64_t data_size = file_size - 8 - n;
  std::vector<TensorInfo> out;
  out.reserve(top->size());
  for (const auto& kv : *top) {
    if (kv.key() == "__metadata__") {
      const json::object* m = kv.value().if_object();
      if (m == nullptr) fail("safetensors-header", file, "", "__metadata__ is not an object");
      for (const auto& mk : *m) {
        if (!mk.value().is_string())
          fail("safetensors-header", file, "",
               fmt::format("__metadata__ value of \"{}\" is not a string", std::string_view(mk.key())));
        if (metadata != nullptr)
          (*metadata)[std::string(mk.key())] = std::string(mk.value().get_string());
      }
      continue;
    }
    out.push_back(parse_entry(file, kv.key(), kv.value(), data_size));
  }

  // Ranges must not overlap (empty ranges overlap nothing). Holes are tolerated.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : out)
    if (t.end > t.begin) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& a = *by_offset[i - 1];
    const TensorInfo& b = *by_offset[i];
    if (b.begin < a.end)
      fail("safetensors-offsets", file, b.name,
           fmt::format("data_offsets [{}, {}) overlap those of tensor '{}' [{}, {})", b.begin,
                       b.end, a.name, a.begin, a.end),
           fmt::format("begin >= {}", a.end), fmt::format("begin = {}", b.begin));
  }
  // Duplicate keys: Boost.JSON keeps one value per key, so out holds unique names.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

// ---------------------------------------------------------------------------------------------

struct SafetensorsFile::Mapping {
  std::once_flag once;
  const std::byte* base = nullptr;  // whole file
  std::size_t size = 0;
  std::shared_ptr<void> keepalive;  // munmap or the owned buffer
};

void SafetensorsFile::parse_header(std::span<const std::byte> prefix) {
  tensors_ = parse_safetensors_header(prefix, file_size_, name_, &metadata_);
  data_offset_ = 8 + read_u64_le(prefix.data());
  for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile f;
  f.name_ = path.string();
  f.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("safetensors-io", f.name_, "", fmt::format("cannot open: {}", errno_text()));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("safetensors-io", f.name_, "", errno_text());
  if (!S_ISREG(st.st_mode)) fail("safetensors-io", f.name_, "", "not a regular file");
  f.file_size_ = static_cast<std::uint64_t>(st.st_size);

  auto read_at = [&](std::byte* dst, std::size_t len, std::uint64_t at) {
    std::size_t done = 0;
    while (done < len) {
      const ssize_t r = ::pread(fd, dst + done, len - done, static_cast<off_t>(at + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      done += static_cast<std::size_t>(r);
    }
    return true;
  };
  std::vector<std::byte> prefix(std::min<std::uint64_t>(8, f.file_size_));
  if (!read_at(prefix.data(), prefix.size(), 0))
    fail("safetensors-io", f.name_, "", "cannot read the header length");
  if (f.file_size_ >= 8) {
    const std::uint64_t n = read_u64_le(prefix.data());
    // Bounds are checked by the parser; read only what it may accept.
    if (n <= f.file_size_ - 8 && n <= kMaxSafetensorsHeader) {
      prefix.resize(8 + static_cast<std::size_t>(n));
      if (!read_at(prefix.data() + 8, static_cast<std::size_t>(n), 8))
        fail("safetensors-io", f.name_, "", "cannot read the header");
    }
  }
  f.parse_header(prefix);
  f.mapping_ = std::make_shared<Mapping>();
  return f;
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<std::byte> contents, std::string name) {
  SafetensorsFile f;
  f.name_ = std::move(name);
  f.file_size_ = contents.size();
  f.parse_header(contents);
  auto owned = std::make_shared<std::vector<std::byte>>(std::move(contents));
  f.mapping_ = std::make_shared<Mapping>();
  f.mapping_->base = owned->data();
  f.mapping_->size = owned->size();
  f.mapping_->keepalive = owned;
  std::call_once(f.mapping_->once, [] {});  // already mapped
  return f;
}

const SafetensorsFile::Mapping& SafetensorsFile::mapping() const {
  Mapping& m = *mapping_;
  std::call_once(m.once, [&] {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("safetensors-io", name_, "", fmt::format("cannot open: {}", errno_text()));
    struct stat st {};
    const bool ok = ::fstat(fd, &st) == 0;
    if (!ok || static_cast<std::uint64_t>(st.st_size) != file_size_) {
      ::close(fd);
      fail("safetensors-io", name_, "", "file changed size since its header was read",
           fmt::format("{} bytes", file_size_), fmt::format("{} bytes", ok ? st.st_size : -1));
    }
    void* p = ::mmap(nullptr, file_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) fail("safetensors-io", name_, "", fmt::format("mmap: {}", errno_text()));
    const std::size_t size = file_size_;
    m.keepalive = std::shared_ptr<void>(p, [size](void* q) { ::munmap(q, size); });
    m.base = static_cast<const std::byte*>(p);
    m.size = size;
  });
  return m;
}

const TensorInfo* SafetensorsFile::find(std::string_view tensor_name) const {
  auto it = index_.find(tensor_name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::info(std::string_view tensor_name) const {
  if (const TensorInfo* t = find(tensor_name)) return *t;
  fail("missing-tensor", name_, tensor_name, "no such tensor in the file");
}

std::span<const std::byte> SafetensorsFile::bytes(std::string_view tensor_name) const {
  const TensorInfo& t = info(tensor_name);
  const Mapping& m = mapping();
  // parse_header proved data_offset_ + end <= file_size_ == m.size.
  return {m.base + data_offset_ + t.begin, static_cast<std::size_t>(t.nbytes())};
}

tensor::Tensor SafetensorsFile::tensor(std::string_view tensor_name) const {
  const TensorInfo& t = info(tensor_name);
  std::span<const std::byte> b = bytes(tensor_name);
  const std::size_t elem = tensor::info(t.dtype).bytes;  // alignment unit (1 for packed f4)
  std::shared_ptr<tensor::Storage> s;
  if (reinterpret_cast<std::uintptr_t>(b.data()) % elem == 0) {
    s = tensor::Storage::borrow(const_cast<std::byte*>(b.data()), b.size(), mapping().keepalive,
                                /*read_only=*/true);
  } else {  // misaligned writer: typed loads through this pointer would be UB, so copy
    s = tensor::Storage::allocate(b.size());
    if (!b.empty()) std::memcpy(s->data(), b.data(), b.size());
  }
  std::vector<std::int64_t> strides(t.shape.size(), 1);
  for (std::size_t i = t.shape.size(); i-- > 1;)
    strides[i - 1] = strides[i] * std::max<std::int64_t>(t.shape[i], 1);
  return tensor::Tensor::from_storage(std::move(s), t.shape, std::move(strides), 0, t.dtype);
}

}  // namespace symtrace::model
