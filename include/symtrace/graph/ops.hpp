// Typed wrappers over Tracer::call for the common built-in ops, so model code reads like
// model code:
//
//   graph::Traced h = graph::rms_norm(x, norm_w, 1e-5);
//   graph::Traced q = graph::view(graph::linear(h, wq), {B, S, Hq, D});
//
// Each records the caller's source line; the op runs through the handle's tracer (and its
// registry), so a registry with the same op names works too.
#pragma once

#include <optional>
#include <symtrace/diag/source_location.hpp>
#include <string>
#include <utility>
#include <vector>

#include <symtrace/graph/tracer.hpp>

namespace symtrace::graph {

using Loc = symtrace::SourceLocation;

Traced linear(const Traced& x, const Traced& w, std::optional<Traced> bias = std::nullopt,
              Loc loc = Loc::current());
Traced matmul(const Traced& a, const Traced& b, Loc loc = Loc::current());
Traced embedding(const Traced& ids, const Traced& table, Loc loc = Loc::current());
Traced rms_norm(const Traced& x, const Traced& w, double eps, Loc loc = Loc::current());
// (normalised x + residual, x + residual)
std::pair<Traced, Traced> fused_add_rms_norm(const Traced& x, const Traced& residual,
                                             const Traced& w, double eps,
                                             Loc loc = Loc::current());
Traced add(const Traced& a, const Traced& b, Loc loc = Loc::current());
Traced mul(const Traced& a, const Traced& b, Loc loc = Loc::current());
Traced silu_and_mul(const Traced& x, Loc loc = Loc::current());
Traced softmax(const Traced& x, std::int64_t dim, Loc loc = Loc::current());
std::pair<Traced, Traced> topk(const Traced& x, std::int64_t k, Loc loc = Loc::current());

Traced view(const Traced& x, std::vector<sym::SymInt> shape, Loc loc = Loc::current());
Traced reshape(const Traced& x, std::vector<sym::SymInt> shape, Loc loc = Loc::current());
Traced transpose(const Traced& x, std::int64_t dim0, std::int64_t dim1, Loc loc = Loc::current());
Traced permute(const Traced& x, std::vector<sym::SymInt> dims, Loc loc = Loc::current());
Traced contiguous(const Traced& x, Loc loc = Loc::current());
Traced cat(std::vector<Traced> xs, std::int64_t dim, Loc loc = Loc::current());

// OPS.md §11.3: q [*, Hq, D], k [*, Hkv, D], positions [*], cos_sin [P, rd].
std::pair<Traced, Traced> rotary(const Traced& q, const Traced& k, const Traced& positions,
                                 const Traced& cos_sin, std::string style,
                                 std::int64_t rotary_dim, Loc loc = Loc::current());
// OPS.md §11.5: q [B, S, Hq, D], k/v [B, T, Hkv, D]; q_offset = T - S (tokens cached).
Traced attention(const Traced& q, const Traced& k, const Traced& v, double scale,
                 sym::SymInt q_offset, bool causal = true, Loc loc = Loc::current());

}  // namespace symtrace::graph
