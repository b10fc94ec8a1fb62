// Run-time CPU dispatch: which instruction sets this process may use.
// SYMTRACE_ISA=scalar|avx2|avx512 caps the answer so tests can force every lower path.
#pragma once

#include <string_view>

namespace symtrace::tensor {

enum class Isa : unsigned char { kNone, kAvx2, kAvx512, kAvx512Vnni, kAvx512Bf16 };

// kNone is always supported. kAvx2 means AVX2+FMA+F16C; kAvx512 means F/BW/VL/DQ;
// kAvx512Vnni and kAvx512Bf16 add those extensions to kAvx512.
bool cpu_supports(Isa isa);
std::string_view isa_name(Isa isa);
// The best level allowed (after SYMTRACE_ISA), for messages and benchmark rows.
Isa best_isa();

}  // namespace symtrace::tensor
