// Helpers of the architecture tests: building a checkpoint's graph, comparing its parameters
// with the checkpoint's tensors, and running it through an exec::Plan.
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <symtrace/exec/plan.hpp>
#include <symtrace/graph/passes.hpp>
#include <symtrace/model/architecture.hpp>
#include <symtrace/model/safetensors.hpp>

namespace symtrace::model::testing {

// Graph parameter values for the config symbols (and B = S = 1 for the inputs).
inline sym::Bindings config_bindings(const graph::Graph& g) {
  std::map<std::string, std::int64_t, std::less<>> v(g.config_values().begin(),
                                                     g.config_values().end());
  v["B"] = 1, v["S"] = 1;
  if (g.env().find_symbol("past")) v["past"] = 0;
  return g.env().bind(v);
}

inline std::vector<std::int64_t> concrete(const graph::Graph& g, const tensor::SymShape& s,
                                          const sym::Bindings& b) {
  std::vector<std::int64_t> out;
  for (const sym::SymInt& d : s) out.push_back(g.env().evaluate(d, b));
  return out;
}

inline std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string r = "[";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// Every parameter of the graph is a checkpoint tensor with the same shape and dtype, and
// (with all_read) every checkpoint tensor is a parameter.
inline void expect_params_match(const graph::Graph& g, const SafetensorsCheckpoint& ckpt,
                                bool all_read = true) {
  const sym::Bindings b = config_bindings(g);
  std::set<std::string> params;
  for (graph::NodeId id : g.nodes_of_kind(graph::NodeKind::kParameter)) {
    const std::string name(g.name(id));
    params.insert(name);
    const TensorInfo* t = ckpt.find(name);
    if (t == nullptr) {
      ADD_FAILURE() << "parameter " << name << " is not in the checkpoint";
      continue;
    }
    const graph::PrepareRecord* prep = g.prepared(id);
    const tensor::TensorMeta& m = prep ? prep->original : g.meta({id, 0});
    EXPECT_EQ(shape_str(concrete(g, m.sizes, b)), shape_str(t->shape)) << name;
    EXPECT_EQ(tensor::name(m.dtype), tensor::name(t->dtype)) << name;
  }
  if (!all_read) return;
  for (const std::string& n : ckpt.names())
    EXPECT_TRUE(params.count(n)) << "checkpoint tensor " << n << " is not read by the graph";
}

inline std::string errors_of(const graph::Graph& g) {
  std::string out;
  for (const graph::Finding& f : g.findings())
    if (f.diag.severity == diag::Severity::kError) out += graph::render(g, f) + "\n";
  return out;
}

// A plan with every parameter loaded from the checkpoint (converted to the parameter's dtype).
inline exec::Plan load_plan(const graph::Graph& g, const SafetensorsCheckpoint& ckpt) {
  exec::Plan plan(g);
  for (graph::NodeId id : g.nodes_of_kind(graph::NodeKind::kParameter)) {
    if (g.node(id).dead) continue;
    const std::string name(g.name(id));
    const graph::PrepareRecord* prep = g.prepared(id);
    const tensor::DType want = (prep ? prep->original : g.meta({id, 0})).dtype;
    tensor::Tensor t = ckpt.tensor(name);
    plan.set_param(name, t.dtype() == want ? t : t.to(want));
  }
  return plan;
}

inline tensor::Tensor ids_tensor(const std::vector<std::vector<std::int64_t>>& rows) {
  const auto B = static_cast<std::int64_t>(rows.size());
  const auto S = static_cast<std::int64_t>(rows[0].size());
  tensor::Tensor t = tensor::Tensor::empty({B, S}, tensor::DType::kI64);
  for (std::int64_t i = 0; i < B; ++i)
    for (std::int64_t j = 0; j < S; ++j) t.data<std::int64_t>()[i * S + j] = rows[i][j];
  return t;
}

inline tensor::Tensor positions_tensor(std::int64_t B, std::int64_t S, std::int64_t start = 0) {
  tensor::Tensor t = tensor::Tensor::empty({B, S}, tensor::DType::kI64);
  for (std::int64_t i = 0; i < B * S; ++i) t.data<std::int64_t>()[i] = start + i % S;
  return t;
}

struct Diff {
  double max_abs = 0, rel_l2 = 0;
};
inline Diff diff(const tensor::Tensor& got, const tensor::Tensor& want) {
  const std::vector<double> a = got.to_f64(), b = want.to_f64();
  Diff d;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    d.max_abs = std::max(d.max_abs, std::abs(a[i] - b[i]));
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  d.rel_l2 = std::sqrt(num / std::max(den, 1e-300));
  if (a.size() != b.size()) d.max_abs = d.rel_l2 = INFINITY;
  return d;
}

}  // namespace symtrace::model::testing
