// Tensor: storage, views and their bounds checks, strided copies and conversions, fills.
#include <symtrace/diag/diagnostic.hpp>
#include <symtrace/tensor/tensor.hpp>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace symtrace::tensor {
namespace {

// The error code of what `f` throws ("" when it does not throw a diag::Error).
template <class F>
std::string error_code(F&& f) {
  try {
    f();
  } catch (const diag::Error& e) {
    return e.diagnostic().code;
  }
  return "";
}

Tensor iota(Shape sizes, DType dtype = DType::kF32) {
  std::int64_t n = 1;
  for (auto s : sizes) n *= s;
  std::vector<float> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0.f);
  return Tensor::from_f32(std::move(sizes), v, dtype);
}

TEST(Storage, AllocationIsAlignedAndBorrowedStorageStaysAlive) {
  auto s = Storage::allocate(3);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s->data()) % 64, 0u);
  EXPECT_EQ(s->nbytes(), 3u);
  auto owner = std::make_shared<std::vector<float>>(6, 2.f);
  auto b = Storage::borrow(owner->data(), 24, owner, /*read_only=*/true);
  std::weak_ptr<std::vector<float>> watch = owner;
  owner.reset();
  EXPECT_FALSE(watch.expired());  // the storage keeps its owner alive
  Tensor t = Tensor::from_storage(b, {2, 3}, {3, 1}, 0, DType::kF32);
  EXPECT_EQ(t.item(std::vector<std::int64_t>{1, 2}), 2.0);
  EXPECT_EQ(error_code([&] { t.fill(1.0); }), "read-only");
  t = Tensor();
  b.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(Tensor, EmptyHasContiguousStridesAndSizes) {
  Tensor t = Tensor::empty({2, 3, 4}, DType::kBF16);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.nbytes(), 48u);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(error_code([&] { t.size(3); }), "dim");
  Tensor f4 = Tensor::empty({3, 6}, DType::kF4E2M1X2);
  EXPECT_EQ(f4.nbytes(), 9u);
  Tensor z = Tensor::zeros({0, 5}, DType::kF32);
  EXPECT_EQ(z.numel(), 0);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_TRUE(z.to_f64().empty());
}

TEST(Tensor, BadSizesAndOverflowAreErrors) {
  EXPECT_EQ(error_code([] { Tensor::empty({2, -1}, DType::kF32); }), "shape");
  EXPECT_EQ(error_code([] { Tensor::empty({std::int64_t{1} << 40, std::int64_t{1} << 40}, DType::kF32); }),
            "overflow");
  EXPECT_EQ(error_code([] { Tensor::empty({std::int64_t{1} << 62, 4}, DType::kF32); }), "overflow");
  const std::vector<float> three(3, 1.f);
  EXPECT_EQ(error_code([&] { Tensor::from_f32({2, 2}, three); }), "shape");
}

TEST(Tensor, ViewsShareStorageAndAddressTheRightElements) {
  Tensor x = iota({3, 4});
  Tensor xt = x.transpose(0, 1);
  EXPECT_EQ(xt.sizes(), (Shape{4, 3}));
  EXPECT_EQ(xt.strides(), (Shape{1, 4}));
  EXPECT_FALSE(xt.is_contiguous());
  EXPECT_EQ(xt.storage(), x.storage());
  EXPECT_EQ(xt.item(std::vector<std::int64_t>{3, 1}), 7.0);
  Tensor n = x.narrow(1, 1, 2);  // columns 1..2
  EXPECT_EQ(n.storage_offset(), 1);
  EXPECT_EQ(n.to_f64(), (std::vector<double>{1, 2, 5, 6, 9, 10}));
  Tensor row = x.select(0, -1);
  EXPECT_EQ(row.to_f64(), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_EQ(x.narrow(0, -2, 2).to_f64().front(), 4.0);  // negative start wraps
  Tensor col = x.select(1, 2);
  EXPECT_EQ(col.strides(), (Shape{4}));
  EXPECT_EQ(col.to_f64(), (std::vector<double>{2, 6, 10}));
  // Writes through a view land in the base.
  col.fill(-1.0);
  EXPECT_EQ(x.item(std::vector<std::int64_t>{2, 2}), -1.0);
}

TEST(Tensor, ViewFollowsPyTorchViewabilityRule) {
  Tensor x = iota({2, 3, 4});
  EXPECT_EQ(x.view({6, 4}).strides(), (Shape{4, 1}));
  EXPECT_EQ(x.view({-1}).sizes(), (Shape{24}));
  EXPECT_EQ(x.view({2, -1, 2}).sizes(), (Shape{2, 6, 2}));
  // A transposed tensor can split/merge only within contiguous chunks.
  Tensor t = x.transpose(1, 2);  // [2, 4, 3] strides [12, 1, 4]
  EXPECT_EQ(t.view({2, 2, 2, 3}).strides(), (Shape{12, 2, 1, 4}));
  EXPECT_EQ(error_code([&] { t.view({2, 12}); }), "view");
  EXPECT_EQ(error_code([&] { x.view({5, -1}); }), "shape");
  EXPECT_EQ(error_code([&] { x.view({-1, -1}); }), "shape");
  // Size-1 dims may carry any stride.
  Tensor odd = Tensor::empty_strided({3, 1, 4}, {4, 99, 1}, DType::kF32);
  EXPECT_TRUE(odd.is_contiguous());
  EXPECT_EQ(odd.view({12}).strides(), (Shape{1}));
  // The free functions match.
  EXPECT_EQ(view_strides({4, 3}, {1, 4}, {12}), std::nullopt);
  EXPECT_EQ(infer_size({-1, 3}, 12), (Shape{4, 3}));
}

TEST(Tensor, OutOfBoundsViewsAreRejected) {
  Tensor x = iota({4, 4});
  EXPECT_EQ(error_code([&] { x.as_strided({4, 5}, {4, 1}, 0); }), "bounds");
  EXPECT_EQ(error_code([&] { x.as_strided({2, 2}, {4, 1}, 11); }), "bounds");
  EXPECT_EQ(error_code([&] { x.as_strided({2}, {-1}, 3); }), "layout");
  EXPECT_EQ(error_code([&] { x.as_strided({2}, {1}, -1); }), "bounds");
  EXPECT_EQ(error_code([&] { x.as_strided({2, 2}, {1}, 0); }), "shape");
  EXPECT_EQ(error_code([&] { x.narrow(0, 3, 2); }), "index");
  EXPECT_EQ(error_code([&] { x.narrow(0, 0, -1); }), "index");
  EXPECT_EQ(error_code([&] { x.select(1, 4); }), "index");
  EXPECT_EQ(error_code([&] { x.item(std::vector<std::int64_t>{0, 4}); }), "index");
  EXPECT_EQ(error_code([&] { x.item(std::vector<std::int64_t>{0}); }), "index");
  EXPECT_EQ(error_code([&] { x.as_strided({std::int64_t{1} << 62, 4}, {4, 1}, 0); }), "overflow");
  // The last element of the storage is reachable, one more is not.
  EXPECT_EQ(x.as_strided({1}, {1}, 15).to_f64().front(), 15.0);
  EXPECT_EQ(error_code([&] { x.as_strided({1}, {1}, 16); }), "bounds");
  // Empty views reach nothing, wherever they point.
  EXPECT_EQ(x.as_strided({0, 4}, {4, 1}, 16).numel(), 0);
}

TEST(Tensor, ContiguousCloneAndCopyFromStridedSources) {
  Tensor x = iota({2, 3, 5});
  Tensor p = x.transpose(0, 2).narrow(1, 1, 2);  // [5, 2, 2], strides [1, 5, 15], offset 5
  Tensor c = p.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.storage(), x.storage());
  std::vector<double> want;
  for (int i = 0; i < 5; ++i)
    for (int j = 1; j < 3; ++j)
      for (int k = 0; k < 2; ++k) want.push_back(k * 15 + j * 5 + i);
  EXPECT_EQ(c.to_f64(), want);
  EXPECT_EQ(x.contiguous().storage(), x.storage());  // already contiguous: no copy
  // Strided destination, dtype conversion on the way.
  Tensor dst = Tensor::zeros({2, 5, 2}, DType::kBF16).transpose(0, 2);  // [2, 5, 2]
  EXPECT_EQ(error_code([&] { dst.copy_from(x); }), "shape");
  Tensor src = x.narrow(1, 0, 2).transpose(1, 2).transpose(0, 2);  // [2, 5, 2]
  dst.copy_from(src);
  EXPECT_EQ(dst.to_f64(), src.to_f64());
}

TEST(Tensor, OverlappingSelfCopyReadsASnapshot) {
  Tensor x = iota({6});
  x.narrow(0, 1, 5).copy_from(x.narrow(0, 0, 5));
  EXPECT_EQ(x.to_f64(), (std::vector<double>{0, 0, 1, 2, 3, 4}));
}

TEST(Tensor, ToConvertsEveryDtypeAndBack) {
  Tensor x = Tensor::from_f32({2, 3}, std::vector<float>{-2.5f, 0.f, 0.5f, 3.f, 1000.f, 7.f});
  EXPECT_EQ(x.to(DType::kF8E4M3FN).to_f64(), (std::vector<double>{-2.5, 0, 0.5, 3, 448, 7}));
  EXPECT_EQ(x.to(DType::kI32).to_f64(), (std::vector<double>{-2, 0, 0, 3, 1000, 7}));
  EXPECT_EQ(x.to(DType::kF4E2M1X2).to_f64(), (std::vector<double>{-2, 0, 0.5, 3, 6, 6}));
  const Tensor raw = x.to(DType::kF8E4M3FN, Rounding::kRaw);
  EXPECT_TRUE(std::isnan(raw.item(std::vector<std::int64_t>{1, 1})));  // 1000 overflows
  Tensor same = x.to(DType::kF32);
  EXPECT_NE(same.storage(), x.storage());  // always a new tensor
  for (int d = 0; d < kNumDTypes; ++d) {
    const auto dt = static_cast<DType>(d);
    Tensor y = iota({3, 4}).to(dt).transpose(0, 1);
    const bool small_float = info(dt).is_float && dt != DType::kF64;
    const double last = dt == DType::kBool ? 1 : small_float ? decode(dt, encode(dt, 11.f)) : 11;
    EXPECT_EQ(y.item(std::vector<std::int64_t>{3, 2}), last) << name(dt);
    EXPECT_EQ(y.contiguous().to(DType::kF64).item(std::vector<std::int64_t>{3, 2}), last) << name(dt);
  }
}

TEST(Tensor, PackedF4ViewsAddressNibbles) {
  Tensor x = Tensor::from_f32({2, 4}, std::vector<float>{0.5f, 1, 1.5f, 2, 3, 4, 6, -1},
                              DType::kF4E2M1X2);
  EXPECT_EQ(static_cast<std::uint8_t>(x.data<std::uint8_t>()[0]), 0x21);  // 1.0=0x2 high, 0.5=0x1 low
  Tensor odd = x.narrow(1, 1, 3);  // starts mid-byte
  EXPECT_EQ(odd.to_f64(), (std::vector<double>{1, 1.5, 2, 4, 6, -1}));
  EXPECT_EQ(error_code([&] { odd.data_ptr(); }), "layout");
  Tensor row = x.select(0, 0).narrow(0, 1, 3);  // contiguous, but starts mid-byte
  EXPECT_TRUE(row.is_contiguous());
  EXPECT_NE(row.contiguous().storage(), x.storage());
  EXPECT_EQ(static_cast<std::uint8_t>(row.contiguous().data<std::uint8_t>()[0]), 0x32);
  Tensor t = x.transpose(0, 1).contiguous();
  EXPECT_EQ(t.to_f64(), (std::vector<double>{0.5, 3, 1, 4, 1.5, 6, 2, -1}));
  odd.select(0, 1).fill(-0.5);
  EXPECT_EQ(x.to_f64(), (std::vector<double>{0.5, 1, 1.5, 2, 3, -0.5, -0.5, -0.5}));
}

TEST(Tensor, FillRandomIsDeterministicAndLayoutIndependent) {
  Tensor a = Tensor::empty({7, 13}, DType::kF32);
  a.fill_random(42, -2.f, 3.f);
  const std::vector<double> va = a.to_f64();
  for (double v : va) {
    EXPECT_GE(v, -2.0);
    EXPECT_LT(v, 3.0);
  }
  // Pinned values: the generator must give the same numbers on every machine.
  EXPECT_FLOAT_EQ(static_cast<float>(va[0]), static_cast<float>(a.item(std::vector<std::int64_t>{0, 0})));
  Tensor b = Tensor::empty({13, 7}, DType::kF32).transpose(0, 1);  // same sizes, other layout
  b.fill_random(42, -2.f, 3.f);
  EXPECT_EQ(b.to_f64(), va);
  Tensor c = Tensor::empty({7, 13}, DType::kF32);
  c.fill_random(43, -2.f, 3.f);
  EXPECT_NE(c.to_f64(), va);
  Tensor ints = Tensor::empty({1000}, DType::kI32);
  ints.fill_random(1, 0.f, 10.f);
  std::vector<int> hist(10, 0);
  for (double v : ints.to_f64()) {
    ASSERT_TRUE(v >= 0 && v < 10 && v == std::floor(v)) << v;
    ++hist[static_cast<int>(v)];
  }
  for (int h : hist) EXPECT_GT(h, 50);
  Tensor q = Tensor::empty({64}, DType::kF8E4M3FN);
  q.fill_random(5, -1000.f, 1000.f);
  for (double v : q.to_f64()) EXPECT_LE(std::abs(v), 448.0);  // saturating
}

// The generator, written out: changing it changes every seeded input of every test.
TEST(Tensor, FillRandomFollowsTheDocumentedCounterGenerator) {
  auto splitmix64 = [](std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  Tensor a = Tensor::empty({5}, DType::kF32);
  a.fill_random(7, -1.f, 3.f);
  const std::uint64_t key = splitmix64(7);
  for (std::uint64_t i = 0; i < 5; ++i) {
    const double u = static_cast<double>(splitmix64(key ^ (i * 0xD1B54A32D192ED03ull)) >> 40) * 0x1p-24;
    EXPECT_EQ(a.to_f32()[i], static_cast<float>(-1.0 + 4.0 * u)) << i;
  }
}

TEST(Tensor, FillAndFillNan) {
  Tensor x = Tensor::empty({3, 3}, DType::kBF16);
  x.fill(1.5);
  EXPECT_EQ(x.to_f64(), std::vector<double>(9, 1.5));
  x.fill_nan();
  for (double v : x.to_f64()) EXPECT_TRUE(std::isnan(v));
  Tensor i = Tensor::empty({2}, DType::kI32);
  i.fill_nan();
  EXPECT_EQ(static_cast<std::uint32_t>(i.data<std::int32_t>()[0]), 0xA5A5A5A5u);
  Tensor b = Tensor::empty({2}, DType::kBool);
  b.fill_nan();
  EXPECT_EQ(b.to_f64(), (std::vector<double>{1, 1}));
  Tensor f8 = Tensor::empty({5}, DType::kF8E4M3FN);
  f8.fill(1e9);  // saturates
  EXPECT_EQ(f8.to_f64(), std::vector<double>(5, 448));
}

TEST(Tensor, ZeroDimTensors) {
  Tensor s = Tensor::from_f32({}, std::vector<float>{3.5f});
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item({}), 3.5);
  EXPECT_EQ(s.to(DType::kI64).item({}), 3.0);
  EXPECT_EQ(s.view({1, 1}).sizes(), (Shape{1, 1}));
  EXPECT_EQ(iota({1, 1}).view({}).item({}), 0.0);
  EXPECT_EQ(error_code([&] { s.transpose(0, 0); }), "dim");
}

TEST(Tensor, MetaIsConcreteCpu) {
  Tensor x = iota({2, 3}).transpose(0, 1);
  const TensorMeta m = x.meta();
  EXPECT_EQ(m.device, Device::kCpu);
  ASSERT_EQ(m.sizes.size(), 2u);
  EXPECT_EQ(m.sizes[0].maybe_value(), 3);
  EXPECT_EQ(m.strides[0].maybe_value(), 1);
  EXPECT_EQ(m.strides[1].maybe_value(), 3);
}

}  // namespace
}  // namespace symtrace::tensor
