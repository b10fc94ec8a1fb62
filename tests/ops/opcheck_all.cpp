// opcheck over the whole built-in registry: one CTest test per op
// (opcheck/OpcheckTest.FakeAndKernelsAgree/<op>), each run
// under every ISA cap its variants need (SYMTRACE_ISA=avx512, avx2, scalar) so every kernel
// path is exercised; plus the fake that flattens leading dims (vLLM PR #39984), which opcheck
// must reject naming the op and both shapes.
#include <cctype>
#include <cstdlib>
#include <set>

#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/ops.hpp>

namespace symtrace {
namespace {

using op::Isa;
using tensor::DType;
using tensor::Tensor;
using tensor::TensorMeta;

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const op::OpDef* d : ops::registry().all()) names.push_back(d->name);
  return names;
}

// The SYMTRACE_ISA caps that select a different set of variants for this op.
std::vector<std::string> isa_caps(const op::OpDef& def) {
  std::set<std::string> caps = {"avx512"};
  for (const op::Variant& v : def.variants) {
    if (v.isa == Isa::kNone) caps.insert("scalar");
    if (v.isa == Isa::kAvx2) caps.insert("avx2");
  }
  if (!def.variants.empty()) caps.insert("scalar");  // the reference-only path, too
  return {caps.begin(), caps.end()};
}

class IsaCap {
 public:
  explicit IsaCap(const std::string& cap) {
    if (const char* old = std::getenv("SYMTRACE_ISA")) old_ = old;
    ::setenv("SYMTRACE_ISA", cap.c_str(), 1);
  }
  ~IsaCap() {
    if (old_) ::setenv("SYMTRACE_ISA", old_->c_str(), 1);
    else ::unsetenv("SYMTRACE_ISA");
  }

 private:
  std::optional<std::string> old_;
};

class OpcheckTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OpcheckTest, FakeAndKernelsAgree) {
  const op::OpDef& def = ops::registry().get(GetParam());
  for (const std::string& cap : isa_caps(def)) {
    IsaCap scoped(cap);
    const op::OpcheckReport r = op::opcheck(def, /*seed=*/1);
    EXPECT_TRUE(r.ok()) << "SYMTRACE_ISA=" << cap << "\n" << r.str();
    EXPECT_GT(r.samples, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(opcheck, OpcheckTest, ::testing::ValuesIn(op_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// --- the flattening fake -------------------------------------------------------------------

// A linear-like op y = x @ w^T over [*, K] x [N, K]. `flatten` makes its fake return [M, N]
// (M = prod(*)) like the fake of vLLM PR #39984, while the kernel keeps the leading dims.
op::OpDef linear_like(bool flatten) {
  op::OpDef def{.name = "toy_linear", .schema = op::Schema::parse("toy_linear(Tensor x, Tensor w) -> Tensor")};
  def.fake = [flatten](const op::Args& a, op::FakeContext&) -> op::Outputs {
    const TensorMeta& x = a.meta("x");
    const TensorMeta& w = a.meta("w");
    tensor::SymShape out(x.sizes.begin(), x.sizes.end() - 1);
    if (flatten) {
      sym::SymInt m = 1;
      for (const sym::SymInt& s : out) m = m * s;
      out = {m};  // view(-1, K) then mm: [M, N]
    }
    out.push_back(w.sizes[0]);
    return {TensorMeta::contiguous(out, x.dtype)};
  };
  def.reference = [](const op::Args& a, op::KernelContext& cx) -> op::Outputs {
    const Tensor x = a.tensor("x").contiguous();
    const Tensor& w = a.tensor("w");
    const std::int64_t k = x.size(-1), n = w.size(0), m = x.numel() / k;
    tensor::Shape out_shape = x.sizes();
    out_shape.back() = n;
    Tensor y = cx.alloc.output(0, out_shape, DType::kF32);
    const std::vector<double> xv = x.to_f64(), wv = w.to_f64();
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (std::int64_t p = 0; p < k; ++p) acc += xv[static_cast<std::size_t>(i * k + p)] * wv[static_cast<std::size_t>(j * k + p)];
        y.data<float>()[i * n + j] = static_cast<float>(acc);
      }
    return {y};
  };
  def.samples = [](std::uint64_t seed) {
    std::vector<op::Sample> s;
    for (tensor::Shape lead : {tensor::Shape{}, tensor::Shape{7}, tensor::Shape{2, 3}, tensor::Shape{2, 1, 3}}) {
      lead.push_back(16);
      Tensor x = Tensor::empty(lead, DType::kF32), w = Tensor::empty({5, 16}, DType::kF32);
      x.fill_random(seed++);
      w.fill_random(seed++);
      s.push_back({"lead" + std::to_string(lead.size() - 1), {x, w}});
    }
    return s;
  };
  return def;
}

TEST(Opcheck, AcceptsTheRankPreservingLinearFake) {
  const auto r = op::opcheck(linear_like(/*flatten=*/false));
  EXPECT_TRUE(r.ok()) << r.str();
}

TEST(Opcheck, RejectsTheFakeThatFlattensLeadingDims) {
  const auto r = op::opcheck(linear_like(/*flatten=*/true));
  ASSERT_FALSE(r.ok());
  // [K] and [M, K] happen to agree ([5] vs [1, 5] does not, so rank 0 fails too); rank 2 and 3
  // must fail, each naming the op, the kernel's [2, 3, 5] and the fake's [6, 5].
  bool lead2 = false;
  for (const auto& f : r.failures) {
    EXPECT_NE(f.message.find("toy_linear"), std::string::npos) << f.message;
    if (f.sample == "lead2") {
      lead2 = true;
      EXPECT_NE(f.message.find("f32[2, 3, 5]"), std::string::npos) << f.message;
      EXPECT_NE(f.message.find("f32[6, 5]"), std::string::npos) << f.message;
    }
  }
  EXPECT_TRUE(lead2) << r.str();
  EXPECT_EQ(r.failures.size(), 3u) << r.str();  // lead0, lead2, lead3
}

}  // namespace
}  // namespace symtrace
