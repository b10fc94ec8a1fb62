// Internal to ops/cached_attention: the cache write and the attention call over cache views,
// shared by the reference (op.cpp) and the fast variants (variants.cpp).
#pragma once

#include <symtrace/op/op_def.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops::cached_attention_detail {

// Writes k and v into rows [past, past + S) of k_cache and v_cache (exact copies: one dtype).
void write_cache(const op::Args& a);

// The arguments of the equivalent `attention` call, bound to its schema: q against the first
// past + S rows of each cache, causal with q_offset = past, scale and window passed through.
std::vector<op::Value> attention_args(const op::Args& a);

// The fast variants: the cache write, then kernels::attention on the cache views.
std::vector<op::Variant> variants();

}  // namespace symtrace::ops::cached_attention_detail
