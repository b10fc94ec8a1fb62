// int_mm — torch._int_mm: int8 a [M, K] · int8 b [K, N] -> exact int32 [M, N]
//
// The rules are PyTorch 2.11's meta kernel for _int_mm (torch/_meta_registrations.py
// meta__int_mm): 2-D operands, both int8, matching K. The CUDA kernel's own limits (M > 16,
// K and N multiples of 8; refdata gemm_vectors layout_probes) are not meta rules and are not
// checked here. Output contiguous int32; the reference accumulates exactly.
#include <array>

#include <fmt/format.h>

#include <symtrace/op/registry.hpp>

#include "ops/linear/nn_common.hpp"

namespace symtrace::ops {

const std::vector<std::string> kIntMmConstraints = {
    "C1: a and b are 2-D",
    "C2: a and b are int8",
    "C3: a.size(1) == b.size(0) == K",
};

op::Outputs int_mm_fake(const op::Args& args, op::FakeContext& cx) {
  const nn::Site site{cx.env, cx.op};
  const TensorMeta& a = args.meta("a");
  const TensorMeta& b = args.meta("b");
  nn::require_rank(site.at("C1"), "a", a, 2, 2, "[M, K]");
  nn::require_rank(site.at("C1"), "b", b, 2, 2, "[K, N]");
  static constexpr std::array kI8 = {DType::kI8};
  nn::require_dtype(site.at("C2"), "a", a, kI8);
  nn::require_dtype(site.at("C2"), "b", b, kI8);
  nn::require_size(site.at("C3"), "b", b, 0, a.sizes[1], "K = a.size(1)");
  return {nn::contiguous_like({a.sizes[0], b.sizes[1]}, DType::kI32, a)};
}

namespace {

op::Outputs int_mm_reference(const op::Args& args, op::KernelContext& cx) {
  const op::Outputs f = nn::fake_of_real(int_mm_fake, args, "int_mm");
  const Tensor& a = args.tensor("a");
  const Tensor& b = args.tensor("b");
  const std::int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  const std::vector<double> A = nn::read_f64(a), B = nn::read_f64(b);
  std::vector<double> y(static_cast<std::size_t>(M * N));
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      std::int64_t acc = 0;  // |a·b| <= 2^14 per term: exact for any K below 2^49
      for (std::int64_t k = 0; k < K; ++k)
        acc += static_cast<std::int64_t>(A[static_cast<std::size_t>(m * K + k)]) *
               static_cast<std::int64_t>(B[static_cast<std::size_t>(k * N + n)]);
      // int32 accumulation wraps like the hardware's; the tests stay in range.
      y[static_cast<std::size_t>(m * N + n)] = static_cast<double>(static_cast<std::int32_t>(static_cast<std::uint32_t>(acc)));
    }
  Tensor t = cx.alloc.output(0, nn::out_sizes(f), DType::kI32);
  nn::write_f64(t, y);
  return {t};
}

std::vector<op::Sample> samples(std::uint64_t seed) {
  std::vector<op::Sample> out;
  std::uint64_t s = seed * 1000 + 43;
  const auto i8 = [&](tensor::Shape sz, nn::Layout l = nn::Layout::kContiguous) {
    return nn::sample_tensor(std::move(sz), DType::kI8, ++s, l, -128, 127.4f);
  };
  for (auto [M, K, N] : std::vector<std::array<std::int64_t, 3>>{{32, 64, 16}, {17, 64, 8}, {1, 7, 3}, {5, 257, 13}, {0, 8, 8}}) {
    out.push_back({fmt::format("M{}_K{}_N{}", M, K, N), {i8({M, K}), i8({K, N})}});
    out.push_back({fmt::format("M{}_K{}_N{}_b_colmajor", M, K, N), {i8({M, K}), i8({K, N}, nn::Layout::kTransposedLast2)}});
  }
  out.push_back({"C1_3d_a", {i8({2, 32, 64}), i8({64, 16})}, true});
  out.push_back({"C2_b_i32", {i8({32, 64}), nn::sample_tensor({64, 16}, DType::kI32, ++s)}, true});
  out.push_back({"C3_K_mismatch", {i8({32, 64}), i8({32, 16})}, true});
  return out;
}

}  // namespace

void register_int_mm(op::Registry& r) {
  op::OpDef def;
  def.name = "int_mm";
  def.schema = op::Schema::parse("int_mm(Tensor a, Tensor b) -> Tensor");
  def.doc = "torch._int_mm: int8 [M, K] · int8 [K, N] -> int32 [M, N], exact";
  def.constraints = kIntMmConstraints;
  def.fake = int_mm_fake;
  def.reference = int_mm_reference;
  def.tolerance = {.atol = 0, .rtol = 0, .compare = nullptr};
  def.samples = samples;
  r.add(std::move(def));
}

}  // namespace symtrace::ops
