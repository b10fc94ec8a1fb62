#include "ops/common/quantizers_op.hpp"

#include <optional>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

namespace symtrace::ops::qop {

op::Outputs fake_for_real(const op::Args& a, const op::FakeFn& fake) {
  const std::vector<op::Value> metas = op::metas_of(a.values());
  sym::ShapeEnv env;
  op::FakeContext cx{env, a.schema().name};
  return fake(op::Args(a.schema(), metas), cx);
}

tensor::Shape concrete(const tensor::SymShape& s) {
  tensor::Shape out;
  out.reserve(s.size());
  for (const sym::SymInt& d : s) out.push_back(d.value());
  return out;
}

tensor::Tensor alloc_like(op::Allocator& alloc, std::size_t index, const tensor::TensorMeta& m) {
  const tensor::Shape sizes = concrete(m.sizes), strides = concrete(m.strides);
  tensor::Tensor t = alloc.output(index, sizes, m.dtype);
  if (t.strides() == strides) return t;
  return t.as_strided(sizes, strides, t.storage_offset());
}

quant::Rows rows_of(const tensor::Tensor& x, std::string_view arg) {
  const RowsView v = rows_view(x, arg);
  return quant::Rows{v.data, x.dtype(), v.M, v.K, v.row_stride};
}

std::vector<std::int64_t> row_offsets(const tensor::Tensor& x) {
  const std::int64_t lead = x.dim() - 1;
  std::int64_t m = 1;
  for (std::int64_t i = 0; i < lead; ++i) m *= x.size(i);
  std::vector<std::int64_t> out(static_cast<std::size_t>(m));
  for (std::int64_t r = 0; r < m; ++r) {
    std::int64_t rest = r, off = 0;
    for (std::int64_t i = lead - 1; i >= 0; --i) {
      off += (rest % x.size(i)) * x.stride(i);
      rest /= x.size(i);
    }
    out[static_cast<std::size_t>(r)] = off;
  }
  return out;
}

op::Applicability rows_applicable(const tensor::TensorMeta& x, const sym::ShapeEnv& env,
                                  std::string_view arg) {
  using sym::Truth;
  if (x.dim() == 0) return op::Applicability::yes();
  const auto is_one = [&](const sym::SymInt& s) {
    return env.decide(sym::eq(s, 1)) == Truth::kTrue;
  };
  if (!is_one(x.sizes.back()) && env.decide(sym::eq(x.strides.back(), 1)) != Truth::kTrue)
    return op::Applicability::no(
        fmt::format("{}.stride(-1) == 1 is not proven (got {})", arg, x.strides.back().str()));
  // Leading dims (size-1 dims ignored) must nest: stride[i] == stride[j] * size[j] for the
  // next non-unit leading dim j.
  std::optional<std::size_t> inner;
  for (std::int64_t i = x.dim() - 2; i >= 0; --i) {
    const auto u = static_cast<std::size_t>(i);
    if (is_one(x.sizes[u])) continue;
    if (inner &&
        env.decide(sym::eq(x.strides[u], x.strides[*inner] * x.sizes[*inner])) != Truth::kTrue)
      return op::Applicability::no(
          fmt::format("{}: leading dims are not proven viewable as [M, K] (strides {})", arg,
                      tensor::shape_str(x.strides)));
    inner = u;
  }
  return op::Applicability::yes();
}

sym::SymInt leading_numel(const tensor::TensorMeta& x) {
  sym::SymInt m = 1;
  for (std::int64_t i = 0; i + 1 < x.dim(); ++i) m = m * x.sizes[static_cast<std::size_t>(i)];
  return m;
}

tensor::SymShape leading_dims(const tensor::TensorMeta& x) {
  return tensor::SymShape(x.sizes.begin(), x.sizes.end() - (x.sizes.empty() ? 0 : 1));
}

void bad_argument(const CheckSite& site, std::string_view arg, std::string expected,
                  std::string got, std::string message, std::string hint) {
  fail(site, violation("argument", std::string(arg), std::move(expected), std::move(got),
                       std::move(message), std::move(hint)));
}

}  // namespace symtrace::ops::qop
