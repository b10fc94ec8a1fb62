#include "ops/common/quant.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace symtrace::ops {
namespace {

using sym::Truth;

std::string dims_str(const SymShape& s) { return tensor::shape_str(s); }

template <class T, class NameFn>
std::string list_str(std::initializer_list<T> xs, NameFn name) {
  std::string out;
  for (const T& x : xs) {
    if (!out.empty()) out += " or ";
    out += name(x);
  }
  return out;
}

bool contains(std::initializer_list<Granularity> xs, Granularity g) {
  return std::find(xs.begin(), xs.end(), g) != xs.end();
}

// Decide a whole shape against an expected one without recording anything.
Truth decide_shape(const sym::ShapeEnv& env, const SymShape& got, const SymShape& want) {
  if (got.size() != want.size()) return Truth::kFalse;
  Truth all = Truth::kTrue;
  for (std::size_t i = 0; i < got.size(); ++i)
    all = sym::truth_and(all, env.decide(sym::eq(got[i], want[i])));
  return all;
}

SymShape leading(const TensorMeta& x) {
  return SymShape(x.sizes.begin(), x.sizes.end() - (x.sizes.empty() ? 0 : 1));
}

}  // namespace

Violation violation(std::string code, std::string argument, std::string expected, std::string got,
                    std::string message, std::string hint, std::vector<SymInt> symbols) {
  Violation v;
  v.code = std::move(code);
  v.argument = std::move(argument);
  v.expected = std::move(expected);
  v.got = std::move(got);
  v.message = std::move(message);
  v.hint = std::move(hint);
  v.symbols = std::move(symbols);
  return v;
}

std::string_view granularity_name(Granularity g) {
  switch (g) {
    case Granularity::kTensor:
      return "per-tensor";
    case Granularity::kChannel:
      return "per-channel";
    case Granularity::kToken:
      return "per-token";
    case Granularity::kGroup:
      return "per-token-group";
    case Granularity::kBlock:
      return "block";
  }
  return "?";
}

std::string ScaleSpec::str() const {
  std::string g(granularity_name(granularity));
  if (granularity == Granularity::kBlock) g = fmt::format("block {}x{}", block.n, block.k);
  if (granularity == Granularity::kGroup) g = fmt::format("group 1x{}", block.k);
  return fmt::format("{} {} ({})", g, tensor::scale_format_name(fmt),
                     tensor::weight_layout_name(layout));
}

WeightLayout layout_of(const TensorMeta& t) {
  return t.layout == WeightLayout::kNone ? WeightLayout::kNK : t.layout;
}

ScaleFormat scale_format_of(const TensorMeta& t) {
  if (t.scale_fmt != ScaleFormat::kNone) return t.scale_fmt;
  switch (t.dtype) {
    case DType::kF8E8M0FNU:
      return ScaleFormat::kUE8M0;
    case DType::kI32:
      return ScaleFormat::kUE8M0Packed4;
    case DType::kF8E4M3FN:
      return ScaleFormat::kE4M3;
    default:
      return ScaleFormat::kF32;
  }
}

void fail(const CheckSite& site, Violation v) {
  diag::Diagnostic d;
  d.code = std::move(v.code);
  d.op = std::string(site.op);
  d.constraint = std::string(site.constraint);
  d.argument = std::move(v.argument);
  d.expected = std::move(v.expected);
  d.got = std::move(v.got);
  d.message = std::move(v.message);
  d.hint = std::move(v.hint);
  d.proven = v.proven;
  for (const SymInt& s : v.symbols) {
    if (s.is_concrete()) continue;
    for (std::string& line : site.env.provenance_notes(s.expr()))
      if (std::find(d.notes.begin(), d.notes.end(), line) == d.notes.end())
        d.notes.push_back(std::move(line));
  }
  throw diag::Error(std::move(d));
}

Truth require_eq(const CheckSite& site, const SymInt& a, const SymInt& b, std::string_view reason) {
  Truth t = site.env.decide(sym::eq(a, b));
  if (t != Truth::kUnknown) return t;
  return site.env.require(sym::eq(a, b),
                          fmt::format("{} {}: {}", site.op, site.constraint, reason));
}

void require_shape(const CheckSite& site, std::string_view code, std::string_view arg,
                   const TensorMeta& t, const SymShape& expected, std::string_view hint) {
  Violation v = violation(std::string(code), std::string(arg), dims_str(expected),
                          dims_str(t.sizes), {}, std::string(hint));
  v.symbols.insert(v.symbols.end(), expected.begin(), expected.end());
  v.symbols.insert(v.symbols.end(), t.sizes.begin(), t.sizes.end());
  if (t.sizes.size() != expected.size()) {
    v.message =
        fmt::format("{} has rank {}, expected rank {}", arg, t.sizes.size(), expected.size());
    fail(site, std::move(v));
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    std::string reason = fmt::format("{} dim {} == {}", arg, i, expected[i].str());
    if (require_eq(site, t.sizes[i], expected[i], reason) == Truth::kFalse) {
      v.message =
          fmt::format("{} dim {} is {}, expected {}", arg, i, t.sizes[i].str(), expected[i].str());
      fail(site, std::move(v));
    }
  }
}

void require_dtype(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                   std::initializer_list<DType> allowed) {
  if (std::find(allowed.begin(), allowed.end(), t.dtype) != allowed.end()) return;
  std::string want = list_str(allowed, [](DType d) { return std::string(tensor::name(d)); });
  fail(
      site,
      violation("dtype", std::string(arg), want, std::string(tensor::name(t.dtype)),
                fmt::format("{} has dtype {}, expected {}", arg, tensor::name(t.dtype), want), {}));
}

void require_scale_dtype(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                         std::initializer_list<DType> allowed) {
  if (std::find(allowed.begin(), allowed.end(), t.dtype) != allowed.end()) return;
  std::string want = list_str(allowed, [](DType d) { return std::string(tensor::name(d)); });
  fail(site, violation("scale-dtype", std::string(arg), want, std::string(tensor::name(t.dtype)),
                       fmt::format("scale {} has dtype {}, expected {}", arg, tensor::name(t.dtype),
                                   want),
                       "PyTorch _scaled_mm and CUTLASS require f32 scales (OPS.md §3 rule 4)"));
}

void require_scale_format(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                          std::initializer_list<ScaleFormat> allowed) {
  ScaleFormat f = scale_format_of(t);
  if (std::find(allowed.begin(), allowed.end(), f) != allowed.end()) return;
  std::string want =
      list_str(allowed, [](ScaleFormat x) { return std::string(tensor::scale_format_name(x)); });
  fail(site,
       violation("scale-format", std::string(arg), want, std::string(tensor::scale_format_name(f)),
                 fmt::format("scale {} has format {}, expected {}", arg,
                             tensor::scale_format_name(f), want),
                 "the variant's prepare step converts the scale format; a bundle prepared "
                 "for another variant cannot run here (OPS.md §13 rule 2)"));
}

void require_layout(const CheckSite& site, std::string_view arg, const TensorMeta& t,
                    std::initializer_list<WeightLayout> allowed) {
  WeightLayout l = layout_of(t);
  if (std::find(allowed.begin(), allowed.end(), l) != allowed.end()) return;
  std::string want =
      list_str(allowed, [](WeightLayout x) { return std::string(tensor::weight_layout_name(x)); });
  fail(site, violation("layout", std::string(arg), want, std::string(tensor::weight_layout_name(l)),
                       fmt::format("{} has layout tag {}, expected {}", arg,
                                   tensor::weight_layout_name(l), want),
                       {}));
}

std::pair<SymInt, SymInt> logical_nk(const CheckSite& site, std::string_view arg,
                                     const TensorMeta& weight) {
  require_layout(site, arg, weight, {WeightLayout::kNK, WeightLayout::kKN});
  if (weight.dim() != 2)
    fail(site, violation("shape", std::string(arg),
                         layout_of(weight) == WeightLayout::kNK ? "[N, K]" : "[K, N]",
                         weight.shape_str(), fmt::format("weight {} must be 2-D", arg), {}));
  if (layout_of(weight) == WeightLayout::kNK) return {weight.sizes[0], weight.sizes[1]};
  return {weight.sizes[1], weight.sizes[0]};
}

QuantizedWeight bind_weight(const CheckSite& site, std::string_view weight_name,
                            const TensorMeta& weight, std::string_view scale_name,
                            const TensorMeta& scale, std::initializer_list<Granularity> allowed,
                            BlockShape block, std::optional<std::pair<SymInt, SymInt>> nk) {
  QuantizedWeight w;
  w.weight_name = std::string(weight_name);
  w.scale_name = std::string(scale_name);
  w.weight = &weight;
  w.scale = &scale;
  w.layout = layout_of(weight);
  auto [N, K] = nk ? *nk : logical_nk(site, weight_name, weight);
  w.N = N;
  w.K = K;
  const bool kn = w.layout == WeightLayout::kKN;
  w.spec.layout = w.layout;
  w.spec.fmt = scale_format_of(scale);

  // OPS.md §14 item 2: a weight and its scale whose layout tags differ.
  if (layout_of(scale) != w.layout && scale.layout != WeightLayout::kNone)
    fail(site, violation("scale-layout", w.scale_name,
                         fmt::format("layout tag {} (that of {})",
                                     tensor::weight_layout_name(w.layout), weight_name),
                         fmt::format("layout tag {}", tensor::weight_layout_name(layout_of(scale))),
                         fmt::format("{} and its weight {} carry different layout tags", scale_name,
                                     weight_name),
                         "transpose weight and scale together in one prepare step"));
  if (kn && scale.layout == WeightLayout::kNone && scale.dim() == 2 &&
      !(scale.sizes.size() == 2 && site.env.decide(sym::eq(scale.sizes[0], 1)) == Truth::kTrue &&
        site.env.decide(sym::eq(scale.sizes[1], 1)) == Truth::kTrue))
    fail(site,
         violation(
             "scale-layout", w.scale_name, "layout tag KN (that of the weight)", "untagged (NK)",
             fmt::format("{} is KN but {} was not transposed with it", weight_name, scale_name),
             "transpose weight and scale together in one prepare step"));

  const SymShape per_tensor{1};
  const SymShape per_channel = kn ? SymShape{1, N} : SymShape{N, 1};
  const SymShape grid_nk{sym::ceildiv(N, block.n), sym::ceildiv(K, block.k)};
  const SymShape grid = kn ? SymShape{grid_nk[1], grid_nk[0]} : grid_nk;
  const sym::ShapeEnv& env = site.env;

  auto matched = [&](Granularity g, const SymShape& want) {
    if (!contains(allowed, g)) return false;
    Truth t = decide_shape(env, scale.sizes, want);
    if (t == Truth::kFalse) return false;
    // A symbolic dim where the form needs a unit dim is another layout, not a guard: [N]
    // must not pass as per-tensor [1] under "N == 1" (the Quark 1-D scale bug).
    if (t == Truth::kUnknown) {
      for (std::size_t i = 0; i < want.size(); ++i)
        if (want[i].identical(sym::SymInt(1)) && scale.sizes[i].is_symbolic()) return false;
    }
    // Unknown otherwise: accept under a recorded guard for each dim.
    require_shape(site, "scale-layout", scale_name, scale, want);
    w.spec.granularity = g;
    return true;
  };
  require_scale_dtype(site, scale_name, scale,
                      {DType::kF32});  // i32/ue8m0 packed formats are bound by their ops
  if (contains(allowed, Granularity::kBlock)) {
    w.spec.block = block;
    if (matched(Granularity::kBlock, grid)) return w;
  }
  if (matched(Granularity::kTensor, per_tensor)) return w;
  if (matched(Granularity::kChannel, per_channel)) return w;

  // No canonical form matched: say precisely what was seen.
  Violation v = violation("scale-layout", w.scale_name, {}, {}, {});
  v.symbols = {N, K};
  v.got = dims_str(scale.sizes);
  std::vector<std::string> wants;
  for (Granularity g : allowed) {
    if (g == Granularity::kTensor) wants.push_back(dims_str(per_tensor));
    if (g == Granularity::kChannel) wants.push_back(dims_str(per_channel));
    if (g == Granularity::kBlock) wants.push_back(dims_str(grid));
  }
  for (const std::string& s : wants) v.expected += (v.expected.empty() ? "" : " or ") + s;
  v.message = fmt::format(
      "{} of weight {} ({} [N={}, K={}]) is not {}", scale_name, weight_name,
      tensor::weight_layout_name(w.layout), N.str(), K.str(),
      list_str(allowed, [](Granularity g) { return std::string(granularity_name(g)); }));
  if (scale.dim() == 0) {
    v.hint = "a 0-d per-tensor scale must be stored as [1]; the loader normalizes it";
  } else if (scale.dim() == 1 && contains(allowed, Granularity::kChannel) &&
             env.decide(sym::eq(scale.sizes[0], N)) == Truth::kTrue) {
    v.hint = fmt::format(
        "per-channel scales stored 1-D (Quark and other exporters); the loader "
        "must reshape to {}",
        dims_str(per_channel));
  } else if (scale.dim() == 2 && contains(allowed, Granularity::kChannel) &&
             decide_shape(env, scale.sizes, kn ? SymShape{N, 1} : SymShape{1, N}) == Truth::kTrue) {
    v.hint = fmt::format(
        "the per-channel scale is bound to the {} axis but the weight is {}; "
        "transpose weight and scale together in one prepare step",
        kn ? "NK" : "KN", tensor::weight_layout_name(w.layout));
  } else if (scale.dim() == 2 && contains(allowed, Granularity::kBlock) &&
             decide_shape(env, scale.sizes, SymShape{grid[1], grid[0]}) == Truth::kTrue) {
    v.hint = fmt::format(
        "the block grid is transposed: {} is {} but the grid is {}'s; "
        "transpose weight and scale together",
        weight_name, tensor::weight_layout_name(w.layout), kn ? "NK" : "KN");
  } else if (scale.dim() == 2 && contains(allowed, Granularity::kBlock)) {
    v.hint = "block grids use cdiv: [cdiv(N, bn), cdiv(K, bk)] (OPS.md §3 rule 3)";
  }
  fail(site, std::move(v));
}

Granularity check_act_scale(const CheckSite& site, std::string_view arg, const TensorMeta& scale,
                            const TensorMeta& x, std::initializer_list<Granularity> allowed,
                            std::int64_t group) {
  require_scale_dtype(site, arg, scale);
  const sym::ShapeEnv& env = site.env;
  SymShape lead = leading(x);
  SymShape tok = lead;
  tok.push_back(1);
  SymShape grp = lead;
  if (!x.sizes.empty()) grp.push_back(sym::ceildiv(x.sizes.back(), group));
  std::vector<std::pair<Granularity, SymShape>> forms;
  // Per-token first: for rank-1 x ([K]) per-token and per-tensor are both [1].
  if (contains(allowed, Granularity::kToken)) forms.push_back({Granularity::kToken, tok});
  if (contains(allowed, Granularity::kTensor)) forms.push_back({Granularity::kTensor, {1}});
  if (contains(allowed, Granularity::kGroup)) forms.push_back({Granularity::kGroup, grp});
  for (auto& [g, want] : forms) {
    if (decide_shape(env, scale.sizes, want) == Truth::kFalse) continue;
    require_shape(site, "scale-layout", arg, scale, want);
    return g;
  }
  Violation v = violation("scale-layout", std::string(arg), {}, {}, {});
  for (auto& [g, want] : forms) {
    v.expected += (v.expected.empty() ? "" : " or ") + dims_str(want);
    v.symbols.insert(v.symbols.end(), want.begin(), want.end());
  }
  v.got = dims_str(scale.sizes);
  v.message = fmt::format(
      "activation scale {} does not match x {} as {}", arg, x.shape_str(),
      list_str(allowed, [](Granularity g) { return std::string(granularity_name(g)); }));
  if (scale.dim() == 0)
    v.hint = "a 0-d per-tensor scale must be stored as [1]";
  else if (scale.dim() + 1 == x.dim() && x.dim() >= 2)
    v.hint = "per-token scales keep a trailing unit dim: x.sizes[:-1] + [1]";
  else if (scale.dim() == 2 && x.dim() > 2)
    v.hint = "per-token scales keep x's leading dims; a flattened [M, 1] scale is not accepted";
  fail(site, std::move(v));
}

void require_k_match(const CheckSite& site, std::string_view x_name, const TensorMeta& x,
                     const QuantizedWeight& w) {
  if (x.dim() < 1)
    fail(site, violation("shape", std::string(x_name), "[*, K]", x.shape_str(),
                         fmt::format("{} must have at least one dim", x_name), {}));
  std::string reason = fmt::format("{}.size(-1) == K of {}", x_name, w.weight_name);
  if (require_eq(site, x.sizes.back(), w.K, reason) == Truth::kFalse) {
    SymShape want = leading(x);
    want.push_back(w.K);
    fail(site, violation("shape", std::string(x_name), dims_str(want), x.shape_str(),
                         fmt::format("{} has K = {} but weight {} has K = {}", x_name,
                                     x.sizes.back().str(), w.weight_name, w.K.str()),
                         {}, {x.sizes.back(), w.K}));
  }
}

TensorMeta gemm_out_meta(const TensorMeta& x, const SymInt& N, DType dtype) {
  SymShape s = leading(x);
  s.push_back(N);
  TensorMeta m = TensorMeta::contiguous(std::move(s), dtype, x.device);
  return m;
}

void check_bias(const CheckSite& site, std::string_view arg, const TensorMeta* bias,
                const SymInt& N, std::initializer_list<DType> allowed) {
  if (bias == nullptr) return;
  require_dtype(site, arg, *bias, allowed);
  require_shape(site, "shape", arg, *bias, {N});
}

// ---- real side --------------------------------------------------------------------------

ChannelScale channel_scale(const tensor::Tensor& scale) {
  ChannelScale s{scale.data<float>(), 0};
  if (scale.numel() > 1) {
    // [N,1] or [1,N]: the stride of the non-unit dim.
    s.stride = scale.size(0) > 1 ? scale.stride(0) : scale.stride(1);
  }
  return s;
}

namespace {

// Stride between consecutive rows when x's leading dims (all but the last `inner` dims)
// are viewable as one flat dim; nullopt otherwise. Size-1 dims place no constraint.
std::optional<std::int64_t> flat_row_stride(const tensor::Tensor& x, std::int64_t inner,
                                            std::int64_t dense_stride) {
  std::optional<std::int64_t> row_stride;
  std::int64_t prev_stride = 0, prev_size = 1;
  for (std::int64_t i = x.dim() - inner - 1; i >= 0; --i) {
    if (x.size(i) == 1) continue;
    if (!row_stride) {
      row_stride = x.stride(i);
    } else if (x.stride(i) != prev_stride * prev_size) {
      return std::nullopt;
    }
    prev_stride = x.stride(i);
    prev_size = x.size(i);
  }
  return row_stride ? *row_stride : dense_stride;
}

}  // namespace

RowScale row_scale(const tensor::Tensor& scale) {
  RowScale s{scale.data<float>(), 0};
  if (scale.numel() > 1) {
    auto st = flat_row_stride(scale, 1, 1);
    if (!st) diag::fail("layout", "per-token scale leading dims are not viewable as [M, 1]");
    s.stride = *st;
  }
  return s;
}

std::int64_t leading_numel(const tensor::Tensor& x) {
  std::int64_t m = 1;
  for (std::int64_t i = 0; i + 1 < x.dim(); ++i) m *= x.size(i);
  return m;
}

RowsView rows_view(const tensor::Tensor& x, std::string_view arg) {
  RowsView v;
  v.data = static_cast<const std::byte*>(x.data_ptr());
  v.K = x.dim() == 0 ? 1 : x.size(-1);
  v.M = leading_numel(x);
  if (x.dim() >= 1 && x.size(-1) > 1 && x.stride(-1) != 1)
    diag::fail("layout",
               fmt::format("{}: the kernel needs stride(-1) == 1, got {}", arg, x.stride(-1)));
  auto st = flat_row_stride(x, 1, v.K);
  if (!st)
    diag::fail("layout", fmt::format("{}: leading dims are not viewable as [M, K]; the graph "
                                     "must insert a contiguous node",
                                     arg));
  v.row_stride = *st;
  return v;
}

}  // namespace symtrace::ops
