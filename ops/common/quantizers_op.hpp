// Op-side plumbing shared by the quantize / dequantize / MoE / NVFP4 op folders: real calls
// validated by the op's own fake, outputs allocated exactly as the fake describes them,
// activations viewed as quantizer rows.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <symtrace/op/op_def.hpp>

#include "ops/common/quant.hpp"
#include "ops/common/quantizers.hpp"

namespace symtrace::ops::qop {

// Runs `fake` on the metas of a real call: the reference and every variant reject exactly
// what the fake rejects (opcheck compares error / no-error), and get the output metas.
op::Outputs fake_for_real(const op::Args& a, const op::FakeFn& fake);

// The concrete sizes of a meta (diag::InternalError if one is symbolic).
tensor::Shape concrete(const tensor::SymShape& s);

// Output `index` with the meta's sizes, dtype and strides. A non-contiguous meta (e.g. a
// column-major scale) is a strided view over an allocation of the same element count.
tensor::Tensor alloc_like(op::Allocator& alloc, std::size_t index, const tensor::TensorMeta& m);

// x [*, K] as quantizer rows (OPS.md §0: leading dims viewable as [M, K], stride(-1) == 1).
quant::Rows rows_of(const tensor::Tensor& x, std::string_view arg);

// Element offset of every row of x [*, K] (any strides; the reference kernels' indexing).
std::vector<std::int64_t> row_offsets(const tensor::Tensor& x);

// Fast variants need x's rows viewable as [M, K] with stride(-1) == 1 (OPS.md §0); decided
// on metas, so a variant that cannot take the layout is refused at selection time.
op::Applicability rows_applicable(const tensor::TensorMeta& x, const sym::ShapeEnv& env,
                                  std::string_view arg);

// Element i of a flat f32 / bf16 / f16 tensor, as f32.
inline float load(const tensor::Tensor& t, std::int64_t i) {
  return quant::load_f32(t.data_ptr(), t.dtype(), i);
}

// M = prod(x.sizes[:-1]) and the leading dims of a meta.
sym::SymInt leading_numel(const tensor::TensorMeta& x);
tensor::SymShape leading_dims(const tensor::TensorMeta& x);

// An argument value outside its allowed set (code "argument").
[[noreturn]] void bad_argument(const CheckSite& site, std::string_view arg, std::string expected,
                               std::string got, std::string message, std::string hint = {});

}  // namespace symtrace::ops::qop
