#include <cmath>

#include <gtest/gtest.h>

#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/op/schema.hpp>

namespace symtrace::op {
namespace {

namespace v2 = boost::variant2;

// The column an error message names ("column 17: ...").
std::string error_of(std::string_view text) {
  try {
    Schema::parse(text);
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "schema");
    return e.diagnostic().message;
  }
  return "no error";
}

TEST(Schema, ParsesFp8GemmSignature) {
  const Schema s = Schema::parse(
      "fp8_gemm(Tensor a, Tensor b, Tensor scale_a, *, ScalarType out_dtype, Tensor? bias=None) "
      "-> Tensor");
  EXPECT_EQ(s.name, "fp8_gemm");
  ASSERT_EQ(s.args.size(), 5u);
  EXPECT_EQ(s.args[0].name, "a");
  EXPECT_FALSE(s.args[2].kwarg_only);
  EXPECT_TRUE(s.args[3].kwarg_only);
  EXPECT_EQ(s.args[3].type, ArgType::kScalarType);
  EXPECT_FALSE(s.args[3].default_value.has_value());
  EXPECT_TRUE(s.args[4].optional);
  ASSERT_TRUE(s.args[4].default_value.has_value());
  EXPECT_TRUE(v2::holds_alternative<None>(*s.args[4].default_value));
  ASSERT_EQ(s.returns.size(), 1u);
  EXPECT_EQ(s.returns[0].type, ArgType::kTensor);
  EXPECT_EQ(s.index_of("scale_a"), 2u);
  EXPECT_FALSE(s.index_of("nope").has_value());
}

TEST(Schema, ParsesEveryTypeSpelling) {
  const Schema s = Schema::parse(
      "f(Tensor a, Tensor? b, Tensor[] c, int d, int? e, int[] f, int[2] g, SymInt h, SymInt[] i, "
      "float j, float? k, bool l, str m, str? n, ScalarType o, ScalarType? p, Scalar q) -> Tensor");
  const std::vector<std::pair<ArgType, bool>> want = {
      {ArgType::kTensor, false},     {ArgType::kTensor, true},      {ArgType::kTensorList, false},
      {ArgType::kInt, false},        {ArgType::kInt, true},         {ArgType::kIntList, false},
      {ArgType::kIntList, false},    {ArgType::kInt, false},        {ArgType::kIntList, false},
      {ArgType::kFloat, false},      {ArgType::kFloat, true},       {ArgType::kBool, false},
      {ArgType::kStr, false},        {ArgType::kStr, true},         {ArgType::kScalarType, false},
      {ArgType::kScalarType, true},  {ArgType::kScalar, false}};
  ASSERT_EQ(s.args.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(s.args[i].type, want[i].first) << s.args[i].name;
    EXPECT_EQ(s.args[i].optional, want[i].second) << s.args[i].name;
  }
  EXPECT_EQ(s.args[6].fixed_len, 2);
  EXPECT_TRUE(s.args[7].symint);
  EXPECT_TRUE(s.args[8].symint);
}

TEST(Schema, ParsesDefaults) {
  const Schema s = Schema::parse(
      "f(Tensor x, *, int group=128, int neg=-1, float eps=1e-06, float one=1, bool t=True, "
      "bool f=False, str g='group', str h=\"tensor\", ScalarType q=f8_e4m3fn, "
      "ScalarType? o=torch.bfloat16, int[2] block=[128, 64], int[] none=[], int[2] rep=3, "
      "Scalar alpha=1, Scalar beta=0.5, float lo=-inf) -> Tensor");
  const auto def = [&](std::string_view n) -> const Value& {
    return *s.args[*s.index_of(n)].default_value;
  };
  EXPECT_EQ(v2::get<SymInt>(def("group")).value(), 128);
  EXPECT_EQ(v2::get<SymInt>(def("neg")).value(), -1);
  EXPECT_DOUBLE_EQ(v2::get<double>(def("eps")), 1e-6);
  EXPECT_DOUBLE_EQ(v2::get<double>(def("one")), 1.0);
  EXPECT_TRUE(v2::get<bool>(def("t")));
  EXPECT_FALSE(v2::get<bool>(def("f")));
  EXPECT_EQ(v2::get<std::string>(def("g")), "group");
  EXPECT_EQ(v2::get<std::string>(def("h")), "tensor");
  EXPECT_EQ(v2::get<DType>(def("q")), DType::kF8E4M3FN);
  EXPECT_EQ(v2::get<DType>(def("o")), DType::kBF16);
  const auto& block = v2::get<std::vector<SymInt>>(def("block"));
  ASSERT_EQ(block.size(), 2u);
  EXPECT_EQ(block[1].value(), 64);
  EXPECT_TRUE(v2::get<std::vector<SymInt>>(def("none")).empty());
  EXPECT_EQ(v2::get<std::vector<SymInt>>(def("rep")).size(), 2u);
  EXPECT_EQ(v2::get<SymInt>(def("alpha")).value(), 1);  // an int Scalar stays an int
  EXPECT_DOUBLE_EQ(v2::get<double>(def("beta")), 0.5);
  EXPECT_TRUE(std::isinf(v2::get<double>(def("lo"))));
}

TEST(Schema, ParsesReturnForms) {
  EXPECT_EQ(Schema::parse("f(Tensor x) -> (Tensor q, Tensor scale)").returns[1].name, "scale");
  const Schema opt = Schema::parse("f(Tensor x) -> (Tensor, Tensor?)");
  ASSERT_EQ(opt.returns.size(), 2u);
  EXPECT_TRUE(opt.returns[1].optional);
  EXPECT_EQ(Schema::parse("f(Tensor x) -> Tensor[]").returns[0].type, ArgType::kTensorList);
  EXPECT_TRUE(Schema::parse("f(Tensor x) -> ()").returns.empty());
  EXPECT_EQ(Schema::parse("add.Scalar(Tensor self, Scalar other) -> Tensor").name, "add.Scalar");
  EXPECT_TRUE(Schema::parse("f() -> Tensor").args.empty());
}

TEST(Schema, StrIsCanonicalAndReparses) {
  const std::string text =
      "block_fp8_gemm(Tensor x,Tensor  w , *, int[2] block=[128,128], str act_quant='group', "
      "ScalarType? out_dtype=None, Tensor? bias=None, float eps=1e-06, SymInt[] s=[]) -> "
      "(Tensor y, Tensor?)";
  const Schema s = Schema::parse(text);
  EXPECT_EQ(s.str(),
            "block_fp8_gemm(Tensor x, Tensor w, *, int[2] block=[128, 128], str act_quant='group', "
            "ScalarType? out_dtype=None, Tensor? bias=None, float eps=1e-06, SymInt[] s=[]) -> "
            "(Tensor y, Tensor?)");
  EXPECT_EQ(Schema::parse(s.str()).str(), s.str());
  EXPECT_EQ(s.text, text);
}

TEST(Schema, DefaultsRoundTripThroughStr) {
  for (std::string_view text : {
           "f(str a=\"it's\", str b='say \"hi\"', str c='a, b)') -> Tensor",
           "f(float a=inf, float b=-1e-300, Scalar c=1e5, Scalar d=-3, int[2] e=7) -> Tensor",
           "f(ScalarType? d=torch.float8_e4m3fn, bool t=False, SymInt[] s=[-1, 0]) -> ()"}) {
    const Schema s = Schema::parse(text);
    EXPECT_EQ(Schema::parse(s.str()).str(), s.str()) << text;
  }
}

TEST(Schema, ErrorsNameTheColumn) {
  EXPECT_EQ(error_of("f(Tensr x) -> Tensor").substr(0, 9), "column 3:");
  EXPECT_NE(error_of("f(Tensr x) -> Tensor").find("unknown type 'Tensr'"), std::string::npos);
  EXPECT_NE(error_of("f(Tensor x) Tensor").find("column 13: expected '->'"), std::string::npos);
  EXPECT_NE(error_of("f(Tensor x, int x) -> Tensor").find("column 17: duplicate argument 'x'"),
            std::string::npos);
  EXPECT_NE(error_of("f(Tensor x, int k=None) -> Tensor").find("not optional"), std::string::npos);
  EXPECT_NE(error_of("f(Tensor x, int k=1.5) -> Tensor").find("'1.5' is not an integer"),
            std::string::npos);
  EXPECT_NE(error_of("f(Tensor x, bool b=1) -> Tensor").find("not True or False"), std::string::npos);
  EXPECT_NE(error_of("f(int k=1, Tensor x) -> Tensor").find("without a default follows"),
            std::string::npos);
  EXPECT_NE(error_of("f(int[2] b=[1, 2, 3]) -> Tensor").find("has 3 values"), std::string::npos);
  // A huge fixed length would expand a one-value default to that many values (fuzz_schema).
  EXPECT_NE(error_of("m(*, int[22000000] f15=55) -> Tensor[]")
                .find("column 10: list length 22000000 is over the limit of 64"),
            std::string::npos);
  EXPECT_NO_THROW(Schema::parse("f(int[64] b=1) -> Tensor"));
  EXPECT_NE(error_of("f(ScalarType d=f7) -> Tensor").find("dtype name"), std::string::npos);
  EXPECT_NE(error_of("f(str s='abc) -> Tensor").find("unterminated"), std::string::npos);
  EXPECT_NE(error_of("f(Tensor(a!) x) -> Tensor").find("alias annotations"), std::string::npos);
  EXPECT_NE(error_of("f(Tensor x) -> Tensor y z").find("after the return types"),
            std::string::npos);
  EXPECT_NE(error_of("(Tensor x) -> Tensor").find("column 1: expected an op name"),
            std::string::npos);
  EXPECT_NE(error_of("f(Tensor x, *, *, int y) -> Tensor").find("second '*'"), std::string::npos);
  EXPECT_NE(error_of("f(float[] x) -> Tensor").find("no list form"), std::string::npos);
}

TEST(Schema, KwargOnlyArgumentsMayFollowDefaultsWithoutOne) {
  const Schema s = Schema::parse("f(Tensor x, int k=1, *, ScalarType out) -> Tensor");
  EXPECT_TRUE(s.args[2].kwarg_only);
  EXPECT_FALSE(s.args[2].default_value.has_value());
}

TEST(Schema, ErrorShowsTheTextAndACaret) {
  try {
    Schema::parse("f(Tensor x, Foo y) -> Tensor");
    FAIL();
  } catch (const diag::Error& e) {
    ASSERT_EQ(e.diagnostic().notes.size(), 2u);
    EXPECT_EQ(e.diagnostic().notes[1], std::string(12, ' ') + "^");
    EXPECT_EQ(e.diagnostic().op, "f");
  }
}

}  // namespace
}  // namespace symtrace::op
