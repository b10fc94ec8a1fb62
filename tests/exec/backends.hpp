// Two backends for model code written once: tracing into a graph, or eager op calls on
// tensors. Tests run the same template on both and compare the Plan with the eager result.
#pragma once

#include <string_view>
#include <vector>

#include <symtrace/graph/tracer.hpp>
#include <symtrace/op/registry.hpp>

namespace symtrace::exec::testing {

struct TraceBackend {
  using T = graph::Traced;
  using A = graph::Arg;
  graph::Tracer& tr;
  T call(std::string_view op, std::vector<A> args) { return tr.call(op, std::move(args)); }
  std::vector<T> call_all(std::string_view op, std::vector<A> args) {
    return tr.call_all(op, std::move(args));
  }
  auto scope(std::string_view name) { return tr.scope(name); }
};

struct EagerBackend {
  using T = tensor::Tensor;
  using A = op::Value;
  const op::Registry& reg;
  T call(std::string_view op, std::vector<A> args) { return call_all(op, std::move(args)).at(0); }
  std::vector<T> call_all(std::string_view op, std::vector<A> args) {
    std::vector<T> out;
    for (op::Value& v : op::call(reg.get(op), std::move(args)))
      out.push_back(boost::variant2::get<T>(std::move(v)));
    return out;
  }
  int scope(std::string_view) { return 0; }
};

}  // namespace symtrace::exec::testing
