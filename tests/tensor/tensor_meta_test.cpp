// TensorMeta: symbolic strides, numel/nbytes, contiguity decided through a ShapeEnv, printing.
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/sym/shape_env.hpp>
#include <symtrace/tensor/tensor.hpp>
#include <symtrace/tensor/tensor_meta.hpp>

#include <gtest/gtest.h>

namespace symtrace::tensor {
namespace {

using sym::Truth;

class TensorMetaTest : public ::testing::Test {
 protected:
  sym::ShapeEnv env;
  SymInt B = env.new_symbol("B", "input x dim 0");
  SymInt S = env.new_symbol("S", "input x dim 1");
};

TEST_F(TensorMetaTest, ContiguousStridesAreSymbolicProducts) {
  const TensorMeta m = TensorMeta::contiguous({B, S, 4096}, DType::kBF16);
  ASSERT_EQ(m.strides.size(), 3u);
  EXPECT_TRUE(m.strides[0].identical(S * 4096));
  EXPECT_TRUE(m.strides[1].identical(SymInt(4096)));
  EXPECT_TRUE(m.strides[2].identical(SymInt(1)));
  EXPECT_EQ(m.device, Device::kMeta);
  EXPECT_TRUE(m.numel().identical(B * S * 4096));
  EXPECT_TRUE(m.nbytes().identical(B * S * 8192));
  EXPECT_EQ(m.is_contiguous(env), Truth::kTrue);
}

TEST_F(TensorMetaTest, PrintsSymbolsReadably) {
  TensorMeta m = TensorMeta::contiguous({B, S, 4096}, DType::kBF16);
  EXPECT_EQ(m.shape_str(), "[B, S, 4096]");
  EXPECT_EQ(m.str(), "bf16[B, S, 4096] strides [" + m.strides[0].str() + ", 4096, 1]");
  m.layout = WeightLayout::kNK;
  m.storage_offset = 8;
  EXPECT_EQ(m.str(), "bf16[B, S, 4096] strides [" + m.strides[0].str() + ", 4096, 1] offset 8 layout NK");
  EXPECT_EQ(shape_str(SymShape{}), "[]");
}

TEST_F(TensorMetaTest, TransposeIsNotContiguousOnceSizesExceedOne) {
  TensorMeta m = TensorMeta::contiguous({B, S, 64}, DType::kF32);
  std::swap(m.sizes[0], m.sizes[1]);
  std::swap(m.strides[0], m.strides[1]);
  // B = S = 1 would make it contiguous, so without facts the answer is unknown...
  EXPECT_EQ(m.is_contiguous(env), Truth::kUnknown);
  // ...still unknown with S >= 2 alone ([S, 1, 64] strides [64, 64*S, 1] is contiguous)...
  env.set_range(S.expr(), {2, std::nullopt});
  EXPECT_EQ(m.is_contiguous(env), Truth::kUnknown);
  // ...and false once B >= 2 too.
  env.set_range(B.expr(), {2, std::nullopt});
  EXPECT_EQ(m.is_contiguous(env), Truth::kFalse);
}

TEST_F(TensorMetaTest, SizeOneDimsIgnoreTheirStride) {
  TensorMeta m = TensorMeta::contiguous({B, 1, 64}, DType::kF32);
  m.strides[1] = 12345;
  EXPECT_EQ(m.is_contiguous(env), Truth::kTrue);
  TensorMeta c = TensorMeta::contiguous({4, 1, 3}, DType::kF32);
  c.strides = {3, 99, 1};
  EXPECT_EQ(c.is_contiguous(env), Truth::kTrue);
  c.strides = {4, 3, 1};
  EXPECT_EQ(c.is_contiguous(env), Truth::kFalse);
  c.sizes[0] = 0;  // empty: contiguous whatever the strides
  EXPECT_EQ(c.is_contiguous(env), Truth::kTrue);
}

TEST_F(TensorMetaTest, PackedF4BytesAreHalfTheElements) {
  const TensorMeta w = TensorMeta::contiguous({B, 64}, DType::kF4E2M1X2);
  EXPECT_TRUE(w.nbytes().identical(B * 32));
  EXPECT_EQ(TensorMeta::contiguous({3, 3}, DType::kF4E2M1X2).nbytes().maybe_value(), 5);
}

TEST_F(TensorMetaTest, WrapDimFollowsPython) {
  const TensorMeta m = TensorMeta::contiguous({B, S, 8}, DType::kF32);
  EXPECT_EQ(m.wrap_dim(-1), 2);
  EXPECT_EQ(m.wrap_dim(0), 0);
  EXPECT_TRUE(m.size(-1).identical(SymInt(8)));
  try {
    m.wrap_dim(3);
    FAIL();
  } catch (const diag::Error& e) {
    EXPECT_EQ(e.diagnostic().code, "dim");
    EXPECT_EQ(e.diagnostic().expected, "in [-3, 2]");
    EXPECT_EQ(e.diagnostic().got, "3");
  }
  EXPECT_THROW(wrap_dim(0, 0), diag::Error);
  EXPECT_EQ(wrap_dim(-1, 0, /*wrap_scalar=*/true), 0);
}

TEST_F(TensorMetaTest, IdenticalIsStructural) {
  const TensorMeta a = TensorMeta::contiguous({B, 8}, DType::kF32);
  TensorMeta b = TensorMeta::contiguous({B, 8}, DType::kF32);
  EXPECT_TRUE(a.identical(b));
  b.strides[0] = 9;
  EXPECT_FALSE(a.identical(b));
  EXPECT_FALSE(a.identical(TensorMeta::contiguous({S, 8}, DType::kF32)));
  EXPECT_FALSE(a.identical(TensorMeta::contiguous({B, 8}, DType::kBF16)));
}

TEST_F(TensorMetaTest, RealTensorMetaAgrees) {
  Tensor x = Tensor::empty({4, 6}, DType::kF32).transpose(0, 1);
  EXPECT_EQ(x.meta().is_contiguous(env), Truth::kFalse);
  EXPECT_EQ(x.meta().str(), "f32[6, 4] strides [1, 6] cpu");
  EXPECT_EQ(x.contiguous().meta().is_contiguous(env), Truth::kTrue);
}

TEST(TensorMetaNames, EnumsHaveStableNames) {
  EXPECT_EQ(device_name(Device::kCpu), "cpu");
  EXPECT_EQ(device_name(Device::kMeta), "meta");
  EXPECT_EQ(weight_layout_name(WeightLayout::kKN), "KN");
  EXPECT_EQ(weight_layout_name(WeightLayout::kPacked), "packed");
  EXPECT_EQ(scale_format_name(ScaleFormat::kF32Pow2), "f32_pow2");
  EXPECT_EQ(scale_format_name(ScaleFormat::kUE8M0Packed4), "ue8m0_packed4");
  EXPECT_EQ(scale_format_name(ScaleFormat::kE4M3), "e4m3");
}

}  // namespace
}  // namespace symtrace::tensor
