// The tensors of one linear module per quantization format (OPS.md §3, §10, §12), and its
// tensor-parallel split.
#include <algorithm>

#include <fmt/format.h>

#include "model/json_read.hpp"
#include "model/spec_builder.hpp"

namespace symtrace::model::detail {

using diag::Severity;
using tensor::DType;
using tensor::ScaleFormat;

namespace {

std::int64_t cdiv(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

std::string paren(const std::string& e) {
  return e.find_first_of("+/-") == std::string::npos ? e : fmt::format("({})", e);
}

SpecDim sd(const Dim& d, std::string symbol) { return {d.v, std::move(symbol), d.e}; }
SpecDim one() { return {1, "1", "1"}; }
SpecDim cdiv_sd(const Dim& d, const char* sym, std::int64_t b) {
  return {cdiv(d.v, b), fmt::format("cdiv({}, {})", sym, b), fmt::format("cdiv({}, {})", d.e, b)};
}
SpecDim div_sd(const Dim& d, const char* sym, std::int64_t b) {  // exact: checked by the caller
  return {d.v / b, fmt::format("{} / {}", sym, b), fmt::format("{} / {}", paren(d.e), b)};
}
SpecDim lit_sd(std::int64_t v) { return {v, std::to_string(v), std::to_string(v)}; }

struct LinearTensors {
  std::vector<ExpectedTensor> tensors;
  std::string unsupported;  // why the combination is not modelled
  std::string shape_error;  // e.g. K not a multiple of the packing
};

// All tensors of linear `d` with out/in features N, K; w/in null: unquantized / no
// activation quantization.
LinearTensors linear_tensors(const ModelConfig& cfg, const QuantConfig* q, const LinearDecl& d,
                             const Dim& N, const Dim& K, const QuantArgs* w, const QuantArgs* in) {
  LinearTensors r;
  const DType wd = cfg.weight_dtype();
  const bool col = d.parallel == Parallel::kColumn, row = d.parallel == Parallel::kRow;
  const std::vector<std::string> nk_notes{fmt::format("N = {} from {}", N.v, N.e),
                                          fmt::format("K = {} from {}", K.v, K.e)};
  auto make = [&](std::string suffix, TensorRole role, DType dtype, std::vector<SpecDim> dims,
                  int split) {
    ExpectedTensor t;
    t.name = fmt::format("{}.{}", d.name, suffix);
    t.role = role;
    t.dtype = dtype;
    t.dims = std::move(dims);
    t.notes = nk_notes;
    t.module = d.name;
    t.fused_module = d.fused;
    t.partition = d.partition;
    t.expert = d.expert;
    t.parallel = d.parallel;
    t.split_dim = split;
    t.quantized = w != nullptr && role != TensorRole::kBias;
    return t;
  };
  // Dim split under TP for tensors indexed by N only.
  const int n_split = col ? 0 : -1;
  auto push = [&](ExpectedTensor t) { r.tensors.push_back(std::move(t)); };
  if (d.bias) push(make("bias", TensorRole::kBias, wd, {sd(N, "N")}, n_split));

  if (w == nullptr) {
    push(make("weight", TensorRole::kWeight, wd, {sd(N, "N"), sd(K, "K")}, col ? 0 : row ? 1 : -1));
    return r;
  }
  const QuantMethod method = q->method;
  const bool quark = method == QuantMethod::kQuark, fp8 = method == QuantMethod::kFp8;
  const std::optional<DType> qdt = w->storage_dtype();
  auto scale_like = [&](ExpectedTensor t, std::vector<DType> also) {
    t.granularity = w->strategy;
    t.block_n = w->block_n.value_or(0);
    t.block_k = w->block_k.value_or(w->group_size.value_or(0));
    t.also_dtypes = std::move(also);
    return t;
  };
  const std::vector<DType> f32_like =
      fp8 ? std::vector<DType>{} : std::vector<DType>{DType::kBF16, DType::kF16};

  if (qdt == DType::kI8 || qdt == DType::kF8E4M3FN) {
    ExpectedTensor wt = make("weight", TensorRole::kWeight, *qdt, {sd(N, "N"), sd(K, "K")},
                             col ? 0 : row ? 1 : -1);
    wt = scale_like(std::move(wt), {});
    std::vector<SpecDim> sdims;
    int split = -1;
    std::vector<std::vector<std::int64_t>> also_shapes;
    std::string adapter;
    switch (w->strategy) {
      case Strategy::kTensor:
        sdims = {one()};
        also_shapes = {{}};
        break;
      case Strategy::kChannel:
        split = n_split;
        if (quark) {
          sdims = {sd(N, "N")};
          adapter = "Quark stores per-channel scales 1-D [N]; the loader appends the unit dim "
                    "for kernels that take [N, 1] (OPS.md §3, §12.3)";
        } else {
          sdims = {sd(N, "N"), one()};
        }
        break;
      case Strategy::kGroup:
        sdims = {sd(N, "N"), cdiv_sd(K, "K", *w->group_size)};
        split = col ? 0 : row ? 1 : -1;
        break;
      case Strategy::kBlock:
        sdims = {cdiv_sd(N, "N", *w->block_n), cdiv_sd(K, "K", *w->block_k)};
        split = col ? 0 : row ? 1 : -1;
        break;
      default:
        r.unsupported = fmt::format("{}-bit weights with {} scales", w->num_bits,
                                    strategy_name(w->strategy));
        return r;
    }
    push(std::move(wt));
    ExpectedTensor st = make(std::string(q->weight_scale_name()), TensorRole::kWeightScale,
                             DType::kF32, sdims, split);
    st = scale_like(std::move(st), f32_like);
    st.scale_fmt = fp8 && q->scale_fmt == "ue8m0" ? ScaleFormat::kF32Pow2 : ScaleFormat::kF32;
    st.also_shapes = also_shapes;
    st.adapter = adapter;
    if (!w->symmetric || quark) {
      ExpectedTensor zp = make("weight_zero_point", TensorRole::kZeroPoint, DType::kI8, sdims, split);
      zp = scale_like(std::move(zp), {quark ? DType::kU8 : DType::kI32});
      zp.also_shapes = also_shapes;
      zp.optional = w->symmetric;  // Quark writes zeros for symmetric schemes; vLLM drops them
      push(std::move(zp));
    }
    push(std::move(st));
    if (in != nullptr && in->dynamic == Dynamic::kStatic) {
      if (in->strategy != Strategy::kTensor) {
        r.unsupported = fmt::format("static {} activation scales", strategy_name(in->strategy));
        return r;
      }
      ExpectedTensor is = make("input_scale", TensorRole::kInputScale, DType::kF32, {one()}, -1);
      is.granularity = Strategy::kTensor;
      is.scale_fmt = ScaleFormat::kF32;
      is.also_dtypes = f32_like;
      is.also_shapes = {{}};
      push(is);
      if (!in->symmetric || quark) {
        ExpectedTensor iz = make("input_zero_point", TensorRole::kZeroPoint, DType::kI8, {one()}, -1);
        iz.granularity = Strategy::kTensor;
        iz.also_dtypes = {quark ? DType::kU8 : DType::kI32};
        iz.also_shapes = {{}};
        iz.optional = in->symmetric;
        push(std::move(iz));
      }
    }
    return r;
  }

  if (qdt == DType::kF4E2M1X2 && method == QuantMethod::kCompressedTensors &&
      w->strategy == Strategy::kTensorGroup && w->group_size == 16) {
    // NVFP4 (OPS.md §10): e2m1 pairs, e4m3 scales per 16 along K, a global divisor.
    if (K.v % 16 != 0) {
      r.shape_error = fmt::format("NVFP4 needs K % 16 == 0; K = {} ({})", K.v, K.e);
      return r;
    }
    ExpectedTensor wt = make("weight_packed", TensorRole::kWeight, DType::kU8,
                             {sd(N, "N"), div_sd(K, "K", 2)}, col ? 0 : row ? 1 : -1);
    push(scale_like(std::move(wt), {}));
    ExpectedTensor st = make("weight_scale", TensorRole::kWeightScale, DType::kF8E4M3FN,
                             {sd(N, "N"), div_sd(K, "K", 16)}, col ? 0 : row ? 1 : -1);
    st = scale_like(std::move(st), {});
    st.scale_fmt = ScaleFormat::kE4M3;
    push(std::move(st));
    auto global = [&](const char* name) {
      ExpectedTensor g = make(name, TensorRole::kGlobalScale, DType::kF32, {one()}, -1);
      g.granularity = Strategy::kTensor;
      g.scale_fmt = ScaleFormat::kF32;
      g.scale_is_divisor = true;  // compressed-tensors stores 448*6/amax; invert at load
      g.also_shapes = {{}};
      return g;
    };
    push(global("weight_global_scale"));
    if (in != nullptr) push(global("input_global_scale"));  // W4A4
    return r;
  }

  if (qdt == DType::kI32 && method == QuantMethod::kCompressedTensors &&
      (w->strategy == Strategy::kGroup || w->strategy == Strategy::kChannel)) {
    // pack-quantized int4: eight 4-bit values per int32 along K.
    if (K.v % 8 != 0) {
      r.shape_error = fmt::format("pack-quantized int4 needs K % 8 == 0; K = {} ({})", K.v, K.e);
      return r;
    }
    ExpectedTensor wt = make("weight_packed", TensorRole::kWeight, DType::kI32,
                             {sd(N, "N"), div_sd(K, "K", 8)}, col ? 0 : row ? 1 : -1);
    push(scale_like(std::move(wt), {}));
    const bool group = w->strategy == Strategy::kGroup;
    std::vector<SpecDim> sdims{sd(N, "N"), group ? cdiv_sd(K, "K", *w->group_size) : one()};
    ExpectedTensor st = make("weight_scale", TensorRole::kWeightScale, wd, sdims,
                             col ? 0 : (row && group) ? 1 : -1);
    st = scale_like(std::move(st), {DType::kF32, DType::kBF16, DType::kF16});
    st.scale_fmt = ScaleFormat::kF32;
    push(std::move(st));
    ExpectedTensor shape = make("weight_shape", TensorRole::kOther, DType::kI64, {lit_sd(2)}, -1);
    shape.also_dtypes = {DType::kI32};
    push(std::move(shape));
    if (!w->symmetric) {
      ExpectedTensor zp = make("weight_zero_point", TensorRole::kZeroPoint, DType::kI32,
                               {cdiv_sd(N, "N", 8), sdims[1]}, -1);
      push(scale_like(std::move(zp), {}));
    }
    return r;
  }
  r.unsupported = fmt::format("{} weights {} under {}", w->str(),
                              qdt ? std::string(tensor::name(*qdt)) : std::string("(no storage type)"),
                              quant_method_name(method));
  return r;
}

Dim divided(const Dim& d, std::int64_t tp) { return {d.v / tp, fmt::format("{} / tp", paren(d.e))}; }

}  // namespace

void SpecBuilder::report_once(diag::Diagnostic f, const std::string& key) {
  if (std::find(reported_.begin(), reported_.end(), key) != reported_.end()) return;
  reported_.push_back(key);
  spec_.findings.push_back(std::move(f));
}

std::optional<std::pair<Dim, Dim>> SpecBuilder::per_rank(const LinearDecl& d, const QuantArgs* w,
                                                         bool report) {
  const std::int64_t tp = d.expert >= 0 && opt_.ep > 1 ? 1 : opt_.tp;
  if (tp == 1 || d.parallel == Parallel::kReplicated) return std::pair{d.N, d.K};
  auto fail = [&](std::string what, std::string expected, std::string got) {
    if (!report) return;
    auto f = finding("tp-divisibility", Severity::kError, d.name,
                     fmt::format("{}: {} with tp = {}", d.name, what, tp));
    f.node = d.name;
    f.expected = std::move(expected);
    f.got = std::move(got);
    spec_.findings.push_back(std::move(f));
  };
  Dim n = d.N, k = d.K;
  if (d.parallel == Parallel::kColumn) {
    if (d.heads > 0 && d.heads < tp) {
      if (tp % d.heads != 0) {
        fail(fmt::format("{} heads cannot be replicated evenly", d.heads),
             fmt::format("tp % heads == 0 (heads = {})", d.heads), fmt::format("{} % {}", tp, d.heads));
        return std::nullopt;
      }
      n = {d.head_size, fmt::format("{} (one replicated head)", d.head_size)};
    } else if (d.N.v % tp != 0 || (d.heads > 0 && d.heads % tp != 0)) {
      fail(fmt::format("N = {} ({}) does not split evenly", d.N.v, d.N.e),
           fmt::format("N % {} == 0{}", tp, d.heads > 0 ? " and heads % tp == 0" : ""),
           fmt::format("N = {}{}", d.N.v, d.heads > 0 ? fmt::format(", heads = {}", d.heads) : ""));
      return std::nullopt;
    } else {
      n = divided(d.N, tp);
    }
  } else {
    if (d.K.v % tp != 0) {
      fail(fmt::format("K = {} ({}) does not split evenly", d.K.v, d.K.e),
           fmt::format("K % {} == 0", tp), fmt::format("{} % {} = {}", d.K.v, tp, d.K.v % tp));
      return std::nullopt;
    }
    k = divided(d.K, tp);
  }
  if (w != nullptr && report) {  // the per-rank block grid must stay whole (OPS.md §7)
    if (w->strategy == Strategy::kBlock) {
      const bool column = d.parallel == Parallel::kColumn;
      const std::int64_t size = column ? n.v : k.v, block = column ? *w->block_n : *w->block_k;
      if (size % block != 0)
        fail(fmt::format("per-rank {} = {} ({}) is not a multiple of the {}-wide weight block",
                         column ? "N" : "K", size, column ? n.e : k.e, block),
             fmt::format("{} / tp % {} == 0", column ? "N" : "K", block),
             fmt::format("{} % {} = {}", size, block, size % block));
    } else if (d.parallel == Parallel::kRow && w->group_size &&
               (w->strategy == Strategy::kGroup || w->strategy == Strategy::kTensorGroup) &&
               k.v % *w->group_size != 0) {
      fail(fmt::format("per-rank K = {} is not a multiple of the scale group {}", k.v, *w->group_size),
           fmt::format("K / tp % {} == 0", *w->group_size),
           fmt::format("{} % {} = {}", k.v, *w->group_size, k.v % *w->group_size));
    }
  }
  return std::pair{n, k};
}

void SpecBuilder::linear(const LinearDecl& d) {
  LinearSpec ls;
  ls.name = d.name;
  ls.fused_module = d.fused;
  ls.partition = d.partition;
  ls.expert = d.expert;
  ls.N = {d.N.v, "N", d.N.e};
  ls.K = {d.K.v, "K", d.K.e};
  ls.parallel = d.parallel;
  const QuantScheme* scheme = nullptr;
  if (!d.never_quantized && quant_ != nullptr && quant_->quantized()) {
    ls.ignored = quant_->ignore.match(d.name).has_value();
    if (!ls.ignored) scheme = quant_->targeted_scheme(d.name);
  }
  if (scheme != nullptr && !scheme->supported) {
    spec_.unchecked_modules.push_back(d.name);
    spec_.linears.push_back(std::move(ls));
    return;
  }
  const QuantArgs* w = scheme && scheme->weights ? &*scheme->weights : nullptr;
  const QuantArgs* in = scheme && scheme->input_activations ? &*scheme->input_activations : nullptr;
  if (w != nullptr) {
    ls.quantized = true;
    ls.scheme = scheme->name;
    ls.weights = scheme->weights;
    ls.input_activations = scheme->input_activations;
  }
  LinearTensors full = linear_tensors(cfg_, quant_, d, d.N, d.K, w, in);
  if (!full.unsupported.empty() || !full.shape_error.empty()) {
    const bool shape = full.unsupported.empty();
    auto f = finding(shape ? "shape" : "quant-unsupported",
                     shape ? Severity::kError : Severity::kWarning, d.name,
                     shape ? fmt::format("{}: {}", d.name, full.shape_error)
                           : fmt::format("{}: {} are not modelled; its tensors are not checked",
                                         scheme->name, full.unsupported));
    f.node = d.name;
    if (shape) spec_.findings.push_back(std::move(f));
    else report_once(std::move(f), scheme->name);
    spec_.unchecked_modules.push_back(d.name);
    ls.quantized = false;
    spec_.linears.push_back(std::move(ls));
    return;
  }
  // Expert linears report TP once per experts group (check_groups), not 3·E times.
  const auto rank = per_rank(d, w, /*report=*/d.expert < 0);
  std::vector<ExpectedTensor> shards;
  if (rank) shards = linear_tensors(cfg_, quant_, d, rank->first, rank->second, w, in).tensors;
  for (std::size_t i = 0; i < full.tensors.size(); ++i) {
    ExpectedTensor& t = full.tensors[i];
    if (i < shards.size()) t.shard_shape = shards[i].shape();
    add(std::move(t));
  }
  spec_.linears.push_back(std::move(ls));
}

}  // namespace symtrace::model::detail
