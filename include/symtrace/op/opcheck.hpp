// op::opcheck — proves an op's fake impl and kernels agree.
//
// For every sample (leading ranks 0..3, sizes 1, primes, non-multiples of blocks,
// non-contiguous inputs) it runs the fake on symbolic-free metas and every applicable
// kernel; output sizes, strides, storage offset and dtype must equal the fake exactly,
// values must match the reference within the op's tolerance, and error/no-error must
// agree between fake and reference.
#pragma once

#include <string>
#include <vector>

#include <symtrace/op/op_def.hpp>

namespace symtrace::op {

struct OpcheckFailure {
  std::string sample;   // sample label
  std::string kernel;   // "reference" or a variant name
  std::string message;  // names the op and both shapes on a fake mismatch
};

struct OpcheckReport {
  std::string op;
  std::size_t samples = 0;
  std::size_t kernel_runs = 0;
  std::vector<OpcheckFailure> failures;
  bool ok() const { return failures.empty(); }
  std::string str() const;
};

OpcheckReport opcheck(const OpDef& op, std::uint64_t seed = 0);

}  // namespace symtrace::op
