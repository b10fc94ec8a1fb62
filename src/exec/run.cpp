// Plan::run: the instruction loop, the arena allocator and verify mode.
#include <chrono>

#include <fmt/format.h>

#include "exec/plan_impl.hpp"

namespace symtrace::exec {

namespace v2 = boost::variant2;
using graph::NodeId;

namespace {

std::string meta_str(const Tensor& t) {
  return fmt::format("{}[{}] strides [{}] offset {}", tensor::name(t.dtype()), fmt::join(t.sizes(), ", "),
                     fmt::join(t.strides(), ", "), t.storage_offset());
}

// Hands a kernel the planned slices of the arena: outputs must match the plan exactly.
class ArenaAllocator final : public op::Allocator {
 public:
  explicit ArenaAllocator(Plan::Impl& im) : im_(im) {}
  void start(const Instr& in) {
    cur_ = &in;
    used_ = 0;
    spilled_ = 0;
  }

  Tensor output(std::size_t i, tensor::Shape sizes, tensor::DType dtype) override {
    const graph::Graph& g = *im_.g;
    if (i >= cur_->n_out || !g.node(cur_->node).outputs[i].present)
      exec_error(g, cur_->node, "plan-mismatch",
                 fmt::format("{} asked for output {}, the plan has no such output", cur_->kernel_name, i));
    const Tensor& planned = im_.vals[cur_->out_slot + i];
    if (planned.sizes() != sizes || planned.dtype() != dtype)
      exec_error(g, cur_->node, "plan-mismatch",
                 fmt::format("{} asked for output {} unlike the plan (the fake)", cur_->kernel_name, i),
                 fmt::format("{}[{}]", tensor::name(planned.dtype()), fmt::join(planned.sizes(), ", ")),
                 fmt::format("{}[{}]", tensor::name(dtype), fmt::join(sizes, ", ")));
    return planned;
  }

  // Bump allocation from one scratch storage; a call that outgrows it gets a temporary
  // block, and the scratch is enlarged for the next call (so steady state allocates
  // nothing).
  std::span<std::byte> workspace(std::size_t nbytes) override {
    const std::size_t aligned = (nbytes + 63) / 64 * 64;
    if (im_.scratch && used_ + aligned <= im_.scratch->nbytes()) {
      std::byte* p = im_.scratch->data() + used_;
      used_ += aligned;
      return {p, nbytes};
    }
    spill_.push_back(tensor::Storage::allocate(std::max<std::size_t>(aligned, 64)));
    spilled_ += aligned;
    want_ = std::max(want_, used_ + spilled_);
    return {spill_.back()->data(), nbytes};
  }

  void finish() {
    spill_.clear();
    if (want_ > (im_.scratch ? im_.scratch->nbytes() : 0)) im_.scratch = tensor::Storage::allocate(want_);
  }

 private:
  Plan::Impl& im_;
  const Instr* cur_ = nullptr;
  std::size_t used_ = 0, spilled_ = 0, want_ = 0;
  std::vector<std::shared_ptr<tensor::Storage>> spill_;
};

// The real outputs of one call, flattened into ports like the graph's.
std::vector<const Tensor*> ports_of(const op::Outputs& out, std::vector<bool>& none) {
  std::vector<const Tensor*> ports;
  for (const op::Value& v : out) {
    if (const auto* t = v2::get_if<Tensor>(&v)) {
      ports.push_back(t);
      none.push_back(false);
    } else if (const auto* l = v2::get_if<std::vector<Tensor>>(&v)) {
      for (const Tensor& t : *l) {
        ports.push_back(&t);
        none.push_back(false);
      }
    } else {
      ports.push_back(nullptr);
      none.push_back(true);
    }
  }
  return ports;
}

bool is_an_input(const Instr& in, const Tensor& t) {
  for (const op::Value& v : in.args)
    if (const Tensor* x = boost::variant2::get_if<Tensor>(&v); x && x->defined() && x->data_ptr() == t.data_ptr())
      return true;
  return false;
}

void check_outputs(Plan::Impl& im, const Instr& in, const op::Outputs& out, bool verify) {
  const graph::Graph& g = *im.g;
  const graph::Node& n = g.node(in.node);
  std::vector<bool> none;
  std::vector<const Tensor*> ports = ports_of(out, none);
  if (ports.size() != n.outputs.size())
    exec_error(g, in.node, "fake-mismatch",
               fmt::format("{} returned {} outputs, the fake predicted {}", in.kernel_name,
                           ports.size(), n.outputs.size()));
  for (std::size_t p = 0; p < ports.size(); ++p) {
    const bool present = n.outputs[p].present;
    if (present != !none[p])
      exec_error(g, in.node, "fake-mismatch",
                 fmt::format("output {} of {} is {} but the fake predicted {}", p, in.kernel_name,
                             none[p] ? "None" : "a tensor", present ? "a tensor" : "None"));
    if (!present) continue;
    const Tensor& want = im.vals[in.out_slot + p];
    const Tensor& got = *ports[p];
    const bool same_place = got.defined() && got.data_ptr() == want.data_ptr();
    if (!verify && (in.view || same_place)) continue;
    if (!same_place && !in.view && got.defined() && got.sizes() == want.sizes() && got.dtype() == want.dtype() &&
        is_an_input(in, got)) {
      // An op that returns its input when the run-time layout allows it (`contiguous` of a
      // layout the fake could not decide for every size) where the plan gave the output a
      // slice of its own: the values go there.
      Tensor dst = want;
      dst.copy_from(got);
      continue;
    }
    const bool same = same_place && same_layout(got, want.sizes(), want.strides(), want.dtype());
    if (same) continue;
    exec_error(g, in.node, "fake-mismatch",
               fmt::format("output {} of {} differs from the fake's prediction{}", p, in.kernel_name,
                           same_place || !got.defined() ? "" : " (it is not where the plan put it)"),
               meta_str(want), got.defined() ? meta_str(got) : "an undefined tensor");
  }
}

}  // namespace

void Plan::run(const RunOptions& options) {
  Impl& im = *impl_;
  if (!im.bindings) exec_error(*im.g, graph::kNoNode, "bind", "the plan is not bound (Plan::bind)");
  ArenaAllocator alloc(im);
  op::KernelContext cx{alloc, options.threads};
  using Clock = std::chrono::steady_clock;
  for (std::size_t i = 0; i < im.instrs.size(); ++i) {
    Instr& in = im.instrs[i];
    if (in.view && !options.verify) continue;  // outputs were laid out at bind
    // Hoisted outputs computed by an earlier run are reused; verify mode recomputes them
    // (into the same storage, with the same values) to check them against the fake. A new
    // thread count recomputes too: a kernel's sums may be ordered by its threads.
    if (in.hoisted && in.fresh && in.threads == options.threads && !options.verify) {
      if (options.timings) im.timings[i].ns = 0;
      continue;
    }
    alloc.start(in);
    const Clock::time_point t0 = options.timings ? Clock::now() : Clock::time_point();
    op::Outputs out = (*in.kernel)(op::Args(in.def->schema, in.args), cx);
    if (options.timings)
      im.timings[i].ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    alloc.finish();
    check_outputs(im, in, out, options.verify);
    in.fresh = in.hoisted;
    in.threads = options.threads;
  }
}

std::vector<Tensor> Plan::run(std::span<const Tensor> inputs, const RunOptions& options, bool copy) {
  Impl& im = *impl_;
  bool rebind = !im.bindings || inputs.size() != im.inputs.size();
  for (std::size_t i = 0; !rebind && i < inputs.size(); ++i)
    rebind = im.vals[im.slot({im.inputs[i], 0})].sizes() != inputs[i].sizes();
  if (rebind) bind_inputs(inputs);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Tensor& slot = im.vals[im.slot({im.inputs[i], 0})];
    if (slot.dtype() != inputs[i].dtype())
      exec_error(*im.g, im.inputs[i], "bind",
                 fmt::format("input `{}` is {}, the graph traced {}", im.g->name(im.inputs[i]),
                             tensor::name(inputs[i].dtype()), tensor::name(slot.dtype())));
    slot.copy_from(inputs[i]);
  }
  run(options);
  std::vector<Tensor> out;
  out.reserve(im.outputs.size());
  for (NodeId o : im.outputs) {
    const Tensor& t = im.vals[im.slot(im.g->node(o).inputs[0].value)];
    out.push_back(copy ? t.clone() : t);
  }
  return out;
}

}  // namespace symtrace::exec
