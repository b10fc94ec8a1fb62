// ops/common/quant — the QuantizedWeight bundle, ScaleSpec, and the scale-layout checks
// every quantized op's fake (and reference) runs. OPS.md §3 is the contract.
//
//   CheckSite site{cx.env, cx.op, "C3"};
//   QuantizedWeight w = bind_weight(site, "w", a.meta("w"), "w_scale", a.meta("w_scale"),
//                                   {Granularity::kBlock}, BlockShape{128, 128});
//   // w.N, w.K are the logical out/in features (by layout tag, never by shape);
//   // w.spec.granularity says which canonical shape the scale had.
//
// Every failure throws diag::Error with code "scale-layout" / "scale-dtype" / "scale-format"
// / "dtype" / "shape" / "layout", the argument name, expected vs got in symbols, the symbols'
// provenance and a hint. Decisions go through the ShapeEnv: a fact proven false is an
// error; an unknown one becomes a recorded guard (env.require), never a silent pass.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/dtype.hpp>
#include <symtrace/tensor/tensor.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

namespace symtrace::ops {

using sym::SymInt;
using tensor::DType;
using tensor::ScaleFormat;
using tensor::SymShape;
using tensor::TensorMeta;
using tensor::WeightLayout;

// How one scale value is shared (OPS.md §3 table).
enum class Granularity : std::uint8_t {
  kTensor,   // [1]
  kChannel,  // weight rows: [N,1] for NK, [1,N] for KN
  kToken,    // activation rows: [*,1]
  kGroup,    // activation 1×g along K: [*, cdiv(K,g)]
  kBlock,    // weight bn×bk: [cdiv(N,bn), cdiv(K,bk)] (NK) / transposed grid (KN)
};
std::string_view granularity_name(Granularity g);  // "per-tensor", "per-channel", ...

struct BlockShape {
  std::int64_t n = 128;  // bn
  std::int64_t k = 128;  // bk
};

// What a scale tensor is: granularity, block/group shape, element format, and the weight
// layout it binds to (a per-channel scale follows the weight's output-channel axis).
struct ScaleSpec {
  Granularity granularity = Granularity::kTensor;
  BlockShape block{1, 1};  // kBlock: bn×bk; kGroup: block.k = g
  ScaleFormat fmt = ScaleFormat::kF32;
  WeightLayout layout = WeightLayout::kNK;
  std::string str() const;  // "per-channel f32 (NK)", "block 128x128 f32 (NK)"
};

// Tags as they are meant (an untagged weight or scale is in the canonical NK / f32 form).
WeightLayout layout_of(const TensorMeta& t);
ScaleFormat scale_format_of(const TensorMeta& t);

// Where a check runs: the env that decides it, the op and the constraint label (OPS.md "C3")
// for the diagnostic.
struct CheckSite {
  sym::ShapeEnv& env;
  std::string_view op;
  std::string_view constraint;
  CheckSite with(std::string_view c) const { return {env, op, c}; }
};

// Everything a diagnostic needs besides the site; notes are filled from the env.
struct Violation {
  std::string code;
  std::string argument;
  std::string expected;
  std::string got;
  std::string message;
  std::string hint;
  std::vector<SymInt> symbols;  // whose provenance is listed
  bool proven = true;
};
Violation violation(std::string code, std::string argument, std::string expected, std::string got,
                    std::string message, std::string hint = {}, std::vector<SymInt> symbols = {});
[[noreturn]] void fail(const CheckSite& site, Violation v);

// Equality of two sizes through the env: kTrue / kFalse, or kUnknown after recording a guard
// with `reason` (env.require; under a strict policy the env throws). For classification
// without side effects use `site.env.decide(sym::eq(a, b))`.
sym::Truth require_eq(const CheckSite& site, const SymInt& a, const SymInt& b,
                      std::string_view reason);

// Sizes equal to `expected` (rank and every dim), else `code` with both shapes.
void require_shape(const CheckSite& site, std::string_view code, std::string_view arg,
                   const TensorMeta& t, const SymShape& expected, std::string_view hint = {});
void require_dtype(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                   std::initializer_list<DType> allowed);
void require_scale_dtype(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                         std::initializer_list<DType> allowed = {DType::kF32});
void require_scale_format(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                          std::initializer_list<ScaleFormat> allowed);
void require_layout(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                    std::initializer_list<WeightLayout> allowed);

// A weight plus its scale, checked as one unit (OPS.md §3 QWeight).
struct QuantizedWeight {
  std::string weight_name, scale_name;
  const TensorMeta* weight = nullptr;
  const TensorMeta* scale = nullptr;
  WeightLayout layout = WeightLayout::kNK;
  SymInt N, K;  // logical out_features / in_features
  ScaleSpec spec;
};

// Logical (N, K) of a 2-D NK or KN weight, by its tag. Packed layouts are op-specific:
// the op computes N and K itself and passes them to bind_weight.
std::pair<SymInt, SymInt> logical_nk(const CheckSite& site, std::string_view arg,
                                     const TensorMeta& weight);

// Checks `scale` against the weight (dtype f32, rank, shape per layout and granularity,
// layout tag equal to the weight's) and classifies it among `allowed`. N and K default to
// logical_nk(weight). Errors name `[N]` vs `[N, 1]`, `[1, N]` on an NK weight, transposed
// block grids, and mismatched layout tags.
QuantizedWeight bind_weight(const CheckSite& site, std::string_view weight_name,
                            const TensorMeta& weight, std::string_view scale_name,
                            const TensorMeta& scale, std::initializer_list<Granularity> allowed,
                            BlockShape block = {128, 128},
                            std::optional<std::pair<SymInt, SymInt>> nk = std::nullopt);

// Activation scale against x [*, K]: per-tensor [1], per-token x.sizes[:-1]+[1], per-group
// x.sizes[:-1]+[cdiv(K,g)]. Returns the granularity found (kToken wins over kTensor when
// the activation has M == 1 rows; the math is the same).
Granularity check_act_scale(const CheckSite& site, std::string_view arg, const TensorMeta& scale,
                            const TensorMeta& x, std::initializer_list<Granularity> allowed,
                            std::int64_t group = 128);

// The activation's last dim must equal the weight's K.
void require_k_match(const CheckSite& site, std::string_view x_name, const TensorMeta& x,
                     const QuantizedWeight& w);

// Output meta of a GEMM-like op: x.sizes[:-1] + [N], contiguous (OPS.md §0 shape rule).
TensorMeta gemm_out_meta(const TensorMeta& x, const SymInt& N, DType dtype);

// Optional bias [N] of one of the allowed dtypes.
void check_bias(const CheckSite& site, std::string_view arg, const TensorMeta* bias,
                const SymInt& N, std::initializer_list<DType> allowed);

// ---- real side --------------------------------------------------------------------------

// Per-output-channel scale read from a [1], [N,1] or [1,N] f32 tensor (stride 0 for per-tensor).
struct ChannelScale {
  const float* data = nullptr;
  std::int64_t stride = 0;
  float operator[](std::int64_t n) const { return data[n * stride]; }
};
ChannelScale channel_scale(const tensor::Tensor& scale);

// Per-row (token) scale of an activation [*, K] flattened to M rows: [1] or [*, 1].
struct RowScale {
  const float* data = nullptr;
  std::int64_t stride = 0;
  float operator[](std::int64_t m) const { return data[m * stride]; }
};
RowScale row_scale(const tensor::Tensor& scale);

// Rows of x [*, K] viewed as [M, K] with row stride (OPS.md §0: leading dims must be viewable);
// diag::Error "layout" when they are not (kernels never reshape silently).
struct RowsView {
  const std::byte* data = nullptr;
  std::int64_t M = 0, K = 0;
  std::int64_t row_stride = 0;  // in elements
};
RowsView rows_view(const tensor::Tensor& x, std::string_view arg);
std::int64_t leading_numel(const tensor::Tensor& x);  // M = prod(x.sizes[:-1])

}  // namespace symtrace::ops
