// load_params: checkpoint tensors into a Plan's parameters (load_params.hpp).
#include <symtrace/model/load_params.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/graph/graph.hpp>

namespace symtrace::model {

namespace {

using graph::NodeId;
using tensor::DType;
using tensor::Tensor;

bool plain_float(DType d) {
  return d == DType::kF64 || d == DType::kF32 || d == DType::kBF16 || d == DType::kF16;
}

[[noreturn]] void load_error(const graph::Graph& g, NodeId p, std::string code, std::string message,
                             std::string expected = {}, std::string got = {}, std::string hint = {}) {
  diag::Diagnostic d;
  d.code = std::move(code);
  d.node = std::string(g.module(p));
  d.argument = std::string(g.name(p));
  d.expected = std::move(expected);
  d.got = std::move(got);
  d.message = std::move(message);
  d.hint = std::move(hint);
  d.location = g.location(p);
  throw diag::Error(std::move(d));
}

// The traced sizes under the graph's config values; nullopt where a size depends on a symbol
// that is not a config value (the Plan checks those at bind).
std::optional<tensor::Shape> traced_sizes(const graph::Graph& g, const tensor::TensorMeta& m) {
  sym::Bindings b;
  for (const sym::SymbolInfo* s : g.env().symbols())
    if (auto it = g.config_values().find(s->name); it != g.config_values().end()) b.set(s->id, it->second);
  tensor::Shape out;
  try {
    for (const sym::SymInt& d : m.sizes) out.push_back(g.env().evaluate(d, b));
  } catch (const diag::Error&) {
    return std::nullopt;
  }
  return out;
}

std::string shape_str(const std::vector<std::int64_t>& s) { return tensor::shape_str(tensor::SymShape(s.begin(), s.end())); }

std::vector<std::int64_t> without_ones(const std::vector<std::int64_t>& s) {
  std::vector<std::int64_t> out;
  for (std::int64_t d : s)
    if (d != 1) out.push_back(d);
  return out;
}

void check_scale_values(const graph::Graph& g, NodeId p, const Tensor& t, const std::string& file) {
  const std::vector<double> v = t.to_f64();
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!(std::isfinite(v[i]) && v[i] > 0) && bad++ == 0) first = i;
  if (bad == 0) return;
  load_error(g, p, "bad-scale",
             fmt::format("{} of {} values of scale `{}` in {} are NaN, infinite, zero or negative; the first at flat "
                         "index {} is {}",
                         bad, v.size(), g.name(p), file, first, v[first]),
             "finite positive scales", fmt::format("{}", v[first]),
             "the checkpoint was written from a broken quantization; re-export it");
}

bool is_scale_role(const graph::ParamInfo* pi) {
  return pi && (pi->role == graph::ParamRole::kWeightScale || pi->role == graph::ParamRole::kInputScale ||
                pi->role == graph::ParamRole::kGlobalScale);
}

// A parameter stacked from checkpoint tensors (ParamInfo::stacked_from): each source in order,
// its bytes appended, after checking its dtype and that its dims after the first equal the
// traced trailing dims (a transposed expert weight has the right size but not the right rows).
Tensor stacked_tensor(const graph::Graph& g, NodeId p, const graph::ParamInfo& pi, const tensor::TensorMeta& want,
                      const SafetensorsCheckpoint& ckpt, const LoadOptions& opt) {
  const std::string name(g.name(p));
  const std::optional<tensor::Shape> sizes = traced_sizes(g, want);
  if (!sizes) throw diag::InternalError(fmt::format("stacked parameter `{}` has unbound sizes", name));
  Tensor out = Tensor::empty(*sizes, want.dtype);
  std::size_t offset = 0;
  for (const std::string& src : pi.stacked_from) {
    if (ckpt.find(src) == nullptr)
      load_error(g, p, "missing-tensor",
                 fmt::format("`{}`, one of the {} tensors stacked into the graph's parameter `{}`, is not in the "
                             "checkpoint",
                             src, pi.stacked_from.size(), name),
                 "present", "absent");
    const std::string& file = ckpt.file_of(src).name();
    const Tensor t = ckpt.tensor(src);
    if (t.dtype() != want.dtype)
      load_error(g, p, "param-dtype",
                 fmt::format("tensor `{}` in {} (stacked into `{}`) is {}, the graph traced {}", src, file, name,
                             tensor::name(t.dtype()), tensor::name(want.dtype)),
                 std::string(tensor::name(want.dtype)), std::string(tensor::name(t.dtype())));
    const auto rest = static_cast<std::ptrdiff_t>(t.dim()) - 1;
    const bool fits = rest >= 0 && rest < static_cast<std::ptrdiff_t>(sizes->size()) &&
                      std::equal(t.sizes().begin() + 1, t.sizes().end(), sizes->end() - rest);
    if (!fits || offset + t.nbytes() > out.nbytes())
      load_error(g, p, "param-shape",
                 fmt::format("tensor `{}` in {} has shape {}, which does not stack into `{}` {}", src, file,
                             shape_str(t.sizes()), name, shape_str(*sizes)),
                 fmt::format("[*]{}", shape_str(tensor::Shape(sizes->end() - std::max<std::ptrdiff_t>(rest, 0), sizes->end()))),
                 shape_str(t.sizes()));
    if (is_scale_role(&pi) && opt.check_scales) check_scale_values(g, p, t, file);
    std::memcpy(static_cast<std::byte*>(out.data_ptr()) + offset, t.contiguous().data_ptr(), t.nbytes());
    offset += t.nbytes();
  }
  if (offset != out.nbytes())
    load_error(g, p, "param-shape",
               fmt::format("the {} tensors stacked into `{}` hold {} bytes, the traced {} needs {}",
                           pi.stacked_from.size(), name, offset, shape_str(*sizes), out.nbytes()),
               shape_str(*sizes), fmt::format("{} bytes", offset));
  return out;
}

}  // namespace

Tensor param_tensor(const graph::Graph& g, NodeId p, const SafetensorsCheckpoint& ckpt, const LoadOptions& opt,
                    bool* converted) {
  if (converted) *converted = false;
  const graph::PrepareRecord* rec = g.prepared(p);
  const tensor::TensorMeta& want = rec ? rec->original : g.meta({p, 0});
  const std::string name(g.name(p));
  if (const graph::ParamInfo* pi = g.param(p); pi && !pi->stacked_from.empty()) {
    if (ckpt.find(name) == nullptr && opt.extra)  // a caller-made stacked tensor (benchmarks)
      if (std::optional<Tensor> t = opt.extra(name, want)) return *std::move(t);
    return stacked_tensor(g, p, *pi, want, ckpt, opt);
  }
  const TensorInfo* info = ckpt.find(name);
  if (info == nullptr) {
    if (opt.extra)
      if (std::optional<Tensor> t = opt.extra(name, want)) return *std::move(t);
    load_error(g, p, "missing-tensor",
               fmt::format("the graph's parameter `{}` is not in the checkpoint ({} tensors)", name, ckpt.size()),
               fmt::format("{}{}", tensor::name(want.dtype), want.shape_str()), "absent",
               "the config describes a model this checkpoint does not hold (architecture, layers, tie_word_embeddings)");
  }
  const std::string& file = ckpt.file_of(name).name();
  Tensor t = ckpt.tensor(name);
  if (std::optional<tensor::Shape> ws = traced_sizes(g, want); ws && t.sizes() != *ws) {
    // [N] stored where [N, 1] was traced: the same numbers, a view.
    if (without_ones(t.sizes()) != without_ones(*ws))
      load_error(g, p, "param-shape",
                 fmt::format("tensor `{}` in {} has shape {}, the graph traced {}", name, file, shape_str(t.sizes()),
                             want.shape_str()),
                 shape_str(*ws), shape_str(t.sizes()));
    t = t.view(*ws);
  }
  const graph::ParamInfo* pi = g.param(p);
  const bool is_scale = pi && (pi->role == graph::ParamRole::kWeightScale || pi->role == graph::ParamRole::kInputScale ||
                               pi->role == graph::ParamRole::kGlobalScale);
  if (is_scale && opt.check_scales) check_scale_values(g, p, t, file);
  if (t.dtype() != want.dtype) {
    // Only plain float weights change dtype (a bf16 checkpoint computed in f32); quantized
    // codes and scales are data whose meaning depends on their exact dtype.
    if (!plain_float(t.dtype()) || !plain_float(want.dtype) || is_scale)
      load_error(g, p, "param-dtype",
                 fmt::format("tensor `{}` in {} is {}, the graph traced {}", name, file, tensor::name(t.dtype()),
                             tensor::name(want.dtype)),
                 std::string(tensor::name(want.dtype)), std::string(tensor::name(t.dtype())),
                 "only bf16/f16/f32 weights are converted at load; quantized tensors must match their kernel's dtype");
    t = t.to(want.dtype, tensor::Rounding::kRaw);
    if (converted) *converted = true;
  }
  return t;
}

LoadReport load_params(exec::Plan& plan, const SafetensorsCheckpoint& ckpt, const LoadOptions& opt) {
  const graph::Graph& g = plan.graph();
  LoadReport r;
  for (NodeId p : g.nodes_of_kind(graph::NodeKind::kParameter)) {
    if (g.node(p).dead) continue;
    bool converted = false;
    Tensor t = param_tensor(g, p, ckpt, opt, &converted);
    ++r.params;
    if (converted) {
      ++r.converted;
      r.bytes_converted += t.nbytes();
    } else {
      r.bytes_mapped += t.nbytes();
    }
    plan.set_param(g.name(p), std::move(t));
  }
  return r;
}

}  // namespace symtrace::model
