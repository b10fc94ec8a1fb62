// Parameter checks of verify: every scale against the weight it scales (OPS.md §3).
//
// The expected shape comes from the weight's layout tag, never from its shape: a KN weight
// [K, N] expects a per-channel scale [1, N] even when N == K, and config dims traced as
// distinct symbols make [K, N] and [N, K] differ even where their values coincide.
#include <algorithm>

#include <fmt/format.h>

#include "graph/graph_impl.hpp"
#include "graph/pass_util.hpp"
#include "graph/verify_checks.hpp"

namespace symtrace::graph {

namespace {

WeightLayout normal(WeightLayout l) { return l == WeightLayout::kNone ? WeightLayout::kNK : l; }

std::optional<DType> dtype_for(ScaleFormat f) {
  switch (f) {
    case ScaleFormat::kF32:
    case ScaleFormat::kF32Pow2: return DType::kF32;
    case ScaleFormat::kUE8M0: return DType::kF8E8M0FNU;
    case ScaleFormat::kUE8M0Packed4: return DType::kI32;
    case ScaleFormat::kE4M3: return DType::kF8E4M3FN;
    case ScaleFormat::kNone: return std::nullopt;
  }
  return std::nullopt;
}

// The canonical scale shape for `info` on a weight of meta `w` (nullopt: not checked).
std::optional<SymShape> expected_shape(const ParamInfo& info, const TensorMeta& w,
                                       ScaleFormat fmt) {
  const WeightLayout layout = normal(w.layout);
  if (layout == WeightLayout::kPacked || w.dim() < 2) return std::nullopt;
  const auto r = static_cast<std::size_t>(w.dim());
  SymShape lead(w.sizes.begin(), w.sizes.end() - 2);  // [E] for stacked experts
  const bool kn = layout == WeightLayout::kKN;
  const sym::SymInt N = kn ? w.sizes[r - 1] : w.sizes[r - 2];
  const sym::SymInt K = kn ? w.sizes[r - 2] : w.sizes[r - 1];
  auto with = [&](std::initializer_list<sym::SymInt> tail) {
    SymShape s = lead;
    s.insert(s.end(), tail.begin(), tail.end());
    return s;
  };
  switch (info.granularity) {
    case Granularity::kTensor: return lead.empty() ? SymShape{1} : lead;
    case Granularity::kChannel: return kn ? with({1, N}) : with({N, 1});
    case Granularity::kBlock: {
      if (info.block_n <= 0 || info.block_k <= 0) return std::nullopt;
      const sym::SymInt nb = sym::ceildiv(N, info.block_n), kb = sym::ceildiv(K, info.block_k);
      if (fmt == ScaleFormat::kUE8M0Packed4) return with({N, sym::ceildiv(kb, 4)});
      return kn ? with({kb, nb}) : with({nb, kb});
    }
    case Granularity::kGroup: {
      if (info.group <= 0) return std::nullopt;
      const sym::SymInt kg = sym::ceildiv(K, info.group);
      return kn ? with({kg, N}) : with({N, kg});
    }
    case Granularity::kNone:
    case Granularity::kToken: return std::nullopt;
  }
  return std::nullopt;
}

Finding scale_finding(const Graph& g, NodeId p, std::string code, std::string message) {
  Finding f;
  f.node = p;
  f.pass = "verify";
  f.diag.code = std::move(code);
  f.diag.argument = std::string(g.name(p));
  f.diag.message = std::move(message);
  return f;
}

void add_related(const Graph& g, Finding& f, NodeId weight, NodeId scale) {
  f.related.push_back(weight);
  for (NodeId x : {weight, scale})
    if (const PrepareRecord* rec = g.prepared(x)) f.related.push_back(rec->by);
  std::sort(f.related.begin(), f.related.end());
  f.related.erase(std::unique(f.related.begin(), f.related.end()), f.related.end());
}

}  // namespace

void check_parameter(Graph& g, NodeId p) {
  const ParamInfo* info = g.param(p);
  if (!info || info->weight == kNoNode) return;
  if (info->role != ParamRole::kWeightScale && info->role != ParamRole::kZeroPoint) return;
  const NodeId w = info->weight;
  const TensorMeta& wm = g.meta({w, 0});
  const TensorMeta& sm = g.meta({p, 0});
  const std::string wname(g.name(w));

  // Tags first: a scale tagged for another layout than its weight is the transpose bug.
  if (sm.layout != WeightLayout::kNone && normal(sm.layout) != normal(wm.layout)) {
    Finding f = scale_finding(
        g, p, "scale-layout",
        fmt::format("`{}` is laid out for a {} weight but `{}` is {}", g.name(p),
                    tensor::weight_layout_name(normal(sm.layout)), wname,
                    tensor::weight_layout_name(normal(wm.layout))));
    f.diag.expected = fmt::format("layout {}", tensor::weight_layout_name(normal(wm.layout)));
    f.diag.got = fmt::format("layout {}", tensor::weight_layout_name(normal(sm.layout)));
    f.diag.hint = "a weight and its scales are transposed together, by one prepare step "
                  "(OPS.md §0 weight layout rule, §14.2)";
    add_related(g, f, w, p);
    g.add_finding(std::move(f));
    return;
  }

  const ScaleFormat fmt = info->role == ParamRole::kZeroPoint ? ScaleFormat::kNone : sm.scale_fmt;
  if (auto want = expected_shape(*info, wm, fmt)) {
    bool proven_false = false, ok = want->size() == sm.sizes.size();
    for (std::size_t i = 0; ok && i < want->size(); ++i)
      ok = same_dim(g, (*want)[i], sm.sizes[i], proven_false);
    if (!ok) {
      Finding f = scale_finding(
          g, p, "scale-layout",
          fmt::format("{} {} `{}` does not fit {} weight `{}` {}", granularity_name(info->granularity),
                      param_role_name(info->role), g.name(p),
                      tensor::weight_layout_name(normal(wm.layout)), wname, wm.shape_str()));
      f.diag.expected = tensor::shape_str(*want);
      f.diag.got = sm.shape_str();
      f.diag.proven = want->size() != sm.sizes.size() || proven_false;
      if (want->size() == sm.sizes.size() + 1)
        f.diag.hint = "per-channel scales stored without their unit dim (Quark stores [N] / "
                      "[E, N]); the loader must append the trailing 1 (OPS.md §3 rule 2)";
      else if (info->granularity == Granularity::kChannel)
        f.diag.hint = "a per-channel scale binds to the weight's output-channel axis in its "
                      "current layout: [N, 1] for NK, [1, N] for KN (OPS.md §3 rule 1)";
      f.diag.notes = provenance(g, {&*want, &sm.sizes, &wm.sizes});
      add_related(g, f, w, p);
      g.add_finding(std::move(f));
    }
  }

  if (fmt != ScaleFormat::kNone) {
    auto dt = dtype_for(fmt);
    bool ok = !dt || *dt == sm.dtype ||
              (fmt == ScaleFormat::kUE8M0 && sm.dtype == DType::kU8);  // raw exponent bytes
    if (!ok) {
      Finding f = scale_finding(g, p, "scale-dtype",
                                fmt::format("`{}` is tagged {} but holds {}", g.name(p),
                                            tensor::scale_format_name(fmt),
                                            tensor::name(sm.dtype)));
      f.diag.expected = std::string(tensor::name(*dt));
      f.diag.got = std::string(tensor::name(sm.dtype));
      add_related(g, f, w, p);
      g.add_finding(std::move(f));
    }
  }
}

}  // namespace symtrace::graph
