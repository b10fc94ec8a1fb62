// Plan: compile a verified graph, bind concrete sizes, prepare parameters, lay out tensors.
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "exec/plan_impl.hpp"

namespace symtrace::exec {

namespace v2 = boost::variant2;
using graph::NodeId;
using graph::NodeKind;

[[noreturn]] void exec_error(const graph::Graph& g, NodeId id, std::string code,
                             std::string message, std::string expected, std::string got) {
  diag::Diagnostic d;
  d.code = std::move(code);
  if (id != graph::kNoNode) {
    d.node = std::string(g.module(id));
    d.op = g.node(id).kind == NodeKind::kOp ? g.op_name(id) : g.label(id);
    d.location = g.location(id);
  }
  d.message = std::move(message);
  d.expected = std::move(expected);
  d.got = std::move(got);
  throw diag::Error(std::move(d));
}

namespace {

std::string shape_str(const tensor::Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// Does a guard hold under values bound directly by name? nullopt when it cannot be told
// (a symbol bound only through an equality).
std::optional<bool> holds(const sym::Cond& c, const sym::ShapeEnv& env, const sym::Bindings& b) {
  using sym::CondOp;
  try {
    switch (c.op()) {
      case CondOp::kTrue: return true;
      case CondOp::kFalse: return false;
      case CondOp::kNot: {
        auto x = holds(c.operands().at(0), env, b);
        return x ? std::optional<bool>(!*x) : std::nullopt;
      }
      case CondOp::kAnd:
      case CondOp::kOr: {
        const bool is_and = c.op() == CondOp::kAnd;
        for (const sym::Cond& o : c.operands()) {
          auto x = holds(o, env, b);
          if (!x) return std::nullopt;
          if (*x != is_and) return !is_and;
        }
        return is_and;
      }
      default: break;
    }
    const std::int64_t l = env.evaluate(c.lhs(), b), r = env.evaluate(c.rhs(), b);
    switch (c.op()) {
      case CondOp::kEq: return l == r;
      case CondOp::kNe: return l != r;
      case CondOp::kLt: return l < r;
      case CondOp::kLe: return l <= r;
      case CondOp::kGt: return l > r;
      case CondOp::kGe: return l >= r;
      default: return std::nullopt;
    }
  } catch (const diag::Error&) {
    return std::nullopt;
  }
}

}  // namespace

// --- compile ---------------------------------------------------------------------------

bool same_layout(const Tensor& a, const tensor::Shape& sizes, const tensor::Shape& strides,
                 tensor::DType dtype) {
  if (a.sizes() != sizes || a.dtype() != dtype || a.strides().size() != strides.size()) return false;
  for (std::size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] != 1 && a.strides()[i] != strides[i]) return false;
  return true;
}

void Plan::Impl::compile() {
  if (std::size_t errors = g->count(diag::Severity::kError)) {
    std::string first;
    for (const graph::Finding& f : g->findings())
      if (f.diag.severity == diag::Severity::kError && first.empty())
        first = fmt::format("{} {}: {}", f.diag.code, f.diag.node, f.diag.message);
    exec_error(*g, graph::kNoNode, "plan",
               fmt::format("the graph has {} error finding{}; the first: {}", errors,
                           errors == 1 ? "" : "s", first));
  }
  if (options.fixed.empty()) options.fixed = g->config_values();
  mp = graph::plan_memory(*g, options);
  for (NodeId id = 0; id < g->size(); ++id) {
    const graph::Node& n = g->node(id);
    if (n.dead) continue;
    if (n.kind == NodeKind::kInput) inputs.push_back(id);
    if (n.kind == NodeKind::kOutput) outputs.push_back(id);
    if (n.kind == NodeKind::kParameter) params.push_back(id);
    if (n.kind == NodeKind::kState) states.push_back(id);
  }
  // Config symbols (model dims, the KV-cache capacity T) keep their values from run to run;
  // input sizes (B, S, past) and data-dependent symbols change. A node is constant when its
  // data follows from parameters through nodes whose sizes and int arguments involve only
  // config symbols. (Correctness does not rest on this split: bind compares the evaluated
  // arguments, see bind_instructions.)
  auto fixed = [&](const sym::SymInt& e) {
    if (!e.is_symbolic()) return true;
    for (std::uint32_t id : e.expr().free_symbols())
      if (g->env().info(id).kind != sym::SymbolKind::kConfig) return false;
    return true;
  };
  auto fixed_meta = [&](const tensor::TensorMeta& m) {
    for (const auto& d : m.sizes) if (!fixed(d)) return false;
    for (const auto& d : m.strides) if (!fixed(d)) return false;
    return fixed(m.storage_offset);
  };
  std::vector<bool> constant(g->size(), false);
  for (NodeId p : params) constant[p] = true;
  instr_of.assign(g->size(), -1);

  for (NodeId id : mp.order) {
    const graph::Node& n = g->node(id);
    const graph::Selection* s = g->selection(id);
    if (!s || s->kind == graph::SelectionKind::kNone || s->kind == graph::SelectionKind::kRefused)
      exec_error(*g, id, "plan", "no kernel was selected for this node (run graph::run_pipeline)");
    Instr in;
    in.node = id;
    in.def = n.op;
    in.kernel = s->variant < 0 ? &n.op->reference
                               : &n.op->variants[static_cast<std::size_t>(s->variant)].run;
    in.kernel_name = g->kernel_name(id);
    in.view = n.op->is_view;
    in.sym_args = g->args(id);
    in.out_slot = slot({id, 0});
    in.n_out = static_cast<std::uint16_t>(n.outputs.size());
    bool c = true;
    for (const graph::Input& x : n.inputs) c = c && constant[x.value.node];
    for (const op::Value& v : in.sym_args) {
      if (const auto* e = v2::get_if<sym::SymInt>(&v)) c = c && fixed(*e);
      if (const auto* l = v2::get_if<std::vector<sym::SymInt>>(&v))
        for (const auto& e : *l) c = c && fixed(e);
    }
    for (const graph::Port& o : n.outputs) c = c && (!o.present || fixed_meta(o.meta));
    constant[id] = c;
    // Views of constants are laid out at bind and cost nothing: only kernels are hoisted.
    in.hoisted = c && !in.view;
    if (in.hoisted) {
      in.held.resize(in.n_out);
      for (const graph::Input& x : n.inputs) {
        const std::int32_t k = instr_of[mp.root_of(x.value).node];
        if (k >= 0 && instrs[static_cast<std::size_t>(k)].hoisted)
          in.feeds.push_back(static_cast<std::size_t>(k));
      }
    }
    instr_of[id] = static_cast<std::int32_t>(instrs.size());
    timings.push_back(NodeTiming{id, g->label(id), in.kernel_name, 0, in.hoisted});
    instrs.push_back(std::move(in));
  }
}

// --- bind ------------------------------------------------------------------------------

void Plan::Impl::bind(const SizeMap& sizes) {
  SizeMap next = g->config_values();
  for (const auto& [k, v] : values) next[k] = v;
  for (const auto& [k, v] : sizes) next[k] = v;
  const sym::ShapeEnv& env = g->env();
  try {
    bindings = env.bind(next);
  } catch (const diag::Error& e) {
    bindings.reset();
    diag::Diagnostic d = e.diagnostic();
    // Name the node behind each violated guard (the env knows the guard, not the graph).
    sym::Bindings direct;
    for (const auto& [k, v] : next)
      if (auto s = env.find_symbol(k)) direct.set(s->symbol_id(), v);
    const auto& guards = env.guards();
    for (std::size_t i = 0; i < guards.size(); ++i) {
      if (holds(guards[i].cond, env, direct) != std::optional<bool>(false)) continue;
      const NodeId site = g->guard_site(i);
      d.notes.push_back(fmt::format("guard `{}` ({}) was recorded by {}{}", guards[i].cond.str(),
                                    guards[i].reason,
                                    site == graph::kNoNode ? "the model code" : g->label(site),
                                    site == graph::kNoNode ? "" : " --> " + g->location(site)));
    }
    throw diag::Error(std::move(d));
  }
  SizeMap previous = std::exchange(values, std::move(next));
  try {
    // The memory plan was specialised on these values (config dims); replan if one moved.
    bool replan = false;
    for (auto& [name, v] : options.fixed) {
      auto it = values.find(name);
      if (it != values.end() && it->second != v) {
        v = it->second;
        replan = true;
      }
    }
    if (replan) mp = graph::plan_memory(*g, options);
    check_and_prepare_params();
    make_tensors();
    bind_instructions();
  } catch (...) {
    bindings.reset();  // a failed bind leaves the plan unbound, with the old values
    values = std::move(previous);
    throw;
  }
}

void Plan::Impl::check_and_prepare_params() {
  auto evaluated = [&](const tensor::TensorMeta& m) {
    tensor::Shape s;
    for (const auto& d : m.sizes) s.push_back(eval(d));
    return s;
  };
  for (NodeId p : params) {
    auto it = raw.find(p);
    if (it == raw.end())
      exec_error(*g, p, "bind", fmt::format("parameter `{}` was not given (Plan::set_param)",
                                            g->name(p)));
    const graph::PrepareRecord* rec = g->prepared(p);
    const tensor::TensorMeta& want = rec ? rec->original : g->meta({p, 0});
    const tensor::Shape ws = evaluated(want);
    if (it->second.sizes() != ws || it->second.dtype() != want.dtype)
      exec_error(*g, p, "param-mismatch",
                 fmt::format("parameter `{}` does not match its traced meta", g->name(p)),
                 fmt::format("{}{}", tensor::name(want.dtype), shape_str(ws)),
                 fmt::format("{}{}", tensor::name(it->second.dtype()), shape_str(it->second.sizes())));
  }
  if (prepared_current) return;
  prepared.clear();
  // Each prepare step runs once, on the node that owns its parameters.
  for (const Instr& in : instrs) {
    const graph::Selection* s = g->selection(in.node);
    if (s->variant < 0) continue;
    const op::Variant& v = in.def->variants[static_cast<std::size_t>(s->variant)];
    if (!v.prepare) continue;
    std::vector<NodeId> owned;
    for (const std::string& r : v.prepare->rewrites) {
      const std::size_t arg = *in.def->schema.index_of(r);
      for (const graph::Input& x : g->node(in.node).inputs)
        if (x.arg == arg) owned.push_back(x.value.node);
    }
    bool mine = !owned.empty();
    for (NodeId p : owned) {
      const graph::PrepareRecord* rec = g->prepared(p);
      mine = mine && rec && rec->by == in.node;
    }
    if (!mine) continue;
    std::vector<op::Value> args = in.sym_args;
    for (const graph::Input& x : g->node(in.node).inputs)
      if (g->node(x.value.node).kind == NodeKind::kParameter &&
          in.def->schema.args[x.arg].type == op::ArgType::kTensor)
        args[x.arg] = raw.at(x.value.node);
    op::Outputs out = v.prepare->run(op::Args(in.def->schema, args));
    if (out.size() != owned.size())
      exec_error(*g, in.node, "prepare-mismatch",
                 fmt::format("{} returned {} tensors for {} parameters", v.name, out.size(),
                             owned.size()));
    for (std::size_t k = 0; k < owned.size(); ++k) {
      const Tensor* t = v2::get_if<Tensor>(&out[k]);
      const tensor::TensorMeta& m = g->meta({owned[k], 0});
      tensor::Shape ws = evaluated(m), wst;
      for (const auto& d : m.strides) wst.push_back(eval(d));
      if (!t || !same_layout(*t, ws, wst, m.dtype))
        exec_error(*g, in.node, "prepare-mismatch",
                   fmt::format("the prepare step of {} produced `{}` unlike its fake", v.name,
                               v.prepare->rewrites[k]),
                   fmt::format("{}{} strides {}", tensor::name(m.dtype), shape_str(ws), shape_str(wst)),
                   t ? fmt::format("{}{} strides {}", tensor::name(t->dtype()), shape_str(t->sizes()),
                                   shape_str(t->strides()))
                     : op::value_str(out[k]));
      prepared[owned[k]] = *t;
    }
  }
  prepared_current = true;
}

void Plan::Impl::make_tensors() {
  // The arena: states first; reallocated only to grow, states carried over.
  std::vector<std::int64_t> layout;
  for (const graph::Buffer& b : mp.buffers)
    if (b.kind == graph::BufferKind::kState) {
      layout.push_back(eval(b.offset));
      layout.push_back(eval(b.bytes));
    }
  const std::int64_t total = eval(mp.arena_bytes), state_bytes = eval(mp.state_bytes);
  const bool keep_states = arena && layout == state_layout;
  if (!arena || static_cast<std::int64_t>(arena->nbytes()) < total) {
    auto fresh = tensor::Storage::allocate(static_cast<std::size_t>(std::max<std::int64_t>(total, mp.alignment)));
    if (keep_states && state_bytes > 0)
      std::memcpy(fresh->data(), arena->data(), static_cast<std::size_t>(state_bytes));
    else if (state_bytes > 0)
      std::memset(fresh->data(), 0, static_cast<std::size_t>(state_bytes));
    arena = std::move(fresh);
  } else if (!keep_states && state_bytes > 0) {
    std::memset(arena->data(), 0, static_cast<std::size_t>(state_bytes));
  }
  state_layout = std::move(layout);
  arena_size = total;

  hold_hoisted();

  vals.assign(mp.value_root.size(), Tensor());
  for (NodeId id = 0; id < g->size(); ++id) {
    const graph::Node& n = g->node(id);
    if (n.dead || n.kind == NodeKind::kOutput) continue;
    for (std::uint16_t p = 0; p < n.outputs.size(); ++p) {
      if (!n.outputs[p].present) continue;
      const graph::ValueRef v{id, p};
      const tensor::TensorMeta& m = n.outputs[p].meta;
      tensor::Shape sizes, strides;
      for (const auto& d : m.sizes) sizes.push_back(eval(d));
      for (const auto& d : m.strides) strides.push_back(eval(d));
      const graph::ValueRef root = mp.root_of(v);
      const std::int64_t rel = eval(m.storage_offset) - eval(g->meta(root).storage_offset);
      if (g->node(root.node).kind == NodeKind::kParameter) {
        auto it = prepared.find(root.node);
        const Tensor& base = it != prepared.end() ? it->second : raw.at(root.node);
        if (root == v) {
          vals[slot(v)] = base;
        } else {
          vals[slot(v)] = Tensor::from_storage(base.storage(), std::move(sizes), std::move(strides),
                                               base.storage_offset() + rel, m.dtype);
        }
        continue;
      }
      const std::int32_t k = instr_of[root.node];
      if (k >= 0 && instrs[static_cast<std::size_t>(k)].hoisted) {
        const Tensor& base = instrs[static_cast<std::size_t>(k)].held[root.port];
        vals[slot(v)] = root == v ? base
                                  : Tensor::from_storage(base.storage(), std::move(sizes),
                                                         std::move(strides),
                                                         base.storage_offset() + rel, m.dtype);
        continue;
      }
      const std::int32_t b = mp.buffer_of(v);
      if (b < 0) exec_error(*g, id, "plan", fmt::format("output {} has no buffer", p));
      const std::int64_t bytes = eval(mp.buffers[static_cast<std::size_t>(b)].offset);
      const auto elem = static_cast<std::int64_t>(tensor::info(m.dtype).bytes);
      if (bytes % elem != 0)
        exec_error(*g, id, "plan", fmt::format("buffer offset {} is not a multiple of {}", bytes, elem));
      vals[slot(v)] = Tensor::from_storage(arena, std::move(sizes), std::move(strides),
                                           bytes / elem + rel, m.dtype);
    }
  }
}

// Storage of its own for every hoisted output, kept while its layout stays the same (the
// arena slot the memory plan also gives it is left unused: later nodes reuse that space).
void Plan::Impl::hold_hoisted() {
  for (Instr& in : instrs) {
    if (!in.hoisted) continue;
    const graph::Node& n = g->node(in.node);
    for (std::uint16_t p = 0; p < in.n_out; ++p) {
      if (!n.outputs[p].present) continue;
      const tensor::TensorMeta& m = n.outputs[p].meta;
      tensor::Shape sizes, strides;
      for (const auto& d : m.sizes) sizes.push_back(eval(d));
      for (const auto& d : m.strides) strides.push_back(eval(d));
      Tensor& h = in.held[p];
      if (h.defined() && h.sizes() == sizes && h.strides() == strides && h.dtype() == m.dtype)
        continue;
      const std::int32_t b = mp.buffer_of({in.node, p});
      if (b < 0) exec_error(*g, in.node, "plan", fmt::format("output {} has no buffer", p));
      const std::int64_t bytes = eval(mp.buffers[static_cast<std::size_t>(b)].bytes);
      auto storage = tensor::Storage::allocate(
          static_cast<std::size_t>(std::max<std::int64_t>(bytes, mp.alignment)));
      h = Tensor::from_storage(std::move(storage), std::move(sizes), std::move(strides), 0,
                               m.dtype);
      in.fresh = false;
    }
  }
}

namespace {

// What a hoisted kernel's result depends on beyond its (fixed) scalar arguments.
std::vector<std::int64_t> key_of(const std::vector<op::Value>& args) {
  std::vector<std::int64_t> k;
  auto tensor = [&](const Tensor& t) {
    if (!t.defined()) return k.push_back(-1);
    k.push_back(static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(t.data_ptr())));
    k.push_back(static_cast<std::int64_t>(t.dtype()));
    k.push_back(t.dim());
    k.insert(k.end(), t.sizes().begin(), t.sizes().end());
    k.insert(k.end(), t.strides().begin(), t.strides().end());
  };
  for (const op::Value& v : args) {
    if (const auto* s = v2::get_if<sym::SymInt>(&v)) {
      k.push_back(s->value());
    } else if (const auto* l = v2::get_if<std::vector<sym::SymInt>>(&v)) {
      k.push_back(static_cast<std::int64_t>(l->size()));
      for (const auto& x : *l) k.push_back(x.value());
    } else if (const auto* t = v2::get_if<Tensor>(&v)) {
      tensor(*t);
    } else if (const auto* ts = v2::get_if<std::vector<Tensor>>(&v)) {
      k.push_back(static_cast<std::int64_t>(ts->size()));
      for (const Tensor& x : *ts) tensor(x);
    }
  }
  return k;
}

}  // namespace

void Plan::Impl::bind_instructions() {
  for (Instr& in : instrs) {
    in.args.resize(in.sym_args.size());
    for (std::size_t k = 0; k < in.sym_args.size(); ++k) {
      const op::Value& v = in.sym_args[k];
      if (const auto* s = v2::get_if<sym::SymInt>(&v)) {
        in.args[k] = sym::SymInt(eval(*s));
      } else if (const auto* l = v2::get_if<std::vector<sym::SymInt>>(&v)) {
        std::vector<sym::SymInt> c;
        for (const auto& x : *l) c.emplace_back(eval(x));
        in.args[k] = std::move(c);
      } else if (v2::holds_alternative<std::vector<tensor::TensorMeta>>(v)) {
        in.args[k] = std::vector<Tensor>(v2::get<std::vector<tensor::TensorMeta>>(v).size());
      } else if (!v2::holds_alternative<tensor::TensorMeta>(v)) {
        in.args[k] = v;
      }
    }
    for (const graph::Input& x : g->node(in.node).inputs) {
      const Tensor& t = vals[slot(x.value)];
      if (in.def->schema.args[x.arg].type == op::ArgType::kTensorList)
        v2::get<std::vector<Tensor>>(in.args[x.arg])[x.pos] = t;
      else
        in.args[x.arg] = t;
    }
    if (!in.hoisted) continue;
    std::vector<std::int64_t> key = key_of(in.args);
    if (key != in.key) {
      in.key = std::move(key);
      in.fresh = false;
    }
    for (std::size_t k : in.feeds) in.fresh = in.fresh && instrs[k].fresh;
  }
}

// --- Plan ------------------------------------------------------------------------------

Plan::Plan(const graph::Graph& g, const graph::PlanOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->g = &g;
  impl_->options = options;
  impl_->compile();
}
Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

const graph::Graph& Plan::graph() const { return *impl_->g; }
const graph::MemoryPlan& Plan::memory() const { return impl_->mp; }
std::size_t Plan::instructions() const { return impl_->instrs.size(); }
std::size_t Plan::hoisted() const {
  std::size_t n = 0;
  for (const Instr& in : impl_->instrs) n += in.hoisted ? 1 : 0;
  return n;
}
const std::vector<NodeTiming>& Plan::timings() const { return impl_->timings; }
bool Plan::bound() const { return impl_->bindings.has_value(); }
std::size_t Plan::arena_bytes() const { return static_cast<std::size_t>(impl_->arena_size); }

void Plan::set_param(std::string_view name, Tensor t) {
  auto id = impl_->g->find(NodeKind::kParameter, name);
  if (!id) {
    diag::Diagnostic d;
    d.code = "bind";
    d.argument = std::string(name);
    d.message = fmt::format("the graph has no parameter named '{}'", name);
    throw diag::Error(std::move(d));
  }
  impl_->raw[*id] = std::move(t);
  impl_->prepared_current = false;
  for (Instr& in : impl_->instrs) in.fresh = false;  // the same tensor may hold new values
  impl_->bindings.reset();  // parameters are checked (and prepared) at the next bind
}

void Plan::bind(const SizeMap& sizes) { impl_->bind(sizes); }

void Plan::bind_inputs(std::span<const Tensor> inputs) {
  const graph::Graph& g = *impl_->g;
  if (inputs.size() != impl_->inputs.size())
    exec_error(g, graph::kNoNode, "bind",
               fmt::format("{} input tensors for {} graph inputs", inputs.size(), impl_->inputs.size()));
  SizeMap derived;
  std::map<std::string, std::string, std::less<>> from;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const NodeId id = impl_->inputs[i];
    const tensor::TensorMeta& m = g.meta({id, 0});
    if (m.dim() != inputs[i].dim())
      exec_error(g, id, "bind", fmt::format("input `{}` has rank {}, the graph traced {}", g.name(id),
                                            inputs[i].dim(), m.dim()),
                 m.shape_str(), shape_str(inputs[i].sizes()));
    for (std::size_t d = 0; d < m.sizes.size(); ++d) {
      if (!m.sizes[d].is_symbolic() || !m.sizes[d].expr().is_symbol()) continue;
      const std::string name(m.sizes[d].expr().symbol_name());
      const std::int64_t v = inputs[i].size(static_cast<std::int64_t>(d));
      const std::string here = fmt::format("input {} dim {}", g.name(id), d);
      auto [it, fresh] = derived.emplace(name, v);
      if (!fresh && it->second != v)
        exec_error(g, id, "bind", fmt::format("{} is {} from {} but {} from {}", name, it->second,
                                              from[name], v, here));
      from.emplace(name, here);
    }
  }
  impl_->bind(derived);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& slot = impl_->vals[impl_->slot({impl_->inputs[i], 0})];
    if (slot.sizes() != inputs[i].sizes())
      exec_error(g, impl_->inputs[i], "bind",
                 fmt::format("input `{}` does not match its traced shape {} under this binding",
                             g.name(impl_->inputs[i]), g.meta({impl_->inputs[i], 0}).shape_str()),
                 shape_str(slot.sizes()), shape_str(inputs[i].sizes()));
  }
}

std::int64_t Plan::value(std::string_view symbol) const {
  auto it = impl_->values.find(symbol);
  if (it == impl_->values.end() || !impl_->bindings)
    exec_error(*impl_->g, graph::kNoNode, "bind", fmt::format("symbol '{}' is not bound", symbol));
  return it->second;
}

static Tensor& named_value(Plan::Impl& im, NodeKind kind, std::string_view name) {
  auto id = im.g->find(kind, name);
  if (!id)
    exec_error(*im.g, graph::kNoNode, "bind",
               fmt::format("the graph has no {} named '{}'", graph::node_kind_name(kind), name));
  if (!im.bindings) exec_error(*im.g, *id, "bind", "the plan is not bound (Plan::bind)");
  if (kind == NodeKind::kOutput) return im.vals[im.slot(im.g->node(*id).inputs[0].value)];
  return im.vals[im.slot({*id, 0})];
}

Tensor& Plan::input(std::string_view name) { return named_value(*impl_, NodeKind::kInput, name); }
Tensor& Plan::state(std::string_view name) { return named_value(*impl_, NodeKind::kState, name); }
const Tensor& Plan::output(std::string_view name) const {
  return named_value(*impl_, NodeKind::kOutput, name);
}

}  // namespace symtrace::exec
