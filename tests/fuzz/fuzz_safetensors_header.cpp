// libFuzzer target: the safetensors header parser and the tensor views it hands out.
// Any input must end in a valid file or a diag::Error; anything else (a crash, a sanitizer
// report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/model/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size != 0) std::memcpy(bytes.data(), data, size);
  try {
    const auto f = symtrace::model::SafetensorsFile::from_bytes(std::move(bytes), "fuzz.safetensors");
    unsigned sum = 0;
    for (const auto& t : f.tensors()) {
      // Touch the first and last byte of every tensor: ASan proves they lie inside the file.
      const auto b = f.bytes(t.name);
      if (!b.empty()) sum += std::to_integer<unsigned>(b.front()) + std::to_integer<unsigned>(b.back());
      const auto v = f.tensor(t.name);
      sum += static_cast<unsigned>(v.numel());
    }
    (void)sum;
  } catch (const symtrace::diag::Error&) {
  }
  return 0;
}
