// Memory planning: liveness, in-place reuse, size classes packed with integer offsets.
#include <symtrace/graph/memory_plan.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "graph/graph_impl.hpp"

namespace symtrace::graph {

namespace {

constexpr std::int32_t kNoBuffer = -1;

[[noreturn]] void plan_error(const Graph& g, NodeId id, std::string message) {
  diag::Diagnostic d;
  d.code = "plan";
  if (id != kNoNode) {
    d.node = std::string(g.module(id));
    d.op = g.op_name(id);
    d.location = g.location(id);
  }
  d.message = std::move(message);
  throw diag::Error(std::move(d));
}

std::int64_t round_up(std::int64_t v, std::int64_t a) {
  return sym::checked_mul(sym::py_floordiv(sym::checked_add(v, a - 1), a), a);
}

// Storage bytes a value needs: numel * element size when contiguous, else its extent.
sym::Expr value_bytes(const TensorMeta& m) {
  if (m.strides.size() == m.sizes.size()) {
    const SymShape want = TensorMeta::contiguous_strides(m.sizes);
    bool contiguous = true;
    for (std::size_t i = 0; contiguous && i < want.size(); ++i)
      contiguous = want[i].identical(m.strides[i]) || m.sizes[i].identical(1);
    if (contiguous) return m.nbytes().expr();
  }
  sym::Expr extent = 1;
  for (std::size_t i = 0; i < m.sizes.size(); ++i)
    extent = extent + (m.sizes[i].expr() - 1) * m.strides[i].expr();
  const auto& info = tensor::info(m.dtype);
  if (m.dtype == DType::kF4E2M1X2) return sym::ceildiv(extent, 2) * static_cast<std::int64_t>(info.bytes);
  return extent * static_cast<std::int64_t>(info.bytes);
}

// bytes = units * class, with units a multiple of the alignment.
std::pair<sym::Expr, std::int64_t> size_class(sym::Expr bytes, std::int64_t align) {
  if (auto c = bytes.constant()) return {sym::Expr(1), round_up(std::max<std::int64_t>(*c, 0), align)};
  if (bytes.kind() == sym::ExprKind::kMul && bytes.coefficient() > 0) {
    sym::Expr m = 1;
    for (sym::Expr f : bytes.children()) m = m * f;
    if (m * bytes.coefficient() == bytes) return {m, round_up(bytes.coefficient(), align)};
  }
  if (bytes.kind() == sym::ExprKind::kSymbol) return {bytes, align};  // over-aligned
  return {sym::ceildiv(bytes, align), align};
}

// Packs one size class with integer offsets (in class units): greedy by size, each buffer
// at the smallest gap that fits among the placed buffers live at the same time (TFLite's
// "greedy by size" offset planner). Returns the region size. Overlaps are found through
// buckets by first step; buffers longer than kShort steps are few (outputs, residual
// streams) and are checked one by one.
std::int64_t pack(std::vector<Buffer>& buffers, std::vector<std::uint32_t>& list) {
  constexpr std::uint32_t kShort = 32;
  std::stable_sort(list.begin(), list.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (buffers[a].units != buffers[b].units) return buffers[a].units > buffers[b].units;
    return buffers[a].first < buffers[b].first;
  });
  std::uint32_t steps = 0;
  for (std::uint32_t b : list) steps = std::max(steps, buffers[b].first + 1);
  std::vector<std::vector<std::uint32_t>> by_first(steps);
  std::vector<std::uint32_t> long_lived;
  std::vector<std::pair<std::int64_t, std::int64_t>> taken;  // (offset, end) of overlapping
  std::int64_t top = 0;
  for (std::uint32_t b : list) {
    Buffer& buf = buffers[b];
    taken.clear();
    auto consider = [&](std::uint32_t o) {
      const Buffer& p = buffers[o];
      if (p.first <= buf.last && buf.first <= p.last) taken.emplace_back(p.slot, p.slot + p.units);
    };
    for (std::uint32_t o : long_lived) consider(o);
    const std::uint32_t from = buf.first > kShort ? buf.first - kShort : 0;
    const std::uint32_t to = std::min(buf.last, steps - 1);
    for (std::uint32_t s = from; s <= to; ++s)
      for (std::uint32_t o : by_first[s]) consider(o);
    std::sort(taken.begin(), taken.end());
    std::int64_t best = -1, best_gap = 0, at = 0;
    for (const auto& [off, end] : taken) {
      const std::int64_t gap = off - at;
      if (gap >= buf.units && (best < 0 || gap < best_gap)) best = at, best_gap = gap;
      at = std::max(at, end);
    }
    buf.slot = best >= 0 ? best : at;
    top = std::max(top, buf.slot + buf.units);
    if (buf.last - buf.first > kShort) long_lived.push_back(b);
    else by_first[buf.first].push_back(b);
  }
  return top;
}

}  // namespace

std::int32_t MemoryPlan::buffer_of(ValueRef v) const {
  if (v.node >= port_base.size()) return kNoBuffer;
  return value_buffer[port_base[v.node] + v.port];
}

ValueRef MemoryPlan::root_of(ValueRef v) const {
  if (v.node >= port_base.size()) return v;
  return value_root[port_base[v.node] + v.port];
}

MemoryPlan plan_memory(const Graph& g, const PlanOptions& options) {
  if (options.alignment <= 0 || (options.alignment & (options.alignment - 1)) != 0)
    plan_error(g, kNoNode, fmt::format("alignment {} is not a power of two", options.alignment));
  MemoryPlan mp;
  mp.alignment = options.alignment;
  mp.fixed = options.fixed;
  std::vector<std::optional<std::int64_t>> fixed_by_id;
  for (const auto& [name, value] : options.fixed)
    if (auto s = g.env().find_symbol(name)) {
      const std::uint32_t id = s->symbol_id();
      if (fixed_by_id.size() <= id) fixed_by_id.resize(id + 1);
      fixed_by_id[id] = value;
    }
  auto specialize = [&](sym::Expr e) {
    if (fixed_by_id.empty()) return e;
    return sym::substitute(e, [&](std::uint32_t id) -> std::optional<sym::Expr> {
      if (id < fixed_by_id.size() && fixed_by_id[id]) return sym::Expr(*fixed_by_id[id]);
      return std::nullopt;
    });
  };
  const std::size_t n = g.size();
  mp.port_base.resize(n + 1);
  for (NodeId id = 0; id < n; ++id)
    mp.port_base[id + 1] = mp.port_base[id] + static_cast<std::uint32_t>(g.node(id).outputs.size());
  mp.value_buffer.assign(mp.port_base[n], kNoBuffer);
  mp.value_root.resize(mp.port_base[n]);
  auto slot = [&](ValueRef v) -> std::size_t { return mp.port_base[v.node] + v.port; };

  // Pass A: one buffer per stored value; views share their base's.
  std::vector<std::uint32_t> step(n, 0);
  std::vector<sym::Expr> bytes;
  for (NodeId id = 0; id < n; ++id) {
    const Node& node = g.node(id);
    if (node.dead || node.kind == NodeKind::kOutput) continue;
    if (node.kind == NodeKind::kOp) {
      if (node.poisoned)
        plan_error(g, id, "its fake failed (see the findings); the graph cannot be planned");
      step[id] = static_cast<std::uint32_t>(mp.order.size());
      mp.order.push_back(id);
    }
    for (std::uint16_t p = 0; p < node.outputs.size(); ++p) {
      const ValueRef v{id, p};
      mp.value_root[slot(v)] = v;
      if (!node.outputs[p].present || node.kind == NodeKind::kParameter) continue;
      if (node.kind == NodeKind::kOp && node.op->is_view) {
        if (node.inputs.empty()) plan_error(g, id, "a view op without a tensor input");
        const ValueRef base = node.inputs.front().value;
        mp.value_root[slot(v)] = mp.value_root[slot(base)];
        mp.value_buffer[slot(v)] = mp.value_buffer[slot(base)];
        continue;
      }
      const TensorMeta& m = node.outputs[p].meta;
      sym::Expr b = specialize(value_bytes(m));
      for (std::uint32_t s : b.free_symbols())
        if (g.env().info(s).kind == sym::SymbolKind::kUnbacked)
          plan_error(g, id, fmt::format("output {} has a data-dependent size {}; ops size their "
                                        "outputs by a bound", p, b.str()));
      Buffer buf;
      buf.kind = node.kind == NodeKind::kInput   ? BufferKind::kInput
                 : node.kind == NodeKind::kState ? BufferKind::kState
                                                 : BufferKind::kArena;
      buf.value = v;
      buf.first = node.kind == NodeKind::kOp ? step[id] : 0;
      buf.last = buf.kind == BufferKind::kState ? MemoryPlan::kForever : buf.first;
      mp.value_buffer[slot(v)] = static_cast<std::int32_t>(mp.buffers.size());
      mp.buffers.push_back(std::move(buf));
      bytes.push_back(b);
    }
  }
  auto extend = [&](std::int32_t b, std::uint32_t s) {
    if (b >= 0) mp.buffers[b].last = std::max(mp.buffers[b].last, s);
  };
  for (NodeId id = 0; id < n; ++id) {
    const Node& node = g.node(id);
    if (node.dead) continue;
    for (const Input& in : node.inputs)
      extend(mp.value_buffer[slot(in.value)],
             node.kind == NodeKind::kOutput ? MemoryPlan::kForever : step[id]);
  }

  // Pass B: in-place reuse, where the op allows it and the input dies at this node.
  std::vector<std::int32_t> merged(mp.buffers.size(), kNoBuffer);
  auto find = [&](std::int32_t b) {
    while (b >= 0 && merged[b] != kNoBuffer) b = merged[b];
    return b;
  };
  if (options.inplace) {
    for (std::uint32_t s = 0; s < mp.order.size(); ++s) {
      const Node& node = g.node(mp.order[s]);
      if (node.op->is_view) continue;
      for (std::uint16_t p = 0; p < node.outputs.size(); ++p) {
        const std::int32_t ob = mp.value_buffer[slot({mp.order[s], p})];
        if (ob < 0) continue;
        auto arg = options.inplace(*node.op, p);
        if (!arg) continue;
        for (const Input& in : node.inputs) {
          if (in.arg != *arg || in.pos != 0) continue;
          const std::int32_t rb = find(mp.value_buffer[slot(in.value)]);
          if (rb < 0 || rb == ob || mp.buffers[rb].kind != BufferKind::kArena) break;
          if (mp.buffers[rb].last != s || !(mp.value_root[slot(in.value)] == in.value)) break;
          if (!(bytes[rb] == bytes[ob])) break;
          merged[ob] = rb;
          mp.buffers[rb].last = std::max(mp.buffers[rb].last, mp.buffers[ob].last);
          mp.buffers[rb].inplace.push_back({mp.order[s], p});
          break;
        }
      }
    }
  }
  // Compact: drop merged buffers, remap every value.
  std::vector<std::int32_t> remap(mp.buffers.size(), kNoBuffer);
  std::vector<Buffer> kept;
  std::vector<sym::Expr> kept_bytes;
  for (std::size_t b = 0; b < mp.buffers.size(); ++b) {
    if (merged[b] != kNoBuffer) continue;
    remap[b] = static_cast<std::int32_t>(kept.size());
    kept.push_back(std::move(mp.buffers[b]));
    kept_bytes.push_back(bytes[b]);
  }
  for (std::int32_t& b : mp.value_buffer)
    if (b >= 0) b = remap[find(b)];
  mp.buffers = std::move(kept);
  bytes = std::move(kept_bytes);

  // States first, so their offsets depend only on their own sizes.
  sym::Expr offset = 0;
  for (std::size_t b = 0; b < mp.buffers.size(); ++b) {
    if (mp.buffers[b].kind != BufferKind::kState) continue;
    auto [cls, units] = size_class(bytes[b], mp.alignment);
    mp.buffers[b].bytes = cls * units;
    mp.buffers[b].offset = offset;
    offset = offset + mp.buffers[b].bytes;
  }
  mp.state_bytes = offset;

  // Size classes, each packed by best fit over a free list in step order.
  std::unordered_map<sym::Expr, std::uint32_t> class_index;
  std::vector<std::vector<std::uint32_t>> members;
  for (std::size_t b = 0; b < mp.buffers.size(); ++b) {
    Buffer& buf = mp.buffers[b];
    if (buf.kind == BufferKind::kState) continue;
    auto [cls, units] = size_class(bytes[b], mp.alignment);
    auto [it, fresh] = class_index.emplace(cls, static_cast<std::uint32_t>(mp.classes.size()));
    if (fresh) {
      mp.classes.push_back(cls);
      members.emplace_back();
    }
    buf.size_class = it->second;
    buf.units = units;
    buf.bytes = cls * units;
    members[it->second].push_back(static_cast<std::uint32_t>(b));
  }
  mp.class_units.assign(mp.classes.size(), 0);
  for (std::size_t c = 0; c < mp.classes.size(); ++c)
    mp.class_units[c] = pack(mp.buffers, members[c]);
  std::vector<sym::Expr> base(mp.classes.size());
  for (std::size_t c = 0; c < mp.classes.size(); ++c) {
    base[c] = offset;
    offset = offset + mp.classes[c] * mp.class_units[c];
  }
  mp.arena_bytes = offset;
  for (Buffer& buf : mp.buffers)
    if (buf.kind != BufferKind::kState)
      buf.offset = base[buf.size_class] + mp.classes[buf.size_class] * buf.slot;
  return mp;
}

std::int64_t MemoryPlan::max_live_bytes(const std::function<std::int64_t(sym::Expr)>& eval) const {
  std::vector<std::int64_t> size(buffers.size());
  for (std::size_t b = 0; b < buffers.size(); ++b) size[b] = eval(buffers[b].bytes);
  std::int64_t best = 0;
  const std::uint32_t steps = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(order.size()));
  for (std::uint32_t s = 0; s < steps; ++s) {
    std::int64_t sum = 0;
    for (std::size_t b = 0; b < buffers.size(); ++b)
      if (buffers[b].first <= s && s <= buffers[b].last) sum += size[b];
    best = std::max(best, sum);
  }
  return best;
}

std::string MemoryPlan::str(const Graph& g) const {
  static constexpr std::string_view kKind[] = {"input", "state", "arena"};
  std::string out = fmt::format("arena {} bytes (states {})\n", arena_bytes.str(), state_bytes.str());
  for (std::size_t b = 0; b < buffers.size(); ++b) {
    const Buffer& buf = buffers[b];
    std::string last = buf.last == kForever ? "end" : std::to_string(buf.last);
    out += fmt::format("  buf{:<3} {:<5} steps [{}, {}]  offset {}  bytes {}  <- {} out {}", b,
                       kKind[static_cast<int>(buf.kind)], buf.first, last, buf.offset.str(),
                       buf.bytes.str(), g.label(buf.value.node), buf.value.port);
    for (ValueRef v : buf.inplace) out += fmt::format("; in place {} out {}", g.label(v.node), v.port);
    out += '\n';
  }
  return out;
}

}  // namespace symtrace::graph
