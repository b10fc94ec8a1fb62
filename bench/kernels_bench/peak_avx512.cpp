// Peak loops of the instructions the kernels use: 24 independent accumulators per thread
// (more than latency x throughput on current cores), every thread busy. The inner loop is
// unrolled so the accumulators live in registers: a rolled loop keeps them in memory and
// measured a quarter of the real peak (store-forwarding latency, not the dot unit).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <chrono>
#include <cstdint>
#include <immintrin.h>

#include <omp.h>

namespace symtrace::bench::peak {
namespace {

constexpr int kAcc = 24;

template <class Body>
double ops_per_second(int threads, std::int64_t iters, double ops_per_iter, Body body) {
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
  body(iters);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return threads * static_cast<double>(iters) * ops_per_iter / s;
}

}  // namespace

double vnni_gops(int threads, std::int64_t iters) {
  return ops_per_second(threads, iters, kAcc * 64.0 * 2,
                        [](std::int64_t n) {
                          __m512i acc[kAcc];
                          for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_epi32(i);
                          __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
                          for (std::int64_t it = 0; it < n; ++it) {
#pragma GCC unroll 32
                            for (int i = 0; i < kAcc; ++i)
                              acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
                            __asm__ volatile("" : "+v"(a));
                          }
                          for (int i = 1; i < kAcc; ++i) acc[0] = _mm512_add_epi32(acc[0], acc[i]);
                          volatile int sink = _mm_cvtsi128_si32(_mm512_castsi512_si128(acc[0]));
                          (void)sink;
                        }) /
         1e9;
}

double bf16_gflops(int threads, std::int64_t iters) {
  return ops_per_second(threads, iters, kAcc * 32.0 * 2,
                        [](std::int64_t n) {
                          __m512 acc[kAcc];
                          for (int i = 0; i < kAcc; ++i)
                            acc[i] = _mm512_set1_ps(static_cast<float>(i));
                          __m512i a = _mm512_set1_epi16(0x3F80), b = _mm512_set1_epi16(0x3F80);
                          for (std::int64_t it = 0; it < n; ++it) {
#pragma GCC unroll 32
                            for (int i = 0; i < kAcc; ++i)
                              acc[i] = _mm512_dpbf16_ps(acc[i], reinterpret_cast<__m512bh&>(a),
                                                        reinterpret_cast<__m512bh&>(b));
                            __asm__ volatile("" : "+v"(a));
                          }
                          for (int i = 1; i < kAcc; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
                          volatile float sink = _mm512_cvtss_f32(acc[0]);
                          (void)sink;
                        }) /
         1e9;
}

double fma_gflops(int threads, std::int64_t iters) {
  return ops_per_second(threads, iters, kAcc * 16.0 * 2,
                        [](std::int64_t n) {
                          __m512 acc[kAcc];
                          for (int i = 0; i < kAcc; ++i)
                            acc[i] = _mm512_set1_ps(static_cast<float>(i));
                          __m512 a = _mm512_set1_ps(1.0001f), b = _mm512_set1_ps(0.9999f);
                          for (std::int64_t it = 0; it < n; ++it) {
#pragma GCC unroll 32
                            for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_fmadd_ps(a, b, acc[i]);
                            __asm__ volatile("" : "+v"(a));
                          }
                          for (int i = 1; i < kAcc; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
                          volatile float sink = _mm512_cvtss_f32(acc[0]);
                          (void)sink;
                        }) /
         1e9;
}

// Streaming read: sum of 64-bit words with 8 independent vector accumulators.
double read_gbs(int threads, const std::uint64_t* data, std::size_t words, int passes) {
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t total = 0;
  for (int p = 0; p < passes; ++p) {
#pragma omp parallel for schedule(static) num_threads(threads) reduction(+ : total)
    for (std::size_t blk = 0; blk < words / 64; ++blk) {
      const std::uint64_t* q = data + blk * 64;
      __m512i s = _mm512_loadu_si512(q);
      for (int j = 1; j < 8; ++j) s = _mm512_add_epi64(s, _mm512_loadu_si512(q + 8 * j));
      total += static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm512_castsi512_si128(s)));
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile std::uint64_t sink = total;
  (void)sink;
  return static_cast<double>(words) * 8.0 * passes / s / 1e9;
}

}  // namespace symtrace::bench::peak
