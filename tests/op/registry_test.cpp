#include <cmath>
#include <cstdlib>

#include <gtest/gtest.h>

#include <symtrace/op/registry.hpp>

namespace symtrace::op {
namespace {

int g_fast_runs = 0;

// scale(x, s) = x * s over contiguous f32, with one "fast" variant for numel % 4 == 0.
OpDef scale_op() {
  OpDef def{.name = "scale", .schema = Schema::parse("scale(Tensor x, float s) -> Tensor")};
  def.fake = [](const Args& a, FakeContext&) -> Outputs {
    const TensorMeta& x = a.meta("x");
    if (x.dtype != DType::kF32) {
      diag::Diagnostic d;
      d.code = "dtype";
      d.argument = "x";
      d.message = "x must be f32";
      throw diag::Error(d);
    }
    return {TensorMeta::contiguous(x.sizes, x.dtype)};
  };
  def.reference = [](const Args& a, KernelContext& cx) -> Outputs {
    const Tensor x = a.tensor("x").contiguous();
    Tensor y = cx.alloc.output(0, x.sizes(), DType::kF32);
    for (std::int64_t i = 0; i < x.numel(); ++i) y.data<float>()[i] = x.data<float>()[i] * static_cast<float>(a.f64("s"));
    return {y};
  };
  Variant fast{.name = "scale.fast", .isa = Isa::kAvx2, .rule = "numel % 4 == 0"};
  fast.applicable = [](const Args& a, sym::ShapeEnv& env) {
    return env.decide(sym::divisible(a.meta("x").numel(), 4)) == sym::Truth::kTrue
               ? Applicability::yes()
               : Applicability::no("numel % 4 != 0");
  };
  fast.run = [](const Args& a, KernelContext& cx) -> Outputs {
    ++g_fast_runs;
    Tensor y = cx.alloc.output(0, a.tensor("x").sizes(), DType::kF32);
    const Tensor x = a.tensor("x").contiguous();
    for (std::int64_t i = 0; i < x.numel(); ++i) y.data<float>()[i] = x.data<float>()[i] * static_cast<float>(a.f64("s"));
    return {y};
  };
  def.variants.push_back(fast);
  return def;
}

diag::Diagnostic add_error(OpDef def) {
  Registry r;
  try {
    r.add(std::move(def));
  } catch (const diag::Error& e) {
    return e.diagnostic();
  }
  ADD_FAILURE() << "Registry::add accepted an invalid definition";
  return {};
}

TEST(Registry, AddsFindsAndListsSorted) {
  Registry r;
  r.add(scale_op());
  OpDef other = scale_op();
  other.name = "abs_scale";
  other.schema = Schema::parse("abs_scale(Tensor x, float s) -> Tensor");
  other.variants.clear();
  r.add(other);
  ASSERT_NE(r.find("scale"), nullptr);
  EXPECT_EQ(r.find("nope"), nullptr);
  const auto all = r.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->name, "abs_scale");
  EXPECT_EQ(all[1]->name, "scale");
  try {
    r.get("nope");
    FAIL();
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "unknown-op");
  }
}

TEST(Registry, RejectsInvalidDefinitions) {
  Registry r;
  r.add(scale_op());
  EXPECT_THROW(r.add(scale_op()), diag::Error);  // duplicate

  OpDef d = scale_op();
  d.fake = nullptr;
  EXPECT_NE(add_error(d).message.find("no fake"), std::string::npos);
  d = scale_op();
  d.reference = nullptr;
  EXPECT_NE(add_error(d).message.find("no reference"), std::string::npos);
  d = scale_op();
  d.variants[0].name = "fast";
  EXPECT_NE(add_error(d).message.find("scale.<what>"), std::string::npos);
  d = scale_op();
  d.name = "other";
  EXPECT_NE(add_error(d).message.find("schema names 'scale'"), std::string::npos);
  d = scale_op();
  d.variants.push_back(d.variants[0]);
  EXPECT_NE(add_error(d).message.find("two variants"), std::string::npos);
  d = scale_op();
  d.variants[0].prepare = Prepare{.name = "p", .rewrites = {"w"}};
  EXPECT_NE(add_error(d).message.find("'w', not an argument"), std::string::npos);
}

TEST(Registry, FakeCallFillsTheOpNameIntoErrors) {
  const OpDef op = scale_op();
  sym::ShapeEnv env;
  const auto out = bind_and_fake(op, {TensorMeta::contiguous({2, 3}, DType::kF32), 2.0}, env);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(boost::variant2::get<TensorMeta>(out[0]).shape_str(), "[2, 3]");
  try {
    bind_and_fake(op, {TensorMeta::contiguous({2, 3}, DType::kBF16), 2.0}, env);
    FAIL();
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "dtype");
    EXPECT_EQ(e.diagnostic().op, "scale");
  }
  const std::vector<Value> unbound = {TensorMeta::contiguous({2}, DType::kF32)};
  EXPECT_THROW(fake_call(op, unbound, env), diag::InternalError);
}

TEST(Registry, CallPicksTheFirstApplicableVariantElseTheReference) {
  const OpDef op = scale_op();
  const bool has_avx2 = cpu_supports(Isa::kAvx2);
  g_fast_runs = 0;
  Tensor x = Tensor::from_f32({2, 2}, std::vector<float>{1, 2, 3, 4});
  auto y = boost::variant2::get<Tensor>(call(op, {x, 3.0})[0]);
  EXPECT_EQ(y.to_f32(), (std::vector<float>{3, 6, 9, 12}));
  EXPECT_EQ(g_fast_runs, has_avx2 ? 1 : 0);

  Tensor odd = Tensor::from_f32({3}, std::vector<float>{1, 2, 3});  // numel % 4 != 0
  y = boost::variant2::get<Tensor>(call(op, {odd, 2.0})[0]);
  EXPECT_EQ(y.to_f32(), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ(g_fast_runs, has_avx2 ? 1 : 0);

  ::setenv("SYMTRACE_ISA", "scalar", 1);  // forced scalar: never the AVX2 variant
  const std::vector<Value> metas = {x.meta(), 3.0};
  EXPECT_EQ(select_variant(op, metas), nullptr);
  call(op, {x, 3.0});
  ::unsetenv("SYMTRACE_ISA");
  EXPECT_EQ(g_fast_runs, has_avx2 ? 1 : 0);
}

TEST(Registry, CallRejectsABadCallThroughTheFake) {
  const OpDef op = scale_op();
  Tensor x = Tensor::from_f32({2}, std::vector<float>{1, 2}).to(DType::kBF16);
  try {
    call(op, {x, 1.0});
    FAIL();
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "dtype");
  }
  EXPECT_THROW(call(op, {x}), diag::Error);  // missing s: schema-call
}

TEST(HeapAllocator, FillsNanWhenAsked) {
  HeapAllocator heap(/*fill_nan=*/true);
  const Tensor t = heap.output(0, {3}, DType::kF32);
  for (float v : t.to_f32()) EXPECT_TRUE(std::isnan(v));
  const auto ws = heap.workspace(100);
  EXPECT_EQ(ws.size(), 100u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ws.data()) % 64, 0u);
}

}  // namespace
}  // namespace symtrace::op
