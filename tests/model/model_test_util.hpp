// Helpers shared by the model tests: hand-made safetensors bytes, scratch directories,
// expecting a diag::Error with a given code.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <symtrace/diag/diagnostic.hpp>

namespace symtrace::model::testing {

inline std::filesystem::path refdata() { return SYMTRACE_REFDATA_DIR; }

// 8-byte little-endian length + header + `data_bytes` bytes of payload (value i & 0xFF).
inline std::vector<std::byte> raw_safetensors(const std::string& header, std::size_t data_bytes,
                                              std::uint64_t declared_len = ~0ull) {
  const std::uint64_t n = declared_len == ~0ull ? header.size() : declared_len;
  std::vector<std::byte> out(8 + header.size() + data_bytes);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  std::memcpy(out.data() + 8, header.data(), header.size());
  for (std::size_t i = 0; i < data_bytes; ++i)
    out[8 + header.size() + i] = static_cast<std::byte>(i & 0xFF);
  return out;
}

// A fresh directory under the system temp dir, removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("symtrace-model-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  void write(const std::string& name, const std::vector<std::byte>& bytes) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
  }

 private:
  std::filesystem::path path_;
};

// Runs f, expects a diag::Error with `code`, returns its diagnostic for further checks.
template <class F>
diag::Diagnostic expect_error(F&& f, const std::string& code) {
  try {
    f();
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, code) << e.what();
    return e.diagnostic();
  }
  ADD_FAILURE() << "expected diag::Error with code " << code;
  return {};
}

template <class Findings>
int count_code(const Findings& fs, const std::string& code) {
  int n = 0;
  for (const auto& f : fs) n += f.code == code;
  return n;
}

}  // namespace symtrace::model::testing
