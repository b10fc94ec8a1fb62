// Test helpers for the quantized GEMM op folders (header-only; included by test.cpp files).
// A tiny safetensors reader for refdata (ops_tests cannot link symtrace_model, which sits
// above the ops in the dependency order), and the ISA paths every test walks.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include <symtrace/tensor/tensor.hpp>

#include "ops/common/quantizers_testing.hpp"

namespace symtrace::ops::testing {

// Every tensor of a safetensors file, copied into owned storage.
inline std::map<std::string, tensor::Tensor> read_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::uint64_t hlen = 0;
  std::memcpy(&hlen, bytes.data(), 8);
  const boost::json::object header =
      boost::json::parse(std::string_view(bytes.data() + 8, hlen)).as_object();
  std::map<std::string, tensor::Tensor> out;
  for (const auto& [name, v] : header) {
    if (name == "__metadata__") continue;
    const boost::json::object& o = v.as_object();
    const auto dt = tensor::dtype_from_safetensors(std::string(o.at("dtype").as_string()));
    if (!dt) throw std::runtime_error("unknown dtype in " + std::string(name));
    tensor::Shape shape;
    for (const auto& d : o.at("shape").as_array()) shape.push_back(d.to_number<std::int64_t>());
    const auto& off = o.at("data_offsets").as_array();
    const auto begin = off[0].to_number<std::size_t>(), end = off[1].to_number<std::size_t>();
    tensor::Tensor t = tensor::Tensor::empty(shape, *dt);
    if (t.nbytes() != end - begin)
      throw std::runtime_error("size mismatch in " + std::string(name));
    std::memcpy(t.data_ptr(), bytes.data() + 8 + hlen + begin, end - begin);
    out.emplace(std::string(name), std::move(t));
  }
  return out;
}

inline const std::map<std::string, tensor::Tensor>& gemm_vectors() {
  static const auto v =
      read_safetensors(std::string(SYMTRACE_REFDATA_DIR) + "/gemm_vectors.safetensors");
  return v;
}

// The SYMTRACE_ISA caps that reach every shipped path on this machine.
inline const std::vector<const char*>& isa_paths() {
  static const std::vector<const char*> v = {"avx512", "avx2", "scalar"};
  return v;
}

}  // namespace symtrace::ops::testing
