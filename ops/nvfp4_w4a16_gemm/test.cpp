// nvfp4_w4a16_gemm: opcheck (every ISA within the §15.7 bound of the f64 reference), the
// nibble order, and one negative test per constraint.
#include <gtest/gtest.h>

#include <symtrace/op/opcheck.hpp>
#include <symtrace/op/registry.hpp>
#include <symtrace/ops.hpp>

#include "ops/common/quantizers_testing.hpp"
#include "ops/nvfp4_w4a16_gemm/testdata.hpp"

namespace symtrace::ops {
namespace {

using tensor::DType;
using tensor::Tensor;
using testing::fake_error;
using Err = std::pair<std::string, std::string>;
namespace v2 = boost::variant2;

const op::OpDef& def() { return registry().get("nvfp4_w4a16_gemm"); }
Tensor one() { return Tensor::from_f32({1}, std::vector<float>{1.f}); }

TEST(Nvfp4W4a16Gemm, OpcheckSamples) {
  for (std::uint64_t seed : {1, 2}) {
    const op::OpcheckReport r = op::opcheck(def(), seed);
    EXPECT_TRUE(r.ok()) << r.str();
  }
}

// Byte 0x71 holds element 0 = code 1 (0.5) in the low nibble and element 1 = code 7 (6)
// in the high nibble; byte 0x9A holds -1 (code 10) then -0.5 (code 9).
TEST(Nvfp4W4a16Gemm, LowNibbleIsTheEvenElement) {
  std::vector<float> packed(8, 0.f);
  packed[0] = 0x71;
  packed[1] = 0x9A;
  const Tensor wq = Tensor::from_f32({1, 8}, packed, DType::kU8);
  const Tensor ws = Tensor::from_f32({1, 1}, std::vector<float>{2.f}, DType::kF8E4M3FN);
  std::vector<float> xv(16, 0.f);
  for (const auto& [k, want] :
       std::vector<std::pair<int, double>>{{0, 1.0}, {1, 12.0}, {2, -2.0}, {3, -1.0}}) {
    std::fill(xv.begin(), xv.end(), 0.f);
    xv[static_cast<std::size_t>(k)] = 1.f;
    for (const char* isa : {"scalar", "avx2", "avx512"}) {
      testing::ScopedIsa scoped(isa);
      const auto y = v2::get<Tensor>(
          op::call(def(), {Tensor::from_f32({1, 16}, xv), wq, ws, one(), op::None{}})[0]);
      EXPECT_EQ(y.to_f64()[0], want) << "element " << k << " " << isa;
    }
  }
}

struct Parts {
  nvfp4::Fp4Weight w = nvfp4::make_weight({}, 8, 32, 3);
  Tensor x = Tensor::zeros({2, 32}, DType::kBF16);
};

TEST(Nvfp4W4a16Gemm, C1_RejectsKNotMultipleOf16) {
  Parts p;
  EXPECT_EQ(fake_error(def(), {Tensor::zeros({2, 24}, DType::kBF16), p.w.packed, p.w.scale, one(),
                               op::None{}}),
            (Err{"shape", "C1"}));
}
TEST(Nvfp4W4a16Gemm, C2_RejectsUnpackedWeight) {
  Parts p;
  EXPECT_EQ(
      fake_error(def(), {p.x, Tensor::zeros({8, 32}, DType::kU8), p.w.scale, one(), op::None{}}),
      (Err{"shape", "C2"}));
}
TEST(Nvfp4W4a16Gemm, C3_RejectsTransposedOrF32Scales) {
  Parts p;
  EXPECT_EQ(fake_error(def(), {p.x, p.w.packed, p.w.scale.transpose(0, 1), one(), op::None{}}),
            (Err{"scale-layout", "C3"}));
  EXPECT_EQ(fake_error(def(), {p.x, p.w.packed, p.w.scale.to(DType::kF32), one(), op::None{}}),
            (Err{"scale-dtype", "C3"}));
}
TEST(Nvfp4W4a16Gemm, C4_RejectsPerPartitionGlobalScale) {
  Parts p;
  EXPECT_EQ(
      fake_error(def(), {p.x, p.w.packed, p.w.scale, Tensor::zeros({2}, DType::kF32), op::None{}}),
      (Err{"scale-layout", "C4"}));
}
TEST(Nvfp4W4a16Gemm, C5_RejectsBiasOfWrongLength) {
  Parts p;
  EXPECT_EQ(
      fake_error(def(), {p.x, p.w.packed, p.w.scale, one(), Tensor::zeros({9}, DType::kBF16)}),
      (Err{"shape", "C5"}));
}

}  // namespace
}  // namespace symtrace::ops
