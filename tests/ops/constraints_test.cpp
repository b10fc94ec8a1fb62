// One negative test per numbered constraint of the view, shape and elementwise ops: the fake
// refuses the call with the constraint's label, the code, and the argument at fault.
#include <gtest/gtest.h>

#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

namespace symtrace {
namespace {

using op::Value;
using sym::SymInt;
using tensor::DType;
using tensor::TensorMeta;

TensorMeta m(tensor::SymShape s, DType d = DType::kF32) { return TensorMeta::contiguous(std::move(s), d); }
std::vector<SymInt> ints(std::initializer_list<std::int64_t> v) { return {v.begin(), v.end()}; }
SymInt i(std::int64_t v) { return SymInt(v); }

struct Case {
  std::string name;  // <op>_<label>_<what>
  std::string op;
  std::vector<Value> args;
  std::string constraint, code, argument;
};

std::vector<Case> cases() {
  const TensorMeta x234 = m({2, 3, 4});
  const TensorMeta xt = [] {  // [4, 6] transposed
    TensorMeta t = m({6, 4});
    std::swap(t.sizes[0], t.sizes[1]);
    std::swap(t.strides[0], t.strides[1]);
    return t;
  }();
  return {
      {"view_C1_BadNumel", "view", {x234, ints({5, 5})}, "C1", "view", "shape"},
      {"view_C1_TwoInfers", "view", {x234, ints({-1, -1})}, "C1", "view", "shape"},
      {"view_C2_NotViewable", "view", {xt, ints({24})}, "C2", "view", "self"},
      {"reshape_C1_BadNumel", "reshape", {x234, ints({7})}, "C1", "view", "shape"},
      {"transpose_C1_DimOutOfRange", "transpose", {x234, i(0), i(3)}, "C1", "dim", "dim1"},
      {"t_C1_Rank3", "t", {x234}, "C1", "dim", "self"},
      {"mT_C1_Rank1", "mT", {m({4})}, "C1", "dim", "self"},
      {"permute_C1_TooFewDims", "permute", {x234, ints({1, 0})}, "C1", "dim", "dims"},
      {"permute_C2_Duplicate", "permute", {x234, ints({0, 1, 1})}, "C2", "dim", "dims"},
      {"expand_C1_FewerSizes", "expand", {m({1, 3}), ints({3})}, "C1", "dim", "size"},
      {"expand_C2_InferNewDim", "expand", {m({3}), ints({-1, 3})}, "C2", "shape-mismatch", "size"},
      {"expand_C3_NonSingleton", "expand", {m({2, 3}), ints({2, 4})}, "C3", "shape-mismatch", "size"},
      {"unsqueeze_C1_DimOutOfRange", "unsqueeze", {x234, i(4)}, "C1", "dim", "dim"},
      {"squeeze_C1_DimOutOfRange", "squeeze", {x234, ints({3})}, "C1", "dim", "dim"},
      {"flatten_C1_DimOutOfRange", "flatten", {x234, i(0), i(3)}, "C1", "dim", "end_dim"},
      {"flatten_C2_StartAfterEnd", "flatten", {x234, i(2), i(1)}, "C2", "dim", "start_dim"},
      {"unflatten_C1_DimOutOfRange", "unflatten", {m({2, 12}), i(2), ints({3, 4})}, "C1", "dim", "dim"},
      {"unflatten_C2_WrongProduct", "unflatten", {m({2, 12}), i(1), ints({5, -1})}, "C2", "shape-mismatch", "sizes"},
      {"narrow_C1_Scalar", "narrow", {m({}), i(0), i(0), i(1)}, "C1", "dim", "self"},
      {"narrow_C2_TooLong", "narrow", {x234, i(1), i(2), i(5)}, "C2", "shape-mismatch", "length"},
      {"slice_C1_DimOutOfRange", "slice", {x234, i(3)}, "C1", "dim", "dim"},
      {"slice_C2_ZeroStep", "slice", {x234, i(0), op::None{}, op::None{}, i(0)}, "C2", "shape-mismatch", "step"},
      {"select_C1_Scalar", "select", {m({}), i(0), i(0)}, "C1", "dim", "self"},
      {"select_C2_IndexOutOfRange", "select", {x234, i(1), i(3)}, "C2", "index", "index"},
      {"cat_C1_DimOutOfRange", "cat", {std::vector<TensorMeta>{m({2, 3})}, i(2)}, "C1", "dim", "dim"},
      {"cat_C2_RankMismatch", "cat", {std::vector<TensorMeta>{m({2, 3}), x234}, i(0)}, "C2", "shape-mismatch", "tensors[1]"},
      {"cat_C3_SizeMismatch", "cat", {std::vector<TensorMeta>{m({2, 3}), m({2, 4})}, i(0)}, "C3", "shape-mismatch", "tensors[1]"},
      {"cat_C4_Fp8Pair", "cat", {std::vector<TensorMeta>{m({2}, DType::kF8E4M3FN), m({2}, DType::kF8E5M2)}, i(0)}, "C4", "dtype", ""},
      {"stack_C1_DimOutOfRange", "stack", {std::vector<TensorMeta>{m({2, 3})}, i(3)}, "C1", "dim", "dim"},
      {"stack_C2_Unequal", "stack", {std::vector<TensorMeta>{m({2, 3}), m({3, 2})}, i(0)}, "C2", "shape-mismatch", "tensors[1]"},
      {"split_C1_DimOutOfRange", "split", {x234, i(2), i(3)}, "C1", "dim", "dim"},
      {"split_C2_ZeroSize", "split", {x234, i(0), i(0)}, "C2", "shape-mismatch", "split_size"},
      {"split_with_sizes_C2_Short", "split_with_sizes", {x234, ints({1, 1}), i(1)}, "C2", "shape-mismatch", "split_sizes"},
      {"chunk_C1_ZeroChunks", "chunk", {x234, i(0)}, "C1", "shape-mismatch", "chunks"},
      {"chunk_C2_DimOutOfRange", "chunk", {x234, i(2), i(3)}, "C2", "dim", "dim"},
      {"unbind_C1_DimOutOfRange", "unbind", {x234, i(-4)}, "C1", "dim", "dim"},
      {"index_select_C1_DimOutOfRange", "index_select", {x234, i(3), m({2}, DType::kI64)}, "C1", "dim", "dim"},
      {"index_select_C2_FloatIndex", "index_select", {x234, i(0), m({2})}, "C2", "dtype", "index"},
      {"index_select_C3_MatrixIndex", "index_select", {x234, i(0), m({2, 2}, DType::kI64)}, "C3", "shape-mismatch", "index"},
      {"index_C1_Scalar", "index", {m({}), m({2}, DType::kI64)}, "C1", "dim", "self"},
      {"index_C2_BoolMask", "index", {x234, m({2}, DType::kBool)}, "C2", "dtype", "index"},
      {"add_C1_Broadcast", "add", {m({2, 3}), m({4})}, "C1", "broadcast", "other"},
      {"add_C2_Fp8Pair", "add", {m({2}, DType::kF8E4M3FN), m({2}, DType::kF8E5M2)}, "C2", "dtype", ""},
      {"sub_C2_Bool", "sub", {m({2}, DType::kBool), m({2})}, "C2", "dtype", "self"},
      {"sub_scalar_C2_BoolScalar", "sub_scalar", {m({2}), true}, "C2", "dtype", "other"},
      {"mul_C1_Broadcast", "mul", {m({3, 2}), m({3, 1, 3})}, "C1", "broadcast", "other"},
      {"neg_C1_Bool", "neg", {m({2}, DType::kBool)}, "C1", "dtype", "self"},
      {"silu_C1_Int", "silu", {m({2}, DType::kI32)}, "C1", "dtype", "self"},
      {"exp_C1_E8m0", "exp", {m({2}, DType::kF8E8M0FNU)}, "C1", "dtype", "self"},
      {"gelu_C2_BadMode", "gelu", {m({2}), std::string("fast")}, "C2", "value", "approximate"},
      {"silu_and_mul_C1_Scalar", "silu_and_mul", {m({})}, "C1", "dim", "x"},
      {"silu_and_mul_C2_Odd", "silu_and_mul", {m({2, 7})}, "C2", "shape-mismatch", "x"},
      {"silu_and_mul_C3_Int", "silu_and_mul", {m({2, 8}, DType::kI32)}, "C3", "dtype", "x"},
      {"where_C1_FloatCondition", "where", {m({2}), m({2}), m({2})}, "C1", "dtype", "condition"},
      {"where_C2_Broadcast", "where", {m({2}, DType::kBool), m({3}), m({2})}, "C2", "broadcast", "self"},
  };
}

class ConstraintTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConstraintTest, FakeRefusesWithLabelCodeAndArgument) {
  const Case& c = GetParam();
  sym::ShapeEnv env;
  try {
    op::bind_and_fake(ops::registry().get(c.op), c.args, env);
    FAIL() << c.op << " accepted the call";
  } catch (const diag::Error& e) {
    const diag::Diagnostic& d = e.diagnostic();
    EXPECT_EQ(d.op, c.op);
    EXPECT_EQ(d.constraint, c.constraint) << e.what();
    EXPECT_EQ(d.code, c.code) << e.what();
    EXPECT_EQ(d.argument, c.argument) << e.what();
    EXPECT_FALSE(d.message.empty());
    // Every label is one the op documents (symtrace ops NAME prints them).
    bool documented = false;
    for (const std::string& s : ops::registry().get(c.op).constraints) documented |= s.starts_with(c.constraint + ":");
    EXPECT_TRUE(documented) << c.constraint << " is not in " << c.op << "'s constraint list";
  }
}

INSTANTIATE_TEST_SUITE_P(ViewAndElementwise, ConstraintTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace symtrace
