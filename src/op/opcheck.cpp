// opcheck: the fake interpretation and every kernel must agree on every sample.
#include <symtrace/op/opcheck.hpp>

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

namespace symtrace::op {

namespace v2 = boost::variant2;

std::string OpcheckReport::str() const {
  std::string out = fmt::format("opcheck {}: {} samples, {} kernel runs, {}", op, samples,
                                kernel_runs, ok() ? "ok" : fmt::format("{} failures", failures.size()));
  for (const auto& f : failures)
    out += fmt::format("\n  [{}] {}: {}", f.sample, f.kernel, f.message);
  return out;
}

namespace {

// Flattens an output list (Tensor, Tensor?, Tensor[]) into (name, value) pairs.
template <class M>
std::vector<std::pair<std::string, const M*>> flatten(const Outputs& out) {
  std::vector<std::pair<std::string, const M*>> flat;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (auto* m = v2::get_if<M>(&out[i])) {
      flat.emplace_back(fmt::format("output {}", i), m);
    } else if (auto* l = v2::get_if<std::vector<M>>(&out[i])) {
      for (std::size_t j = 0; j < l->size(); ++j)
        flat.emplace_back(fmt::format("output {}[{}]", i, j), &(*l)[j]);
    } else {
      flat.emplace_back(fmt::format("output {}", i), nullptr);  // None
    }
  }
  return flat;
}

bool same_layout(const TensorMeta& fake, const Tensor& real) {
  if (fake.dtype != real.dtype() || fake.dim() != real.dim()) return false;
  const auto same = [](const SymInt& s, std::int64_t v) {
    auto c = s.maybe_value();
    return c && *c == v;
  };
  if (!same(fake.storage_offset, real.storage_offset())) return false;
  for (std::int64_t d = 0; d < real.dim(); ++d) {
    const auto i = static_cast<std::size_t>(d);
    if (!same(fake.sizes[i], real.sizes()[i]) || !same(fake.strides[i], real.strides()[i]))
      return false;
  }
  return true;
}

std::string real_str(const Tensor& t) { return t.meta().str() + fmt::format(" offset {}", t.storage_offset()); }
std::string fake_str(const TensorMeta& m) { return m.str() + " offset " + m.storage_offset.str(); }

// Empty when every output of `real` has the fake's exact sizes, strides, offset and dtype.
std::string compare_layouts(const OpDef& op, const Outputs& fake, const Outputs& real,
                            std::string_view kernel) {
  const auto f = flatten<TensorMeta>(fake);
  const auto r = flatten<Tensor>(real);
  if (f.size() != r.size())
    return fmt::format("{}: {} returned {} tensors, the fake {}", op.name, kernel, r.size(), f.size());
  for (std::size_t i = 0; i < f.size(); ++i) {
    const auto& [name, fm] = f[i];
    const Tensor* rt = r[i].second;
    if ((fm == nullptr) != (rt == nullptr || !rt->defined()))
      return fmt::format("{}: {} {} is {}, the fake says {}", op.name, kernel, name,
                         rt && rt->defined() ? real_str(*rt) : "None", fm ? fake_str(*fm) : "None");
    if (fm && !same_layout(*fm, *rt))
      return fmt::format("{}: {} {} is {}, but the fake says {}", op.name, kernel, name,
                         real_str(*rt), fake_str(*fm));
  }
  return {};
}

// Empty when `got` matches `ref` within the tolerance; NaN only where the reference has NaN.
std::string compare_values(const OpDef& op, const Args& inputs, std::size_t index,
                           const Tensor& got, const Tensor& ref) {
  if (op.tolerance.compare) return op.tolerance.compare(inputs, index, got, ref);
  const std::vector<double> g = got.to_f64(), e = ref.to_f64();
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    bool ok;
    if (std::isnan(e[i])) ok = std::isnan(g[i]);
    else if (std::isnan(g[i]) || std::isinf(e[i])) ok = g[i] == e[i];
    else ok = std::abs(g[i] - e[i]) <= op.tolerance.atol + op.tolerance.rtol * std::abs(e[i]);
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return {};
  return fmt::format("{} of {} elements differ from the reference; first at flat index {}: got {}, "
                     "expected {} (atol {}, rtol {}; NaN means never written)",
                     bad, e.size(), first, g[first], e[first], op.tolerance.atol, op.tolerance.rtol);
}

// Input values before a kernel runs, to catch kernels that write into their inputs.
std::vector<std::vector<double>> snapshot(std::span<const Value> args) {
  std::vector<std::vector<double>> out;
  for (const Value& v : args) {
    if (auto* t = v2::get_if<Tensor>(&v)) out.push_back(t->to_f64());
    if (auto* l = v2::get_if<std::vector<Tensor>>(&v))
      for (const Tensor& x : *l) out.push_back(x.to_f64());
  }
  return out;
}
bool same_bits(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return false;
    for (std::size_t j = 0; j < a[i].size(); ++j)
      if (!(a[i][j] == b[i][j] || (std::isnan(a[i][j]) && std::isnan(b[i][j])))) return false;
  }
  return true;
}

// A view op's outputs must share storage with an input.
bool aliases_input(const Tensor& out, std::span<const Value> args) {
  for (const Value& v : args) {
    if (auto* t = v2::get_if<Tensor>(&v); t && t->storage() == out.storage()) return true;
    if (auto* l = v2::get_if<std::vector<Tensor>>(&v))
      for (const Tensor& x : *l)
        if (x.storage() == out.storage()) return true;
  }
  return false;
}

struct Run {
  std::optional<Outputs> out;
  std::string error;  // set when the kernel raised a diag::Error
};

template <class F>
Run run_guarded(F&& f) {
  Run r;
  try {
    r.out = f();
  } catch (const diag::Error& e) {
    r.error = e.what();
  }
  return r;
}

class Checker {
 public:
  Checker(const OpDef& op, OpcheckReport& report) : op_(op), report_(report) {}

  void sample(const Sample& s) {
    label_ = s.label;
    ++report_.samples;
    std::vector<Value> bound;
    try {
      bound = bind_args(op_.schema, s.args);
    } catch (const diag::Error& e) {
      return fail("bind", fmt::format("the sample does not fit the schema: {}", e.what()));
    }
    const std::vector<Value> metas = metas_of(bound);

    const Run fake = run_guarded([&] {
      sym::ShapeEnv env;
      return fake_call(op_, metas, env);
    });
    const auto before = snapshot(bound);
    const Run ref = run_guarded([&] {
      HeapAllocator heap(/*fill_nan=*/true);
      KernelContext cx{heap};
      return op_.reference(Args(op_.schema, bound), cx);
    });
    ++report_.kernel_runs;
    if (!same_bits(before, snapshot(bound)))
      fail("reference", "the reference kernel wrote into an input");

    if (fake.out && !ref.out)
      return fail("reference", fmt::format("the fake accepts this call but the reference raised: {}",
                                           ref.error));
    if (!fake.out && ref.out)
      return fail("fake", fmt::format("the reference accepts this call but the fake raised: {}",
                                      fake.error));
    if (!fake.out) {
      if (!s.expect_error) fail("fake", fmt::format("a valid sample was rejected: {}", fake.error));
      return;
    }
    if (s.expect_error) return fail("fake", "the sample should be rejected, fake and reference accept it");

    check_kernel("reference", *fake.out, *ref.out, bound);
    for (const Variant& v : op_.variants) run_variant(v, bound, metas, *fake.out, *ref.out);
  }

 private:
  void fail(std::string kernel, std::string message) {
    report_.failures.push_back({label_, std::move(kernel), std::move(message)});
  }

  void check_kernel(std::string_view kernel, const Outputs& fake, const Outputs& real,
                    std::span<const Value> inputs) {
    if (auto m = compare_layouts(op_, fake, real, kernel); !m.empty()) return fail(std::string(kernel), m);
    if (!op_.is_view) return;
    for (const auto& [name, t] : flatten<Tensor>(real))
      if (t && !aliases_input(*t, inputs))
        fail(std::string(kernel), fmt::format("{} of a view op does not share storage with an input", name));
  }

  void run_variant(const Variant& v, const std::vector<Value>& bound, const std::vector<Value>& metas,
                   const Outputs& fake, const Outputs& ref) {
    if (!cpu_supports(v.isa)) return;
    std::vector<Value> args = bound, arg_metas = metas;
    if (v.prepare) {
      const Prepare& p = *v.prepare;
      Run fake_prep = run_guarded([&] {
        sym::ShapeEnv env;
        FakeContext cx{env, op_.name};
        return p.fake(Args(op_.schema, metas), cx);
      });
      Run real_prep = run_guarded([&] { return p.run(Args(op_.schema, bound)); });
      if (!fake_prep.out || !real_prep.out) {
        if (fake_prep.out.has_value() != real_prep.out.has_value())
          fail(p.name, fmt::format("prepare: fake and run disagree on error: fake '{}', run '{}'",
                                   fake_prep.error, real_prep.error));
        return;  // a variant whose prepare refuses the sample does not apply
      }
      if (auto m = compare_layouts(op_, *fake_prep.out, *real_prep.out, p.name); !m.empty())
        return fail(p.name, m);
      for (std::size_t k = 0; k < p.rewrites.size() && k < real_prep.out->size(); ++k) {
        const std::size_t i = *op_.schema.index_of(p.rewrites[k]);
        args[i] = (*real_prep.out)[k];
        arg_metas[i] = (*fake_prep.out)[k];
      }
    }
    if (v.applicable) {
      sym::ShapeEnv env;
      if (v.applicable(Args(op_.schema, arg_metas), env).truth != sym::Truth::kTrue) return;
    }
    const auto before = snapshot(args);
    const Run run = run_guarded([&] {
      HeapAllocator heap(/*fill_nan=*/true);
      KernelContext cx{heap};
      return v.run(Args(op_.schema, args), cx);
    });
    ++report_.kernel_runs;
    if (!same_bits(before, snapshot(args))) fail(v.name, "the kernel wrote into an input");
    if (!run.out)
      return fail(v.name, fmt::format("raised on a sample the reference accepts: {}", run.error));
    const std::size_t failures = report_.failures.size();
    check_kernel(v.name, fake, *run.out, args);
    if (report_.failures.size() != failures) return;
    const auto got = flatten<Tensor>(*run.out), want = flatten<Tensor>(ref);
    for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
      if (!got[i].second || !want[i].second) continue;
      if (auto m = compare_values(op_, Args(op_.schema, bound), i, *got[i].second, *want[i].second);
          !m.empty())
        fail(v.name, fmt::format("{}: {}", got[i].first, m));
    }
  }

  const OpDef& op_;
  OpcheckReport& report_;
  std::string label_;
};

}  // namespace

OpcheckReport opcheck(const OpDef& op, std::uint64_t seed) {
  OpcheckReport report;
  report.op = op.name;
  if (!op.samples) {
    report.failures.push_back({"-", "samples", "the op defines no opcheck samples"});
    return report;
  }
  Checker checker(op, report);
  for (const Sample& s : op.samples(seed)) checker.sample(s);
  if (report.samples == 0) report.failures.push_back({"-", "samples", "the op's samples are empty"});
  return report;
}

}  // namespace symtrace::op
