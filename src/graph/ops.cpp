// Typed wrappers over Tracer::call (argument names as in the ops' schemas).
#include <symtrace/graph/ops.hpp>

namespace symtrace::graph {

namespace {

std::pair<Traced, Traced> two(std::vector<Traced> out) {
  if (out.size() != 2) throw diag::InternalError("expected an op with two outputs");
  return {out[0], out[1]};
}

}  // namespace

Traced linear(const Traced& x, const Traced& w, std::optional<Traced> bias, Loc loc) {
  return x.tracer().call("linear", {x, w, bias}, {}, loc);
}
Traced matmul(const Traced& a, const Traced& b, Loc loc) {
  return a.tracer().call("matmul", {a, b}, {}, loc);
}
Traced embedding(const Traced& ids, const Traced& table, Loc loc) {
  return ids.tracer().call("embedding", {ids, table}, {}, loc);
}
Traced rms_norm(const Traced& x, const Traced& w, double eps, Loc loc) {
  return x.tracer().call("rms_norm", {x, w, eps}, {}, loc);
}
std::pair<Traced, Traced> fused_add_rms_norm(const Traced& x, const Traced& residual,
                                             const Traced& w, double eps, Loc loc) {
  return two(x.tracer().call_all("fused_add_rms_norm", {x, residual, w, eps}, {}, loc));
}
Traced add(const Traced& a, const Traced& b, Loc loc) {
  return a.tracer().call("add", {a, b}, {}, loc);
}
Traced mul(const Traced& a, const Traced& b, Loc loc) {
  return a.tracer().call("mul", {a, b}, {}, loc);
}
Traced silu_and_mul(const Traced& x, Loc loc) {
  return x.tracer().call("silu_and_mul", {x}, {}, loc);
}
Traced softmax(const Traced& x, std::int64_t dim, Loc loc) {
  return x.tracer().call("softmax", {x, dim}, {}, loc);
}
std::pair<Traced, Traced> topk(const Traced& x, std::int64_t k, Loc loc) {
  return two(x.tracer().call_all("topk", {x, k}, {}, loc));
}
Traced view(const Traced& x, std::vector<sym::SymInt> shape, Loc loc) {
  return x.tracer().call("view", {x, std::move(shape)}, {}, loc);
}
Traced reshape(const Traced& x, std::vector<sym::SymInt> shape, Loc loc) {
  return x.tracer().call("reshape", {x, std::move(shape)}, {}, loc);
}
Traced transpose(const Traced& x, std::int64_t dim0, std::int64_t dim1, Loc loc) {
  return x.tracer().call("transpose", {x, dim0, dim1}, {}, loc);
}
Traced permute(const Traced& x, std::vector<sym::SymInt> dims, Loc loc) {
  return x.tracer().call("permute", {x, std::move(dims)}, {}, loc);
}
Traced contiguous(const Traced& x, Loc loc) {
  return x.tracer().call("contiguous", {x}, {}, loc);
}
Traced cat(std::vector<Traced> xs, std::int64_t dim, Loc loc) {
  if (xs.empty()) throw diag::InternalError("graph::cat of no tensors");
  Tracer& tr = xs.front().tracer();
  return tr.call("cat", {std::move(xs), dim}, {}, loc);
}
std::pair<Traced, Traced> rotary(const Traced& q, const Traced& k, const Traced& positions,
                                 const Traced& cos_sin, std::string style,
                                 std::int64_t rotary_dim, Loc loc) {
  return two(q.tracer().call_all("rotary", {q, k, positions, cos_sin},
                                 {{"style", std::move(style)}, {"rotary_dim", rotary_dim}}, loc));
}
Traced attention(const Traced& q, const Traced& k, const Traced& v, double scale,
                 sym::SymInt q_offset, bool causal, Loc loc) {
  return q.tracer().call("attention", {q, k, v},
                         {{"scale", scale}, {"causal", causal}, {"q_offset", q_offset}}, loc);
}

}  // namespace symtrace::graph
