// Helpers shared by the nn ops (linear, matmul, embedding, softmax, topk, reductions, norms,
// rotary, attention, scaled_mm, int_mm): constraint checks decided through the ShapeEnv,
// output metas, and the reference kernels' f64 input/output.
//
//   nn::Site site{cx.env, cx.op, "C2"};
//   nn::require_size(site, "x", x, -1, K);   // proven false: error[shape-mismatch] naming x,
//                                            // expected [B, S, K] got [B, S, K + 1];
//                                            // unknown: a recorded guard (env.require)
//   return {nn::contiguous_like(out_sizes, x.dtype, x)};
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/op/op_def.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/tensor.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::ops {
using sym::SymInt;
using tensor::DType;
using tensor::Isa;
using tensor::SymShape;
using tensor::Tensor;
using tensor::TensorMeta;
}  // namespace symtrace::ops

namespace symtrace::ops::nn {

// Where a check runs: the env deciding it, the op, and the constraint label ("C2").
struct Site {
  sym::ShapeEnv& env;
  std::string_view op;
  std::string_view constraint = {};
  Site at(std::string_view c) const { return {env, op, c}; }
};

// Throws diag::Error with the site's op and constraint; `symbols` get provenance notes.
[[noreturn]] void fail(const Site& site, std::string_view code, std::string_view arg,
                       std::string expected, std::string got, std::string message,
                       std::span<const SymInt> symbols = {}, std::string hint = {});

// Decides a == b. kFalse: nothing recorded (the caller reports). kUnknown: a guard recorded
// with `reason` (the env throws under a strict guard policy). kTrue: nothing to do.
sym::Truth require_eq(const Site& site, const SymInt& a, const SymInt& b, std::string reason);

// t.size(dim) == expected, else error[shape-mismatch] naming `arg`, with t's shape as got and
// the same shape with that dim replaced as expected.
void require_size(const Site& site, std::string_view arg, const TensorMeta& t, std::int64_t dim,
                  const SymInt& expected, std::string_view what = {});
inline constexpr std::int64_t kAnyRank = 64;  // "no upper bound" for require_rank

// t.dim() in [lo, hi], else error[shape-mismatch] with `form` ("[*, K]") as expected.
void require_rank(const Site& site, std::string_view arg, const TensorMeta& t, std::int64_t lo,
                  std::int64_t hi, std::string_view form);
// dtype in `allowed`, else error[dtype].
void require_dtype(const Site& site, std::string_view arg, const TensorMeta& t,
                   std::span<const DType> allowed);
void require_same_dtype(const Site& site, std::string_view arg, const TensorMeta& t,
                        std::string_view ref_arg, DType want);
bool is_float(DType d);  // f64, f32, f16, bf16 and the fp8 formats
bool is_integral(DType d);  // bool, u8, i8, i32, i64

// PyTorch dim wrapping (-1 is the last dim); out of range: error[dim] naming the argument.
std::int64_t wrap_dim(const Site& site, std::string_view arg, std::int64_t dim, std::int64_t rank);

// PyTorch broadcasting of two shapes, right-aligned: each pair of dims is equal or one of them
// is 1. A pair proven unequal with neither side 1 is error[shape-mismatch]; an undecided pair
// is guarded equal (as PyTorch's symbolic shapes do).
SymShape broadcast_shapes(const Site& site, std::string_view a_arg, const SymShape& a,
                          std::string_view b_arg, const SymShape& b);

// A fresh row-major output (OPS.md §0 stride rule) on the device of `like`.
TensorMeta contiguous_like(SymShape sizes, DType dtype, const TensorMeta& like);

// --- variant applicability --------------------------------------------------------------
// Can the leading dims of t be walked as rows [M, t.size(-1)] with unit inner stride, i.e. is
// t.stride(-1) == 1 (or size 1) and stride[i] == stride[i+1]·size[i+1] for i < rank-2?
op::Applicability rows_viewable(sym::ShapeEnv& env, const TensorMeta& t, std::string_view arg);
// The row stride of such a tensor (its size(-1) when it has no leading dims).
std::int64_t row_stride(const Tensor& t);
// numel / size(-1): the number of rows (M); 1 for a 1-D tensor.
std::int64_t rows(const Tensor& t);
op::Applicability dtype_is(const TensorMeta& t, std::string_view arg,
                           std::span<const DType> allowed);

// --- reference kernels --------------------------------------------------------------------
// Runs `fake` on the metas of a real call, so a reference kernel rejects exactly the calls the
// fake rejects (opcheck requires they agree) and knows the output sizes.
op::Outputs fake_of_real(const op::FakeFn& fake, const op::Args& real, std::string_view op);
// The concrete sizes of output `i` of such a fake call.
tensor::Shape out_sizes(const op::Outputs& fake_out, std::size_t i = 0);
// Every element in row-major logical order, exactly (through f64).
std::vector<double> read_f64(const Tensor& t);
// Writes values (row-major logical order) into a contiguous tensor, rounding once from f64 to
// its dtype (nearest even; integers truncate toward zero as a cast does; fp8 saturates only
// where the dtype's plain cast would).
void write_f64(Tensor& out, std::span<const double> values);

// --- tolerances ---------------------------------------------------------------------------
// One unit in the last place of `dtype` at magnitude |v| (0 for f64; f32/bf16/f16 include
// their subnormal spacing).
double ulp(DType dtype, double v);
// Elementwise check of a kernel output against the reference with a per-element bound:
// |got - ref| <= bound[i] + ulp(got.dtype(), ref) (the output's own rounding); NaN must match.
// Returns an error message naming the first bad element, or empty.
std::string compare_bounded(const Tensor& got, const Tensor& ref, std::span<const double> bound);
// OPS.md 15.7: the worst-case f32 summation bound for any order, (K + 2)·2^-24·sum.
inline double f32_sum_bound(std::int64_t K, double abs_sum) {
  return static_cast<double>(K + 2) * 0x1p-24 * abs_sum;
}

// v rounded once to dtype d and read back (f32/bf16/f16/fp8 nearest even; f64 unchanged),
// for references that state an intermediate rounding (OPS.md §11.2 rms_norm).
double round_to(DType d, double v);

// Samples: a tensor of the given sizes filled with seeded values in [lo, hi), optionally a
// non-contiguous view (the last two dims transposed in memory, or an every-other-row slice).
enum class Layout { kContiguous, kTransposedLast2, kStridedRows };
Tensor sample_tensor(tensor::Shape sizes, DType dtype, std::uint64_t seed, Layout layout = Layout::kContiguous,
                     float lo = -1.f, float hi = 1.f);

}  // namespace symtrace::ops::nn
