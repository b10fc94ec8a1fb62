#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>

namespace symtrace::op {
namespace {

// double_it(x) = 2x over f32; each knob breaks one thing.
struct Knobs {
  bool skip_last = false;       // the variant forgets the last element
  bool wrong_value = false;     // the variant computes 3x
  bool ref_rejects_1d = false;  // the reference raises on 1-D inputs, the fake does not
  bool writes_input = false;    // the reference scribbles on x
  bool strided_out = false;     // the reference returns a transposed-layout output for 2-D x
};

OpDef double_op(Knobs k) {
  OpDef def{.name = "double_it", .schema = Schema::parse("double_it(Tensor x) -> Tensor")};
  def.fake = [](const Args& a, FakeContext&) -> Outputs {
    return {TensorMeta::contiguous(a.meta("x").sizes, DType::kF32)};
  };
  def.reference = [k](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor& x = a.tensor("x");
    if (k.ref_rejects_1d && x.dim() == 1) diag::fail("shape", "1-D not supported");
    const std::vector<float> v = x.to_f32();
    std::vector<float> y(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) y[i] = 2 * v[i];
    Tensor out = cx.alloc.output(0, x.sizes(), DType::kF32);
    if (k.strided_out && x.dim() == 2)
      out = Tensor::empty({x.size(1), x.size(0)}, DType::kF32).transpose(0, 1);
    out.copy_from(Tensor::from_f32(x.sizes(), y));
    if (k.writes_input) Tensor(x).fill(7.0);
    return {out};
  };
  Variant v{.name = "double_it.loop", .isa = Isa::kNone, .rule = "always"};
  v.run = [k](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor x = a.tensor("x").contiguous();
    Tensor out = cx.alloc.output(0, x.sizes(), DType::kF32);
    const std::int64_t n = x.numel() - (k.skip_last ? 1 : 0);
    for (std::int64_t i = 0; i < n; ++i)
      out.data<float>()[i] = (k.wrong_value ? 3.f : 2.f) * x.data<float>()[i];
    return {out};
  };
  def.variants.push_back(v);
  def.samples = [](std::uint64_t seed) {
    std::vector<Sample> s;
    for (const tensor::Shape& shape : {tensor::Shape{7}, tensor::Shape{3, 5}, tensor::Shape{2, 1, 4}}) {
      Tensor x = Tensor::empty(shape, DType::kF32);
      x.fill_random(seed);
      s.push_back({"rank" + std::to_string(shape.size()), {x}});
    }
    Tensor t = Tensor::empty({5, 3}, DType::kF32);
    t.fill_random(seed + 1);
    s.push_back({"transposed_3x5", {t.transpose(0, 1)}});
    return s;
  };
  return def;
}

bool mentions(const OpcheckReport& r, std::string_view kernel, std::string_view text) {
  for (const auto& f : r.failures)
    if (f.kernel == kernel && f.message.find(text) != std::string::npos) return true;
  ADD_FAILURE() << "no failure of " << kernel << " mentioning '" << text << "' in:\n" << r.str();
  return false;
}

TEST(Opcheck, PassesACorrectOp) {
  const auto r = opcheck(double_op({}));
  EXPECT_TRUE(r.ok()) << r.str();
  EXPECT_EQ(r.samples, 4u);
  EXPECT_EQ(r.kernel_runs, 8u);  // reference + the variant on each sample
}

TEST(Opcheck, CatchesAnUnwrittenElement) {
  const auto r = opcheck(double_op({.skip_last = true}));
  EXPECT_TRUE(mentions(r, "double_it.loop", "NaN means never written"));
}

TEST(Opcheck, CatchesWrongValues) {
  const auto r = opcheck(double_op({.wrong_value = true}));
  EXPECT_TRUE(mentions(r, "double_it.loop", "differ from the reference"));
}

TEST(Opcheck, CatchesErrorDisagreement) {
  const auto r = opcheck(double_op({.ref_rejects_1d = true}));
  EXPECT_TRUE(mentions(r, "reference", "the fake accepts this call but the reference raised"));
  EXPECT_EQ(r.failures.size(), 1u) << r.str();
}

TEST(Opcheck, CatchesAKernelWritingItsInput) {
  const auto r = opcheck(double_op({.writes_input = true}));
  EXPECT_TRUE(mentions(r, "reference", "wrote into an input"));
}

TEST(Opcheck, CatchesStridesThatDifferFromTheFake) {
  const auto r = opcheck(double_op({.strided_out = true}));
  EXPECT_TRUE(mentions(r, "reference", "strides [1, 3]"));
  EXPECT_TRUE(mentions(r, "reference", "but the fake says f32[3, 5] strides [5, 1]"));
}

TEST(Opcheck, ExpectedErrorsMustBeRaisedByBoth) {
  OpDef op = double_op({});
  op.samples = [](std::uint64_t) {
    return std::vector<Sample>{{"claims_error", {Tensor::zeros({2}, DType::kF32)}, true}};
  };
  EXPECT_TRUE(mentions(opcheck(op), "fake", "should be rejected"));
}

TEST(Opcheck, AViewOpMustAlias) {
  OpDef op = double_op({});
  op.is_view = true;
  op.variants.clear();
  EXPECT_TRUE(mentions(opcheck(op), "reference", "does not share storage"));
}

TEST(Opcheck, AnOpWithoutSamplesFails) {
  OpDef op = double_op({});
  op.samples = nullptr;
  EXPECT_FALSE(opcheck(op).ok());
}

}  // namespace
}  // namespace symtrace::op
