// ArchBuilder: config symbols, parameters named as the checkpoint names them, and one linear
// module per quantization format (OPS.md §5-§10, §12).
#include "model/arch_builder.hpp"

#include <bit>

#include <fmt/format.h>

#include <symtrace/graph/ops.hpp>

namespace symtrace::model::detail {

using diag::Severity;
using graph::ParamInfo;
using graph::ParamRole;
using tensor::ScaleFormat;
using tensor::TensorMeta;

namespace {

// Largest power of two dividing v, capped: the divisibility a kernel rule may ask about
// (N % 64, K % 128) without a fact per prime.
constexpr std::int64_t kMaxAssumedPow2 = 1 << 12;
std::int64_t pow2_part(std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  return std::min<std::int64_t>(static_cast<std::int64_t>(u & (~u + 1)), kMaxAssumedPow2);
}

const char* strategy_granularity(Strategy s) {
  return s == Strategy::kChannel ? "channel" : "tensor";
}

}  // namespace

ArchBuilder::ArchBuilder(graph::Graph& g, const ModelConfig& cfg, const CheckpointSpec& spec,
                         const BuildOptions& opt, std::vector<diag::Diagnostic>& findings)
    : tr_(g), cfg_(cfg), spec_(spec), opt_(opt), findings_(findings),
      act_(opt.compute_dtype.value_or(cfg.weight_dtype())) {
  B_ = tr_.symbol("B", "input_ids dim 0 (batch)");
  S_ = tr_.symbol("S", "input_ids dim 1 (new tokens)");
  linears_.reserve(spec.linears.size());
  for (const LinearSpec& l : spec.linears) linears_.emplace(l.name, &l);
  tensors_.reserve(spec.tensors.size());
  for (const ExpectedTensor& t : spec.tensors) tensors_.emplace(t.name, &t);
}

const ExpectedTensor* ArchBuilder::expected(std::string_view name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

SymInt ArchBuilder::dim(const ConfigDim& d, const char* name) {
  if (auto it = dims_.find(name); it != dims_.end()) return it->second;
  SymInt s = tr_.config(name, d.value, d.source);
  // Bound to the config value (or a smaller tensor-parallel shard of it) at bind time.
  tr_.env().set_range(s.expr(), sym::Range{1, d.value});
  if (const std::int64_t m = pow2_part(d.value); m > 1) tr_.env().assume_divisible(s.expr(), m);
  dims_.emplace(name, s);
  return s;
}

DType ArchBuilder::param_dtype(const std::string& name) const {
  if (opt_.compute_dtype) return *opt_.compute_dtype;
  if (const ExpectedTensor* t = expected(name)) return t->dtype;
  return act_;
}

std::optional<DType> ArchBuilder::weight16(const std::string& name) const {
  if (act_ != DType::kF32) return std::nullopt;
  const ExpectedTensor* t = expected(name);
  if (t == nullptr || (t->dtype != DType::kBF16 && t->dtype != DType::kF16)) return std::nullopt;
  return t->dtype;
}

Traced ArchBuilder::plain(const std::string& name, SymShape sizes) {
  return tr_.parameter(name, TensorMeta::contiguous(std::move(sizes), param_dtype(name)));
}

Traced ArchBuilder::exact(const std::string& name, SymShape sizes, DType fallback) {
  const ExpectedTensor* t = expected(name);
  return tr_.parameter(name, TensorMeta::contiguous(std::move(sizes), t ? t->dtype : fallback));
}

Traced ArchBuilder::rms_norm(const std::string& module, const Traced& x, SymInt H) {
  Traced w = plain(module + ".weight", {H});
  auto scope = tr_.scope(module);
  return graph::rms_norm(x, w, cfg_.rms_norm_eps);
}

Traced ArchBuilder::cast(const Traced& x, DType d) {
  // `to` returns its input when the dtype already matches: such an alias node would only
  // cost the executor a copy (and a plan slot), so none is recorded.
  return x.dtype() == d ? x : tr_.call("to", {x, d});
}

Traced ArchBuilder::linear_with(const Traced& x, const Traced& w) {
  if (x.dtype() == DType::kF32 && (w.dtype() == DType::kBF16 || w.dtype() == DType::kF16))
    return tr_.call("linear_w16", {x, w, std::nullopt});
  return graph::linear(x, w);
}

Traced ArchBuilder::embedding_table(const std::string& name, SymShape sizes) {
  if (const std::optional<DType> wd = weight16(name))
    return tr_.parameter(name, TensorMeta::contiguous(std::move(sizes), *wd));
  return plain(name, std::move(sizes));
}

void ArchBuilder::finding(std::string code, Severity sev, std::string module,
                          std::string message) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.severity = sev;
  d.node = std::move(module);
  d.message = std::move(message);
  findings_.push_back(std::move(d));
}

Traced ArchBuilder::linear(const std::string& module, const Traced& x, SymInt N, SymInt K) {
  const auto found = linears_.find(module);
  const LinearSpec* ls = found == linears_.end() ? nullptr : found->second;
  std::optional<Traced> bias;
  if (expected(module + ".bias") != nullptr) bias = plain(module + ".bias", {N});
  if (ls != nullptr && ls->quantized) return quantized_linear(module, *ls, x, N, K, bias);
  if (ls != nullptr && spec_.unchecked(module + ".weight"))
    finding("quant-unsupported", Severity::kError, module,
            fmt::format("{}: its quantization scheme is not modelled; traced as an unquantized "
                        "linear, which no checkpoint tensor of this format fits", module));
  const std::string weight = module + ".weight";
  if (const std::optional<DType> wd = weight16(weight); wd && x.dtype() == DType::kF32) {
    Traced w = tr_.weight(weight, {N, K}, *wd);
    auto scope = tr_.scope(module);
    return tr_.call("linear_w16", {x, w, bias});
  }
  Traced w = tr_.weight(weight, {N, K}, param_dtype(weight));
  auto scope = tr_.scope(module);
  return graph::linear(x, w, bias);
}

Traced ArchBuilder::quantized_linear(const std::string& module, const LinearSpec& ls,
                                     const Traced& x, SymInt N, SymInt K,
                                     std::optional<Traced> bias) {
  const QuantConfig& q = *cfg_.quant;
  const QuantArgs& w = *ls.weights;
  const QuantArgs* in = ls.input_activations ? &*ls.input_activations : nullptr;
  const std::string scale_name = fmt::format("{}.{}", module, q.weight_scale_name());
  const ExpectedTensor* st = expected(scale_name);
  const std::optional<DType> storage = w.storage_dtype();
  const auto make_weight = [&](const std::string& suffix, SymShape sizes, DType dt) {
    return tr_.weight(fmt::format("{}.{}", module, suffix), std::move(sizes), dt);
  };

  if (storage == DType::kF8E4M3FN && w.strategy == Strategy::kBlock) {  // OPS.md §7
    const std::int64_t bn = *w.block_n, bk = *w.block_k;
    Traced wt = make_weight("weight", {N, K}, DType::kF8E4M3FN);
    const ScaleFormat fmt = st ? st->scale_fmt : ScaleFormat::kF32;
    Traced ws = tr_.scale(scale_name, wt, {sym::ceildiv(N, bn), sym::ceildiv(K, bk)},
                          graph::block(bn, bk), fmt);
    bool quantize = opt_.quantize_activations;
    if (in != nullptr && in->dynamic == Dynamic::kStatic) {
      finding("quant-unsupported", Severity::kWarning, module,
              fmt::format("{}: static activation scales with block fp8 weights are not modelled; "
                          "activations are quantized dynamically per 1x{} group", module, bk));
    } else if (in != nullptr && in->group_size && *in->group_size != bk) {
      finding("quant-unsupported", Severity::kWarning, module,
              fmt::format("{}: activation groups of {} differ from the weight block's {}; the "
                          "kernel quantizes 1x{} groups", module, *in->group_size, bk, bk));
    }
    if (in == nullptr) quantize = false;  // weight-only block fp8 (W8A16)
    auto scope = tr_.scope(module);
    return tr_.call("block_fp8_gemm", {x, wt, ws},
                    {{"block", std::vector<SymInt>{bn, bk}},
                     {"act_quant", quantize ? "group" : "none"},
                     {"bias", bias}});
  }

  if ((storage == DType::kF8E4M3FN || storage == DType::kI8) &&
      (w.strategy == Strategy::kTensor || w.strategy == Strategy::kChannel)) {
    const bool fp8 = storage == DType::kF8E4M3FN;
    const bool channel = w.strategy == Strategy::kChannel;
    if (!w.symmetric)
      finding("quant-unsupported", Severity::kError, module,
              fmt::format("{}: asymmetric weights (weight_zero_point) have no kernel; the zero "
                          "point is not read", module));
    Traced wt = make_weight("weight", {N, K}, *storage);
    // Quark stores per-channel scales 1-D [N]: a plain parameter viewed as [N, 1], reported
    // as the loader's layout adapter, not as the kernel's scale-layout error (OPS.md §3).
    Traced ws;
    if (channel && st != nullptr && st->dims.size() == 1) {
      ws = graph::view(tr_.parameter(scale_name, TensorMeta::contiguous({N}, st->dtype)), {N, 1});
      finding("layout-adapter", Severity::kNote, module,
              fmt::format("{}: {} [N] is viewed as [N, 1] for the kernel ({})", module, scale_name,
                          st->adapter));
    } else {
      ws = tr_.scale(scale_name, wt, channel ? SymShape{N, 1} : SymShape{1},
                     channel ? graph::per_channel() : graph::per_tensor());
    }
    const bool static_in = in != nullptr && in->dynamic == Dynamic::kStatic;
    std::optional<Traced> in_scale, in_zp;
    if (static_in) {
      in_scale = tr_.scale(module + ".input_scale", wt, {1}, graph::per_tensor(ParamRole::kInputScale));
      if (!in->symmetric) {
        const std::string zp = module + ".input_zero_point";
        const ExpectedTensor* zt = expected(zp);
        Traced z = tr_.scale(zp, wt, {1}, graph::per_tensor(ParamRole::kZeroPoint),
                             ScaleFormat::kNone, zt ? zt->dtype : DType::kI32);
        in_zp = z.dtype() == DType::kI32 ? z : tr_.call("to", {z, DType::kI32});
      }
    }
    auto scope = tr_.scope(module);
    const bool weight_only = in == nullptr;
    if (!opt_.quantize_activations || weight_only) {
      if (fp8 && weight_only && (act_ == DType::kBF16 || act_ == DType::kF16))
        return tr_.call("fp8_gemm_w8a16", {x, wt, ws, bias});
      // Dequantized weights in the compute dtype (debugging, or no W8A16 kernel for it).
      Traced wd = tr_.call("dequantize", {wt, ws},
                           {{"granularity", strategy_granularity(w.strategy)}, {"out_dtype", act_}});
      return graph::linear(x, wd, bias);
    }
    if (!fp8)
      return tr_.call("int8_linear", {x, wt, ws, in_scale, in_zp, in->symmetric, bias});
    if (!in->symmetric)
      finding("quant-unsupported", Severity::kError, module,
              fmt::format("{}: asymmetric fp8 activations have no kernel", module));
    std::vector<Traced> qs =
        static_in ? tr_.call_all("quantize_fp8", {x, *in_scale})
                  : tr_.call_all("quantize_fp8", {x},
                                 {{"granularity", in->strategy == Strategy::kToken ? "token" : "tensor"}});
    return tr_.call("fp8_gemm", {qs[0], wt, ws, qs[1], act_, bias});
  }

  if (storage == DType::kF4E2M1X2 && w.strategy == Strategy::kTensorGroup) {  // OPS.md §10
    if (in != nullptr)
      finding("quant-unsupported", Severity::kWarning, module,
              fmt::format("{}: NVFP4 activation quantization (W4A4) is not modelled; runs as "
                          "W4A16 and input_global_scale is not read", module));
    Traced wp = make_weight("weight_packed", {N, sym::floordiv(K, 2)}, DType::kU8);
    // One e4m3 scale per 16 elements = per 8 bytes of the packed [N, K/2] weight.
    Traced ws = tr_.scale(module + ".weight_scale", wp, {N, sym::floordiv(K, 16)}, graph::group(8),
                          ScaleFormat::kE4M3, DType::kF8E4M3FN);
    Traced g = tr_.scale(module + ".weight_global_scale", wp, {1},
                         graph::per_tensor(ParamRole::kGlobalScale));
    auto scope = tr_.scope(module);
    // compressed-tensors stores the global scale as a divisor; the kernel takes the
    // multiplier 1 / g (g / g is exactly 1 for the finite positive scales scan_scales admits).
    Traced mult = tr_.call("div", {tr_.call("div", {g, g}), g});
    return tr_.call("nvfp4_w4a16_gemm", {x, wp, ws, mult, bias});
  }

  finding("quant-unsupported", Severity::kError, module,
          fmt::format("{}: {} weights have no kernel here; traced as an unquantized linear",
                      module, w.str()));
  Traced wt = tr_.weight(module + ".weight", {N, K}, act_);
  auto scope = tr_.scope(module);
  return graph::linear(x, wt, bias);
}

}  // namespace symtrace::model::detail
