// DType traits and name parsing.
#include <symtrace/tensor/dtype.hpp>

#include <gtest/gtest.h>

namespace symtrace::tensor {
namespace {

TEST(DType, TraitsOfEveryFormat) {
  for (int i = 0; i < kNumDTypes; ++i) {
    const auto d = static_cast<DType>(i);
    EXPECT_EQ(info(d).dtype, d);
    EXPECT_EQ(dtype_from_name(name(d)), d) << name(d);
    if (!info(d).safetensors.empty()) {
      EXPECT_EQ(dtype_from_safetensors(info(d).safetensors), d);
    }
  }
  EXPECT_EQ(info(DType::kBF16).bytes, 2u);
  EXPECT_EQ(info(DType::kF4E2M1X2).bits, 4);
  EXPECT_EQ(info(DType::kF4E2M1X2).bytes, 1u);
  EXPECT_EQ(info(DType::kF8E4M3FN).max_finite, 448.0);
  EXPECT_EQ(info(DType::kF8E4M3FNUZ).max_finite, 240.0);
  EXPECT_EQ(info(DType::kF8E5M2).max_finite, 57344.0);
  EXPECT_EQ(info(DType::kF16).max_finite, 65504.0);
  EXPECT_EQ(info(DType::kF4E2M1X2).max_finite, 6.0);
  EXPECT_TRUE(info(DType::kF8E5M2).has_inf);
  EXPECT_FALSE(info(DType::kF8E4M3FN).has_inf);
  EXPECT_TRUE(info(DType::kF8E4M3FN).has_nan);
  EXPECT_FALSE(info(DType::kF4E2M1X2).has_nan);
  EXPECT_FALSE(info(DType::kF8E8M0FNU).is_signed);
  EXPECT_FALSE(info(DType::kU8).is_signed);
  EXPECT_FALSE(info(DType::kI8).is_float);
  // The largest finite value of each float format round-trips; the next is not finite.
  for (DType d : {DType::kF8E4M3FN, DType::kF8E5M2, DType::kF8E4M3FNUZ, DType::kF8E5M2FNUZ,
                  DType::kF16, DType::kBF16, DType::kF4E2M1X2, DType::kF8E8M0FNU})
    EXPECT_EQ(decode(d, encode(d, static_cast<float>(info(d).max_finite))),
              static_cast<float>(info(d).max_finite))
        << name(d);
}

TEST(DType, ParsesPyTorchAndSafetensorsSpellings) {
  EXPECT_EQ(dtype_from_name("bfloat16"), DType::kBF16);
  EXPECT_EQ(dtype_from_name("torch.bfloat16"), DType::kBF16);
  EXPECT_EQ(dtype_from_name("bf16"), DType::kBF16);
  EXPECT_EQ(dtype_from_name("torch.float32"), DType::kF32);
  EXPECT_EQ(dtype_from_name("float"), DType::kF32);
  EXPECT_EQ(dtype_from_name("half"), DType::kF16);
  EXPECT_EQ(dtype_from_name("float8_e4m3fn"), DType::kF8E4M3FN);
  EXPECT_EQ(dtype_from_name("torch.float8_e5m2fnuz"), DType::kF8E5M2FNUZ);
  EXPECT_EQ(dtype_from_name("float8_e8m0fnu"), DType::kF8E8M0FNU);
  EXPECT_EQ(dtype_from_name("float4_e2m1fn_x2"), DType::kF4E2M1X2);
  EXPECT_EQ(dtype_from_name("f4_e2m1"), DType::kF4E2M1X2);
  EXPECT_EQ(dtype_from_name("torch.int64"), DType::kI64);
  EXPECT_EQ(dtype_from_name("long"), DType::kI64);
  EXPECT_EQ(dtype_from_name("uint8"), DType::kU8);
  EXPECT_EQ(dtype_from_name("BF16"), DType::kBF16);  // case-insensitive
  EXPECT_EQ(dtype_from_name("float8"), std::nullopt);  // ambiguous: no guess
  EXPECT_EQ(dtype_from_name(""), std::nullopt);
  EXPECT_EQ(dtype_from_safetensors("F8_E4M3"), DType::kF8E4M3FN);
  EXPECT_EQ(dtype_from_safetensors("F8_E8M0"), DType::kF8E8M0FNU);
  EXPECT_EQ(dtype_from_safetensors("BOOL"), DType::kBool);
  EXPECT_EQ(dtype_from_safetensors("U16"), std::nullopt);
  EXPECT_EQ(dtype_from_safetensors(""), std::nullopt);
  EXPECT_EQ(info(DType::kF8E4M3FNUZ).safetensors, "");
}

TEST(DType, Fp8PredicateCoversValueFormatsOnly) {
  EXPECT_TRUE(is_fp8(DType::kF8E4M3FN));
  EXPECT_TRUE(is_fp8(DType::kF8E5M2FNUZ));
  EXPECT_FALSE(is_fp8(DType::kF8E8M0FNU));
  EXPECT_FALSE(is_fp8(DType::kBF16));
  EXPECT_FALSE(is_fp8(DType::kU8));
}

}  // namespace
}  // namespace symtrace::tensor
