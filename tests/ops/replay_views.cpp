// meta_shapes.json replay handlers for the view and shape ops, cat/stack/split/chunk/unbind and
// the index ops. A case names its arguments by its lambda's letters (s = shape, d = dim, ...);
// a few spell them only in the call text (call_ints).
#include "tests/ops/meta_shapes_replay.hpp"

namespace symtrace::replay {
namespace {

using op::Value;

std::vector<TensorMeta> tensors(const MetaCase& c) {
  std::vector<TensorMeta> ts;
  for (std::size_t i = 0; i < c.num_inputs(); ++i) ts.push_back(c.tensor(i));
  return ts;
}

SymInt i(std::int64_t v) { return SymInt(v); }

Value opt_int(const MetaCase& c, std::string_view name) {
  if (auto v = c.arg_opt_int(name)) return SymInt(*v);
  return op::None{};
}

const Registrar kView({"view"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("view", {c.tensor(0), c.arg_ints("s")}, env);
});
const Registrar kReshape({"reshape"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("reshape", {c.tensor(0), c.arg_ints("s")}, env);
});
const Registrar kTranspose({"transpose"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("transpose", {c.tensor(0), i(c.arg_int("a")), i(c.arg_int("b"))}, env);
});
const Registrar kT({"t", "mT", "contiguous", "clone", "silu"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake(c.op, {c.tensor(0)}, env);
});
const Registrar kPermute({"permute"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("permute", {c.tensor(0), c.arg_ints("p")}, env);
});
const Registrar kExpand({"expand"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("expand", {c.tensor(0), c.arg_ints("s")}, env);
});
const Registrar kUnsqueeze({"unsqueeze"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("unsqueeze", {c.tensor(0), i(c.arg_int("d"))}, env);
});
const Registrar kSqueeze({"squeeze"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  if (!c.has_arg("d")) return fake("squeeze", {c.tensor(0)}, env);  // x.squeeze(): every unit dim
  return fake("squeeze", {c.tensor(0), c.arg_ints("d")}, env);
});
const Registrar kFlatten({"flatten"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  if (c.has_arg("s")) return fake("flatten", {c.tensor(0), i(c.arg_int("s")), i(c.arg_int("e"))}, env);
  const std::vector<std::int64_t> v = c.call_ints();  // x.flatten() or x.flatten(1, 2)
  if (v.empty()) return fake("flatten", {c.tensor(0)}, env);
  return fake("flatten", {c.tensor(0), i(v.at(0)), i(v.at(1))}, env);
});
const Registrar kUnflatten({"unflatten"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  const std::vector<std::int64_t> v = c.call_ints();  // x.unflatten(dim, (a, b, ...))
  return fake("unflatten", {c.tensor(0), i(v.at(0)), std::vector<SymInt>(v.begin() + 1, v.end())}, env);
});
const Registrar kNarrow({"narrow"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("narrow", {c.tensor(0), i(c.arg_int("d")), i(c.arg_int("s")), i(c.arg_int("l"))}, env);
});
const Registrar kSlice({"slice"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("slice", {c.tensor(0), i(c.arg_int("dim")), opt_int(c, "start"), opt_int(c, "end"), i(c.arg_int("step"))},
              env);
});
const Registrar kSelect({"select"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("select", {c.tensor(0), i(c.arg_int("d")), i(c.arg_int("i"))}, env);
});
const Registrar kCat({"cat", "stack"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake(c.op, {tensors(c), i(c.arg_int("dim"))}, env);
});
const Registrar kSplit({"split"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  // Tensor.split takes an int (split) or a list (split_with_sizes).
  if (c.arg_is_list("s")) return fake("split_with_sizes", {c.tensor(0), c.arg_ints("s"), i(c.arg_int("d"))}, env);
  return fake("split", {c.tensor(0), i(c.arg_int("s")), i(c.arg_int("d"))}, env);
});
const Registrar kChunk({"chunk"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("chunk", {c.tensor(0), i(c.arg_int("n")), i(c.arg_int("d"))}, env);
});
const Registrar kUnbind({"unbind"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("unbind", {c.tensor(0), i(c.call_ints().at(0))}, env);  // x.unbind(dim)
});
const Registrar kIndex({"index"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("index", {c.tensor(0), c.tensor(1)}, env);  // x[idx]
});
const Registrar kIndexSelect({"index_select"}, [](const MetaCase& c, sym::ShapeEnv& env) {
  return fake("index_select", {c.tensor(0), i(c.call_ints().at(0)), c.tensor(1)}, env);  // x.index_select(dim, idx)
});

}  // namespace
}  // namespace symtrace::replay
