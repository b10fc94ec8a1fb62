// meta_shapes.json replay handlers for the elementwise ops and type promotion: add over all 8×8
// dtype pairs, mul, Python int/float/bool scalars, 0-d tensors, div, floor_divide, where, fp8
// (the meta kernels' answers, see ops/common/elementwise.hpp) and Tensor.to.
#include <string>

#include "tests/ops/meta_shapes_replay.hpp"

namespace symtrace::replay {
namespace {

// Tensor-tensor forms: the case op names the PyTorch function and what it probes.
const Registrar kBinary({"add", "add_broadcast", "add_bad_broadcast", "add_zero_dim", "add_fp8"},
                        [](const MetaCase& c, sym::ShapeEnv& env) { return fake("add", {c.tensor(0), c.tensor(1)}, env); });
const Registrar kMul({"mul", "mul_fp8_fp8"},
                     [](const MetaCase& c, sym::ShapeEnv& env) { return fake("mul", {c.tensor(0), c.tensor(1)}, env); });
const Registrar kDiv({"div", "floor_divide"},
                     [](const MetaCase& c, sym::ShapeEnv& env) { return fake(c.op, {c.tensor(0), c.tensor(1)}, env); });
const Registrar kWhere({"where"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("where", {c.tensor(0), c.tensor(1), c.tensor(2)}, env);
});

// "x + 3", "x * 2.5", "x + True": the Python scalar is only in the call text.
op::Value scalar_in_call(const MetaCase& c) {
  const std::string& s = c.call;
  const std::size_t at = s.find_first_of("+*") + 1;
  const std::string tok = s.substr(s.find_first_not_of(' ', at));
  if (tok.starts_with("True")) return true;
  if (tok.starts_with("False")) return false;
  if (tok.find('.') != std::string::npos) return std::stod(tok);
  return SymInt(static_cast<std::int64_t>(std::stoll(tok)));
}

const Registrar kScalar({"add_scalar_int", "add_scalar_bool", "mul_scalar_float"},
                        [](const MetaCase& c, sym::ShapeEnv& env) {
                          const std::string op = c.op.starts_with("mul") ? "mul_scalar" : "add_scalar";
                          return fake(op, {c.tensor(0), scalar_in_call(c)}, env);
                        });

const Registrar kTo({"to_fp8"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  // x.to(torch.float8_e4m3fn)
  const std::size_t b = c.call.find("torch.") + 6, e = c.call.find(')', b);
  const auto dtype = dtype_from_torch(c.call.substr(b, e - b));
  if (!dtype) throw diag::InternalError("case " + std::to_string(c.id) + ": dtype in " + c.call);
  return fake("to", {c.tensor(0), *dtype}, env);
});

}  // namespace
}  // namespace symtrace::replay
