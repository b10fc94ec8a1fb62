// gelu(self, *, approximate='none'): 0.5·x·(1 + erf(x/√2)) exactly, or with approximate='tanh'
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) — PyTorch's two forms; floats only.
//   C2: approximate is 'none' or 'tanh'                                           code "value"
#include <cmath>
#include <numbers>

#include "ops/common/samples.hpp"
#include "ops/common/unary_op.hpp"

namespace symtrace::ops {
namespace {

void check(const op::Args& a, std::string_view op) {
  const std::string& mode = a.str("approximate");
  if (mode != "none" && mode != "tanh")  // C2
    raise(op, "C2", {"value", "approximate", "'none' or 'tanh'", "'" + mode + "'",
               "approximate argument must be either none or tanh."});
}

std::function<double(double)> element(const op::Args& a) {
  if (a.str("approximate") == "tanh")
    return [](double x) {
      const double k = std::sqrt(2 / std::numbers::pi);
      return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x)));
    };
  return [](double x) { return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2)); };
}

std::vector<op::Sample> extra(std::uint64_t seed) {
  const Tensor x = samples::random({3, 11}, DType::kBF16, seed, -5.f, 5.f);
  return {{"tanh", {x, std::string("tanh")}},
          {"none_named", {x, std::string("none")}},
          {"bad_mode", {x, std::string("fast")}, true}};
}

}  // namespace

void register_gelu(op::Registry& r) {
  register_unary(r, {.name = "gelu",
                     .doc = "x·Φ(x), exact (erf) or tanh-approximated",
                     .extra_args = ", str approximate='none'",
                     .result = UnarySpec::Result::kFloatOnly,
                     .check = check,
                     .f64 = element,
                     .extra_samples = extra,
                     .extra_constraints = {"C2: approximate is 'none' or 'tanh'"}});
}

}  // namespace symtrace::ops
