// Replay of refdata/meta_shapes.json (PyTorch's meta-device results) through our fakes.
//
// Each case is a PyTorch call on meta tensors (given by shape, stride, storage offset, dtype)
// with its outputs or the error it raised. A handler, registered by the case's "op" string,
// maps the call onto our ops and returns the output metas (or lets the fake's diag::Error
// out). The test (meta_shapes_replay.cpp) replays every case: outputs must match exactly,
// errors must be errors, and a case whose op has no handler fails — coverage is complete only
// when every op string has one. Handlers live beside their ops' owners:
//
//   // tests/ops/replay_nn.cpp
//   const replay::Registrar kSoftmax({"softmax"}, [](const replay::MetaCase& c, sym::ShapeEnv& env) {
//     return replay::fake("softmax", {c.tensor(0), SymInt(c.arg_int("dim"))}, env);
//   });
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>  // handlers format their messages

#include <symtrace/op/registry.hpp>

namespace symtrace::replay {

using sym::SymInt;
using tensor::DType;
using tensor::TensorMeta;

// PyTorch dtype spellings ("float32", "bfloat16", "float8_e4m3fn", "int16", ...).
std::optional<DType> dtype_from_torch(std::string_view name);

struct ExpectedMeta {
  std::vector<std::int64_t> shape, stride;
  std::int64_t storage_offset = 0;
  std::string dtype;  // PyTorch spelling
};

struct MetaCase {
  int id = 0;
  std::string op;    // "view", "add_scalar_int", ...
  std::string call;  // the PyTorch expression, for reading
  boost::json::array inputs;
  boost::json::object args;
  std::vector<ExpectedMeta> outputs;
  std::optional<std::string> error;  // PyTorch's message when it raised

  // Input i as a meta tensor (concrete sizes/strides/offset, device meta). A dtype symtrace
  // lacks throws diag::Error (code "dtype"), which fails a success case.
  TensorMeta tensor(std::size_t i) const;
  // Input i as a Python scalar: SymInt (int), double (float) or bool.
  op::Value scalar(std::size_t i) const;
  std::size_t num_inputs() const { return inputs.size(); }

  bool has_arg(std::string_view name) const;  // present and not null
  std::int64_t arg_int(std::string_view name) const;
  std::optional<std::int64_t> arg_opt_int(std::string_view name) const;  // null -> nullopt
  bool arg_is_list(std::string_view name) const;
  std::vector<SymInt> arg_ints(std::string_view name) const;  // a list (or one int as [int])
  double arg_f64(std::string_view name) const;
  // Integers written in the call text, in order ("x.unflatten(1, (5, -1))" -> 1, 5, -1), for
  // the cases whose arguments are only spelled out there.
  std::vector<std::int64_t> call_ints() const;
};

std::vector<MetaCase> load_meta_cases();  // SYMTRACE_REFDATA_DIR/meta_shapes.json

// A case where PyTorch's meta kernel is looser than its own eager kernel and symtrace follows
// the kernel (OPS.md §14 pitfall 15: a fake is neither stricter nor looser than the real
// kernel): the meta call succeeded, eager raises, and the replay expects our error.
struct MetaLooseness {
  int id;
  const char* why;
};
const MetaLooseness* meta_looseness(int case_id);  // nullptr: the case replays as recorded

using Handler = std::function<std::vector<TensorMeta>(const MetaCase&, sym::ShapeEnv&)>;
void add_handler(std::string op, Handler h);  // a second handler for an op is a test bug
const Handler* find_handler(std::string_view op);

// Registers one handler for several case ops at static-initialisation time.
struct Registrar {
  Registrar(std::initializer_list<std::string_view> ops, const Handler& h);
};

// The fake of a built-in op on these arguments (bound to its schema), outputs flattened into
// metas (a Tensor[] output contributes each element).
std::vector<TensorMeta> fake(std::string_view op, std::vector<op::Value> positional, sym::ShapeEnv& env,
                             const std::vector<std::pair<std::string, op::Value>>& named = {});

}  // namespace symtrace::replay
