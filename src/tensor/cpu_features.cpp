#include <symtrace/tensor/cpu_features.hpp>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <array>
#include <cstdlib>
#include <string_view>

namespace symtrace::tensor {
namespace {

int rank(Isa isa) {
  switch (isa) {
    case Isa::kNone: return 0;
    case Isa::kAvx2: return 1;
    case Isa::kAvx512: return 2;
    case Isa::kAvx512Vnni: return 3;
    case Isa::kAvx512Bf16: return 3;  // VNNI and BF16 are siblings on top of AVX-512
  }
  return 0;
}

#if defined(__x86_64__)
// Clang 14's __builtin_cpu_supports has no "f16c": ask CPUID leaf 1 directly.
bool has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & bit_F16C) != 0;
}
#endif

bool probe_hardware(Isa isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512dq");
  switch (isa) {
    case Isa::kNone: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512: return avx512;
    case Isa::kAvx512Vnni: return avx512 && __builtin_cpu_supports("avx512vnni");
    case Isa::kAvx512Bf16: return avx512 && __builtin_cpu_supports("avx512bf16");
  }
  return false;
#else
  return isa == Isa::kNone;
#endif
}

// CPUID traps to the hypervisor on virtual machines (tens of microseconds), and kernels ask
// per call: probe once.
bool hardware_has(Isa isa) {
  static const auto kHas = [] {
    std::array<bool, 5> has{};
    for (Isa i : {Isa::kNone, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvx512Bf16})
      has[static_cast<std::size_t>(i)] = probe_hardware(i);
    return has;
  }();
  return kHas.at(static_cast<std::size_t>(isa));
}

// Highest rank SYMTRACE_ISA allows (read per call: tests flip it with setenv).
int cap_from_env() {
  const char* v = std::getenv("SYMTRACE_ISA");
  if (v == nullptr) return 3;
  std::string_view s(v);
  if (s == "scalar" || s == "none") return 0;
  if (s == "avx2") return 1;
  return 3;  // "avx512" or anything else: no cap
}

}  // namespace

bool cpu_supports(Isa isa) { return rank(isa) <= cap_from_env() && hardware_has(isa); }

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kNone: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512_vnni";
    case Isa::kAvx512Bf16: return "avx512_bf16";
  }
  return "scalar";
}

Isa best_isa() {
  for (Isa i : {Isa::kAvx512Bf16, Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvx2})
    if (cpu_supports(i)) return i;
  return Isa::kNone;
}

}  // namespace symtrace::tensor
