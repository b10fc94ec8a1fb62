#include "ops/common/view_rules.hpp"

#include <fmt/format.h>

namespace symtrace::ops {

SymShape infer_size(const op::FakeContext& cx, std::string_view argument,
                    const std::vector<SymInt>& shape, const SymInt& numel, std::string_view constraint) {
  std::optional<std::size_t> infer;
  SymInt newsize = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const auto v = shape[i].maybe_value();
    if (v && *v == -1) {
      if (infer)
        raise(cx.op, constraint, {"view", std::string(argument), "at most one -1", tensor::shape_str(shape),
                      "only one dimension can be inferred"});
      infer = i;
    } else if (v && *v < 0) {
      raise(cx.op, constraint, {"view", std::string(argument), "sizes >= 0 or one -1", tensor::shape_str(shape),
                    fmt::format("invalid shape dimension {}", *v)});
    } else {
      newsize = newsize * shape[i];
    }
  }
  const auto invalid = [&] {
    raise(cx.op, constraint, {"view", std::string(argument), fmt::format("{} elements", numel.str()),
                  tensor::shape_str(shape),
                  fmt::format("shape '{}' is invalid for input of size {}", tensor::shape_str(shape),
                              numel.str())});
  };
  SymShape out = shape;
  if (!infer) {
    if (!numel.identical(newsize) && !holds(cx.env, sym::eq(numel, newsize), fmt::format("{}: {} holds {} elements", cx.op,
                                                          tensor::shape_str(shape), numel.str())))
      invalid();
    return out;
  }
  if (proven_eq(cx.env, newsize, 0)) {
    if (proven_eq(cx.env, numel, 0))
      raise(cx.op, constraint, {"view", std::string(argument), "a shape without 0 beside -1",
                    tensor::shape_str(shape),
                    fmt::format("cannot reshape tensor of 0 elements into shape {} because the "
                                "unspecified dimension size -1 can be any value and is ambiguous",
                                tensor::shape_str(shape))});
    invalid();
  }
  const SymInt rem = sym::mod(numel, newsize);
  if (!rem.identical(SymInt(0)) && !holds(cx.env, sym::eq(rem, 0),
             fmt::format("{}: -1 in {} divides {} exactly", cx.op, tensor::shape_str(shape),
                         numel.str())))
    invalid();
  out[*infer] = cx.env.simplify(sym::floordiv(numel, newsize));
  return out;
}

namespace {

// How the chunk walk compares sizes. kStructural: only interned identity and constants — no
// ShapeEnv call, so the common views ([B, S, H*D] -> [B, S, H, D]) cost no decision; an answer
// found this way holds for every binding (the walk only assumed chunk boundaries, which is the
// stricter branch). kDecide: every comparison through the ShapeEnv, for what identity misses.
enum class Mode : std::uint8_t { kStructural, kDecide };

bool same(Mode mode, const sym::ShapeEnv& env, const SymInt& a, const SymInt& b) {
  if (mode == Mode::kStructural) return a.identical(b);
  return proven_eq(env, a, b);
}

std::optional<SymShape> walk(Mode mode, sym::ShapeEnv& env, const TensorMeta& x, const SymShape& shape,
                             bool guard) {
  const SymShape& oldshape = x.sizes;
  const SymShape& oldstride = x.strides;
  SymShape newstride(shape.size());
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  SymInt chunk_base_stride = oldstride.back();
  SymInt tensor_numel = 1;
  SymInt view_numel = 1;
  for (std::int64_t tensor_d = x.dim() - 1; tensor_d >= 0; --tensor_d) {
    const auto t = static_cast<std::size_t>(tensor_d);
    tensor_numel = tensor_numel * oldshape[t];
    // A chunk ends where the next-outer dim is not contiguous with this one (unless proven).
    const bool boundary = tensor_d == 0 || !(same(mode, env, oldstride[t - 1], tensor_numel * chunk_base_stride) ||
                                              same(mode, env, oldshape[t - 1], 1));
    if (!boundary) continue;
    while (view_d >= 0) {
      const auto v = static_cast<std::size_t>(view_d);
      if (same(mode, env, view_numel, tensor_numel) && !same(mode, env, shape[v], 1)) break;
      newstride[v] = view_numel * chunk_base_stride;
      view_numel = view_numel * shape[v];
      --view_d;
    }
    if (!view_numel.identical(tensor_numel)) {
      if (mode == Mode::kStructural) return std::nullopt;
      const sym::Cond covered = sym::eq(view_numel, tensor_numel);
      if (guard ? !holds(env, covered,
                         fmt::format("view of {} as {}: dims cover one contiguous chunk",
                                     x.shape_str(), tensor::shape_str(shape)))
                : !proven(env, covered))
        return std::nullopt;
    }
    if (tensor_d > 0) {
      chunk_base_stride = oldstride[t - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  for (SymInt& s : newstride)
    if (s.is_symbolic()) s = env.simplify(s);
  return newstride;
}

}  // namespace

std::optional<SymShape> view_strides(sym::ShapeEnv& env, const TensorMeta& x, const SymShape& shape,
                                     bool guard) {
  const SymShape& oldshape = x.sizes;
  if (oldshape.empty()) return SymShape(shape.size(), SymInt(1));
  const SymInt numel = product(oldshape);
  const bool zero_numel = proven_eq(env, numel, 0);
  bool same_shape = oldshape.size() == shape.size();
  for (std::size_t i = 0; same_shape && i < shape.size(); ++i)
    same_shape = oldshape[i].identical(shape[i]);
  if (zero_numel && same_shape) return x.strides;
  if (zero_numel) {
    SymShape newstride(shape.size());
    for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 1; d >= 0; --d) {
      const auto i = static_cast<std::size_t>(d);
      newstride[i] = i + 1 == shape.size() ? SymInt(1) : sym::max(shape[i + 1], 1) * newstride[i + 1];
    }
    return newstride;
  }
  // Concrete sizes decide exactly in one walk; symbolic ones try identity first.
  bool concrete = true;
  for (const SymInt& s : oldshape) concrete = concrete && s.is_concrete();
  for (const SymInt& s : x.strides) concrete = concrete && s.is_concrete();
  for (const SymInt& s : shape) concrete = concrete && s.is_concrete();
  if (!concrete)
    if (auto fast = walk(Mode::kStructural, env, x, shape, guard)) return fast;
  return walk(Mode::kDecide, env, x, shape, guard);
}

std::optional<TensorMeta> view_meta(sym::ShapeEnv& env, const TensorMeta& x, const SymShape& shape,
                                    bool guard) {
  auto strides = view_strides(env, x, shape, guard);
  if (!strides) return std::nullopt;
  return restride(x, shape, std::move(*strides), x.storage_offset);
}

TensorMeta reshape_meta(sym::ShapeEnv& env, const TensorMeta& x, const SymShape& shape) {
  if (auto v = view_meta(env, x, shape, /*guard=*/false)) return *v;
  TensorMeta out = TensorMeta::contiguous(shape, x.dtype, x.device);
  out.layout = x.layout;
  out.scale_fmt = x.scale_fmt;
  return out;
}

tensor::Shape infer_size(std::string_view op, std::vector<std::int64_t> shape, std::int64_t numel) {
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) diag::fail("view", fmt::format("{}: only one dimension can be inferred", op));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      diag::fail("view", fmt::format("{}: invalid shape dimension {}", op, shape[i]));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known != 0 && numel % known == 0) shape[static_cast<std::size_t>(infer)] = numel / known;
  else if (infer >= 0 || known != numel)
    diag::fail("view", fmt::format("{}: shape '{}' is invalid for input of size {}", op,
                                   shape_str(shape), numel));
  return shape;
}

void raise_not_viewable(std::string_view op, const TensorMeta& x, const SymShape& shape,
                        std::string_view constraint) {
  raise(op, constraint, {"view", "self", fmt::format("a layout viewable as {}", tensor::shape_str(shape)),
             fmt::format("{} strides {}", x.shape_str(), tensor::shape_str(x.strides)),
             "view size is not compatible with input tensor's size and stride (at least one "
             "dimension spans across two contiguous subspaces). Use .reshape(...) instead."});
}

}  // namespace symtrace::ops
