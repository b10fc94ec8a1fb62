// Internal to ops/attention: what attention and scaled_dot_product_attention share — the
// problem in [batch, query, head, dim] index space, the f64 reference, the fast variants over
// kernels::attention, and the tolerance.
#pragma once

#include <array>
#include <functional>

#include <symtrace/op/op_def.hpp>
#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

void register_sdpa(op::Registry& r);  // sdpa.cpp

namespace attention_detail {

// Element strides index [b, s, h, d] (k, v: [b, t, h_kv, d]; out: [b, s, h, c]).
struct Problem {
  std::int64_t B = 1, S = 1, T = 1, Hq = 1, Hkv = 1, D = 1, Dv = 1;
  std::array<std::int64_t, 4> qs{}, ks{}, vs{}, os{};
  double scale = 1;
  bool causal = false;
  std::int64_t q_offset = 0;  // query i sees key j iff j <= i + q_offset (causal)
  std::int64_t window = 0;    // 0: none; else also j > i + q_offset - window
};

// The problem of a real call. actual_strides: the tensors' own strides (for kernels);
// otherwise the strides of their contiguous copies (for read_f64 in references and bounds).
using ProblemFn = std::function<Problem(const op::Args&, bool actual_strides)>;
Problem problem(const op::Args& attention_args, bool actual_strides = true);

// Hq % Hkv == 0, decided through the env (unknown: a guard).
void require_gqa(const nn::Site& site, const SymInt& Hq, const SymInt& Hkv);

// softmax(scale q·k + mask) · v in f64; values in the contiguous order of `os`. A query row
// that sees no key gives zeros.
std::vector<double> reference(const Problem& p, const Tensor& q, const Tensor& k, const Tensor& v);

// The fast variants (avx512, avx2) over kernels::attention. `extra` adds the op's own
// conditions (e.g. sdpa: no attn_mask); nullptr for none.
using Extra = std::function<op::Applicability(const op::Args&, sym::ShapeEnv&)>;
std::vector<op::Variant> variants(const std::string& op, ProblemFn problem, Extra extra);

// Bound on |kernel − reference| per output element: f32 score errors ((D + 2) ulps of
// scale·Σ|q·k|), softmax ((T + 32 + 2·|s − max|) ulps) and the P·V sum, all relative to Σ p|v|.
using CompareFn = std::function<std::string(const op::Args&, std::size_t, const Tensor&, const Tensor&)>;
CompareFn compare(ProblemFn problem);

}  // namespace attention_detail
}  // namespace symtrace::ops
