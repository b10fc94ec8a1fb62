#include <gtest/gtest.h>

#include <symtrace/op/op_def.hpp>

namespace symtrace::op {
namespace {

namespace v2 = boost::variant2;

const Schema& gemm() {
  static const Schema s = Schema::parse(
      "gemm(Tensor x, Tensor w, float alpha=1.0, *, int[2] block=[128, 128], Tensor? bias=None, "
      "ScalarType? out_dtype=None, str mode='fast', Scalar beta=0) -> Tensor");
  return s;
}

TensorMeta meta(std::vector<SymInt> sizes, DType d = DType::kF32) {
  return TensorMeta::contiguous(std::move(sizes), d);
}

diag::Diagnostic bind_error(std::vector<Value> pos,
                            std::vector<std::pair<std::string, Value>> named = {}) {
  try {
    bind_args(gemm(), std::move(pos), named);
  } catch (const diag::Error& e) {
    return e.diagnostic();
  }
  ADD_FAILURE() << "bind_args accepted the call";
  return {};
}

TEST(BindArgs, FillsDefaultsInSchemaOrder) {
  const auto v = bind_args(gemm(), {meta({4, 8}), meta({16, 8})});
  ASSERT_EQ(v.size(), 8u);
  EXPECT_DOUBLE_EQ(v2::get<double>(v[2]), 1.0);
  EXPECT_EQ(v2::get<std::vector<SymInt>>(v[3]).size(), 2u);
  EXPECT_TRUE(v2::holds_alternative<None>(v[4]));
  EXPECT_EQ(v2::get<std::string>(v[6]), "fast");
}

TEST(BindArgs, AcceptsNamedArgumentsAndCoercions) {
  const auto v = bind_args(gemm(), {meta({4, 8}), meta({16, 8}), SymInt(2)},
                           {{"block", SymInt(64)}, {"out_dtype", DType::kBF16}, {"beta", 0.5}});
  EXPECT_DOUBLE_EQ(v2::get<double>(v[2]), 2.0);  // int -> float
  const auto& block = v2::get<std::vector<SymInt>>(v[3]);  // int -> int[2]
  ASSERT_EQ(block.size(), 2u);
  EXPECT_EQ(block[0].value(), 64);
  EXPECT_EQ(block[1].value(), 64);
  EXPECT_EQ(v2::get<DType>(v[5]), DType::kBF16);
  EXPECT_DOUBLE_EQ(v2::get<double>(v[7]), 0.5);
}

TEST(BindArgs, RejectsTooManyPositional) {
  // block is keyword-only, so only three positional slots exist.
  const auto d = bind_error({meta({4, 8}), meta({16, 8}), 1.0, std::vector<SymInt>{1, 2}});
  EXPECT_EQ(d.code, "schema-call");
  EXPECT_EQ(d.op, "gemm");
  EXPECT_NE(d.message.find("takes 3 positional arguments but 4 were given"), std::string::npos);
}

TEST(BindArgs, RejectsMissingUnknownAndDuplicate) {
  auto d = bind_error({meta({4, 8})});
  EXPECT_EQ(d.argument, "w");
  EXPECT_NE(d.message.find("missing required argument 'w'"), std::string::npos);
  d = bind_error({meta({4, 8}), meta({16, 8})}, {{"bais", None{}}});
  EXPECT_NE(d.message.find("unexpected keyword argument 'bais'"), std::string::npos);
  d = bind_error({meta({4, 8}), meta({16, 8})}, {{"x", meta({1})}});
  EXPECT_EQ(d.argument, "x");
  EXPECT_NE(d.message.find("multiple values"), std::string::npos);
}

TEST(BindArgs, RejectsWrongTypesNamingTheArgument) {
  auto d = bind_error({meta({4, 8}), SymInt(3)});
  EXPECT_EQ(d.argument, "w");
  EXPECT_EQ(d.expected, "Tensor");
  EXPECT_EQ(d.got, "int 3");
  d = bind_error({meta({4, 8}), None{}});  // w is not optional
  EXPECT_EQ(d.argument, "w");
  d = bind_error({meta({4, 8}), meta({16, 8})}, {{"block", std::vector<SymInt>{1, 2, 3}}});
  EXPECT_EQ(d.argument, "block");
  EXPECT_EQ(d.expected, "int[2]");
  d = bind_error({meta({4, 8}), meta({16, 8})}, {{"mode", true}});
  EXPECT_EQ(d.argument, "mode");
  EXPECT_EQ(d.got, "bool True");
  d = bind_error({meta({4, 8}), meta({16, 8})}, {{"beta", std::string("x")}});
  EXPECT_EQ(d.expected, "Scalar");
}

TEST(Args, ReadsByName) {
  const auto v = bind_args(gemm(), {meta({4, 8}), meta({16, 8})}, {{"out_dtype", DType::kF16}});
  const Args a(gemm(), v);
  EXPECT_EQ(a.meta("x").sizes.size(), 2u);
  EXPECT_EQ(a.opt_meta("bias"), nullptr);
  EXPECT_TRUE(a.is_none("bias"));
  EXPECT_EQ(a.ints("block"), (std::vector<std::int64_t>{128, 128}));
  EXPECT_DOUBLE_EQ(a.f64("alpha"), 1.0);
  EXPECT_EQ(a.opt_dtype("out_dtype"), DType::kF16);
  EXPECT_EQ(a.str("mode"), "fast");
  EXPECT_DOUBLE_EQ(a.scalar_f64("beta"), 0.0);
  EXPECT_EQ(a.sizes("w")[0].value(), 16);
  EXPECT_THROW(a["nope"], diag::InternalError);
  EXPECT_THROW(a.tensor("x"), diag::InternalError);  // fake side holds metas
}

TEST(Args, SymbolicIntWhereAConcreteOneIsNeededIsADiagnostic) {
  const Schema s = Schema::parse("f(Tensor x, int k) -> Tensor");
  const std::vector<Value> v = {meta({4}), SymInt(sym::Expr::symbol(7, "k"))};
  const Args a(s, v);
  try {
    a.int_value("k");
    FAIL();
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "symbolic");
    EXPECT_EQ(e.diagnostic().argument, "k");
    EXPECT_EQ(e.diagnostic().got, "k");
  }
}

TEST(ValueStr, ReadsLikeTheSchema) {
  EXPECT_EQ(value_str(None{}), "None");
  EXPECT_EQ(value_str(meta({2, 3}, DType::kBF16)), "bf16[2, 3]");
  EXPECT_EQ(value_str(SymInt(5)), "5");
  EXPECT_EQ(value_str(std::vector<SymInt>{1, 2}), "[1, 2]");
  EXPECT_EQ(value_str(2.0), "2.0");
  EXPECT_EQ(value_str(1e-6), "1e-06");
  EXPECT_EQ(value_str(true), "True");
  EXPECT_EQ(value_str(std::string("group")), "'group'");
  EXPECT_EQ(value_str(DType::kF8E4M3FN), "f8_e4m3fn");
}

}  // namespace
}  // namespace symtrace::op
