// Reductions with PyTorch's rules: sum, mean, amax over a list of dims; argmax over one dim
// or the flattened tensor (refdata meta_shapes.json: 3 sum, 2 mean, 1 amax, 1 argmax cases).
//
//   sum(x [2, 3, 4], dim=[-1], keepdim=True) -> [2, 3, 1]      dim=[] reduces every dim
//   sum of bool / integers -> i64 (unless dtype= is given); mean needs a float result dtype
//   argmax(x, dim=None) -> [] (i64 index into the flattened x)
// Outputs are contiguous. Reductions accumulate in f64 in the reference (the only kernel:
// none of these sits on a model's hot path; rms_norm and softmax have their own kernels).
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"
#include "ops/reduce/reduce.hpp"

namespace symtrace::ops {

namespace reduce_detail {

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kSum: return "sum";
    case Kind::kMean: return "mean";
    case Kind::kAmax: return "amax";
    case Kind::kArgmax: return "argmax";
  }
  return "?";
}

std::vector<bool> reduced_dims(const nn::Site& site, const TensorMeta& x,
                               const std::optional<std::vector<std::int64_t>>& dims) {
  const auto rank = static_cast<std::size_t>(x.dim());
  std::vector<bool> red(std::max<std::size_t>(rank, 1), false);
  if (!dims || dims->empty()) {
    std::fill(red.begin(), red.end(), true);
    return red;
  }
  for (std::int64_t d : *dims) {
    const auto w = static_cast<std::size_t>(nn::wrap_dim(site, "dim", d, x.dim()));
    if (red[w])
      nn::fail(site, "dim", "dim", "distinct dims", fmt::format("{}", fmt::join(*dims, ", ")),
               fmt::format("dim {} appears more than once in the reduction", d));
    red[w] = true;
  }
  return red;
}

DType result_dtype(Kind kind, DType in, std::optional<DType> requested) {
  if (requested) return *requested;
  if (kind == Kind::kArgmax) return DType::kI64;
  if (kind == Kind::kSum && nn::is_integral(in)) return DType::kI64;
  return in;
}

}  // namespace reduce_detail

using reduce_detail::Kind;

namespace {

constexpr std::array kNumeric = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16, DType::kI64,
                                 DType::kI32, DType::kI8,  DType::kU8,   DType::kBool};
constexpr std::array kFloat = {DType::kF64, DType::kF32, DType::kBF16, DType::kF16};

std::optional<std::vector<std::int64_t>> dims_of(const op::Args& a, Kind kind) {
  if (kind == Kind::kArgmax) {
    if (auto d = a.opt_int("dim")) return std::vector<std::int64_t>{*d};
    return std::nullopt;
  }
  return a.ints("dim");
}

op::Outputs fake(Kind kind, const op::Args& a, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& x = a.meta("x");
  nn::require_dtype(site.at("C2"), "x", x, kNumeric);
  const auto dims = dims_of(a, kind);
  const std::vector<bool> red = reduce_detail::reduced_dims(site.at("C1"), x, dims);
  const bool keepdim = a.flag("keepdim");

  std::optional<DType> requested;
  if (kind == Kind::kSum || kind == Kind::kMean) requested = a.opt_dtype("dtype");
  const DType out = reduce_detail::result_dtype(kind, x.dtype, requested);
  if (kind == Kind::kMean && std::find(kFloat.begin(), kFloat.end(), out) == kFloat.end())
    nn::fail(site.at("C2"), "dtype", requested ? "dtype" : "x", "a float result dtype (f64, f32, bf16, f16)",
             std::string(tensor::name(out)),
             fmt::format("mean of {} needs a float result dtype; pass dtype=f32", tensor::name(out)));
  if (requested && kind == Kind::kSum && !nn::is_float(out) && !nn::is_integral(out))
    nn::fail(site.at("C2"), "dtype", "dtype", "a numeric dtype", std::string(tensor::name(out)),
             "sum needs a numeric result dtype");

  // C3: amax / argmax have no identity, so every reduced dim must be non-empty.
  if (kind == Kind::kAmax || kind == Kind::kArgmax) {
    for (std::size_t d = 0; d < x.sizes.size(); ++d) {
      if (!red[d] && dims) continue;
      const std::string reason = fmt::format("{} C3: x.size({}) >= 1", cx.op, d);
      if (cx.env.require(sym::ge(x.sizes[d], 1), reason) == sym::Truth::kFalse) {
        const SymInt syms[] = {x.sizes[d]};
        nn::fail(site.at("C3"), "shape-mismatch", "x", fmt::format("size({}) >= 1", d), x.shape_str(),
                 fmt::format("{} reduces dim {} of size 0, which has no {}", cx.op, d,
                             kind == Kind::kAmax ? "maximum" : "arg max"),
                 syms);
      }
    }
  }

  SymShape sizes;
  const bool flatten = kind == Kind::kArgmax && !dims;
  for (std::size_t d = 0; d < x.sizes.size(); ++d) {
    if (!red[d]) sizes.push_back(x.sizes[d]);
    else if (keepdim) sizes.push_back(SymInt(1));
  }
  if (flatten && !keepdim) sizes.clear();
  return {nn::contiguous_like(std::move(sizes), out, x)};
}

std::vector<op::Sample> samples(Kind kind, std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 17 + static_cast<std::uint64_t>(kind);
  struct Case {
    tensor::Shape sizes;
    std::vector<std::int64_t> dims;  // {} = all (argmax: dim=None)
    bool keepdim;
  };
  const Case cases[] = {{{2, 3, 4}, {-1}, true}, {{2, 3, 4}, {}, false},   {{2, 3, 4}, {0, 2}, false},
                        {{7}, {0}, false},       {{2, 3, 4, 5}, {1, 3}, true}, {{1, 257}, {1}, false},
                        {{}, {}, false},         {{3, 1, 2}, {1}, false},  {{2, 3, 4}, {}, true}};
  const std::vector<DType> dtypes = kind == Kind::kMean ? std::vector<DType>{DType::kF32, DType::kBF16}
                                                        : std::vector<DType>{DType::kF32, DType::kBF16, DType::kI32};
  for (DType dt : dtypes)
    for (const Case& c : cases) {
      if (kind == Kind::kArgmax && c.dims.size() > 1) continue;
      op::Sample smp;
      smp.label = fmt::format("x{}_dim[{}]{}_{}", tensor::shape_str(SymShape(c.sizes.begin(), c.sizes.end())),
                              fmt::join(c.dims, ","), c.keepdim ? "_keepdim" : "", tensor::name(dt));
      smp.args.push_back(nn::sample_tensor(c.sizes, dt, ++s, nn::Layout::kContiguous, -8, 8));
      if (kind == Kind::kArgmax) smp.args.push_back(c.dims.empty() ? op::Value(op::None{}) : op::Value(SymInt(c.dims[0])));
      else smp.args.push_back(std::vector<SymInt>(c.dims.begin(), c.dims.end()));
      smp.args.push_back(c.keepdim);
      out.push_back(std::move(smp));
    }
  const auto dims_value = [&](std::vector<std::int64_t> d) -> op::Value {
    if (kind == Kind::kArgmax) return SymInt(d[0]);
    return std::vector<SymInt>(d.begin(), d.end());
  };
  out.push_back({"x[5,6]_transposed_dim[1]", {nn::sample_tensor({5, 6}, DType::kF32, ++s, nn::Layout::kTransposedLast2),
                                              dims_value({1})}});
  if (kind == Kind::kSum)
    out.push_back({"bool_x[2,3]_dim[1]", {nn::sample_tensor({2, 3}, DType::kBool, ++s), dims_value({1})}});
  out.push_back({"C1_dim3_of_rank3", {nn::sample_tensor({2, 3, 4}, DType::kF32, ++s), dims_value({3})}, true});
  if (kind != Kind::kArgmax)
    out.push_back({"C1_dim_twice", {nn::sample_tensor({2, 3, 4}, DType::kF32, ++s), dims_value({1, -2})}, true});
  if (kind == Kind::kMean)
    out.push_back({"C2_int_x", {nn::sample_tensor({2, 3}, DType::kI32, ++s), dims_value({-1})}, true});
  if (kind == Kind::kAmax || kind == Kind::kArgmax)
    out.push_back({"C3_empty_dim", {nn::sample_tensor({2, 0, 3}, DType::kF32, ++s), dims_value({1})}, true});
  return out;
}

op::OpDef make(Kind kind) {
  const std::string name(reduce_detail::kind_name(kind));
  op::OpDef def;
  def.name = name;
  switch (kind) {
    case Kind::kSum:
    case Kind::kMean:
      def.schema = op::Schema::parse(name + "(Tensor x, int[] dim=[], bool keepdim=False, *, ScalarType? dtype=None) -> Tensor");
      break;
    case Kind::kAmax:
      def.schema = op::Schema::parse("amax(Tensor x, int[] dim=[], bool keepdim=False) -> Tensor");
      break;
    case Kind::kArgmax:
      def.schema = op::Schema::parse("argmax(Tensor x, int? dim=None, bool keepdim=False) -> Tensor");
      break;
  }
  def.doc = kind == Kind::kSum    ? "sum over dims (all when dim=[]); bool/int sums are i64"
            : kind == Kind::kMean ? "mean over dims (all when dim=[]); float results only"
            : kind == Kind::kAmax ? "maximum over dims (all when dim=[]); NaN propagates"
                                  : "i64 index of the first maximum along dim (flattened when None)";
  def.constraints = {
      kind == Kind::kArgmax ? "C1: dim, when given, is in [-rank, rank - 1]"
                            : "C1: every dim is in [-rank, rank - 1] and appears once",
      kind == Kind::kMean ? "C2: the result dtype (dtype, else x's) is f64, f32, bf16 or f16"
                          : "C2: x is a float, integer or bool tensor",
  };
  if (kind == Kind::kAmax || kind == Kind::kArgmax)
    def.constraints.push_back("C3: every reduced dim has size >= 1");
  def.fake = [kind](const op::Args& a, op::FakeContext& cx) { return fake(kind, a, cx); };
  def.reference = [kind, f = def.fake, name](const op::Args& a, op::KernelContext& cx) {
    const op::Outputs o = nn::fake_of_real(f, a, name);
    const Tensor& x = a.tensor("x");
    std::optional<DType> requested;
    if (kind == Kind::kSum || kind == Kind::kMean) requested = a.opt_dtype("dtype");
    Tensor y = cx.alloc.output(0, nn::out_sizes(o), reduce_detail::result_dtype(kind, x.dtype(), requested));
    reduce_detail::reference(kind, x, dims_of(a, kind), y);
    return op::Outputs{y};
  };
  def.tolerance = {.atol = 0, .rtol = 1e-6, .compare = nullptr};
  def.samples = [kind](std::uint64_t seed) { return samples(kind, seed); };
  return def;
}

}  // namespace

void register_reduce(op::Registry& r) {
  for (Kind k : {Kind::kSum, Kind::kMean, Kind::kAmax, Kind::kArgmax}) r.add(make(k));
}

}  // namespace symtrace::ops
