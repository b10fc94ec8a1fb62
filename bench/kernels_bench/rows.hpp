// kernels_bench row infrastructure: measured machine baselines, an allocation-free allocator,
// a median timer, and the summary rows that `--summary-json FILE` writes and the closing table
// prints. Files of this executable add rows from their benchmark functions:
//
//   const double s = bench::median_seconds([&] { run_kernel(); }, /*iterations=*/5);
//   bench::add_summary_row({.op = "int8_fused_moe", .M = 16, .N = 2048, .K = 768,
//                           .gops = flops / s / 1e9, .pct_bandwidth = bench::pct_bandwidth(bytes,
//                           s)});
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <symtrace/op/op_def.hpp>

namespace symtrace::bench {

// Peaks of the instructions our kernels use, measured by our own loops with every thread,
// and the streaming read bandwidth (GB/s) over a buffer far larger than the caches.
struct Machine {
  int threads = 0;
  double vnni_gops = 0;    // vpdpbusd: int8 multiply-adds x 2
  double bf16_gflops = 0;  // vdpbf16ps
  double fma_gflops = 0;   // f32 vfmadd
  double read_gbs = 0;
};
const Machine& machine();  // measured on first use (about a second)

struct SummaryRow {
  std::string op;      // "int8_gemm"
  std::string kernel;  // variant name, "onednn_u8s8", ...
  std::int64_t M = 0, N = 0, K = 0;
  int threads = 0;     // 0: machine().threads
  double seconds = 0;  // median
  double gops = 0;
  std::optional<double> pct_peak;       // compute-bound rows (M >= 128)
  std::optional<double> pct_bandwidth;  // decode rows (M <= 16): weight bytes / time / read_gbs
  std::string baseline;                 // "onednn_u8s8", "onednn_bf16", ...
  std::optional<double> ratio_vs_baseline;
};
void add_summary_row(SummaryRow r);
const std::vector<SummaryRow>& summary_rows();

// Median wall time of `iterations` calls after one warm-up call; `before` (untimed) runs
// before each call.
double median_seconds(const std::function<void()>& fn, int iterations,
                      const std::function<void()>& before = {});
// Reads a buffer several times the last-level cache, so a decode row streams its weights
// from memory as a real model's layers do (a 16 MiB weight would otherwise stay in L3).
void evict_caches();
// Percent of the measured read bandwidth that streaming `bytes` in `seconds` reaches.
double pct_bandwidth(double bytes, double seconds);

// Outputs and workspace reused across calls, so a timed kernel call allocates nothing.
class ArenaAllocator final : public op::Allocator {
 public:
  tensor::Tensor output(std::size_t index, tensor::Shape sizes, tensor::DType dtype) override;
  std::span<std::byte> workspace(std::size_t nbytes) override;

 private:
  std::vector<tensor::Tensor> outputs_;
  std::vector<std::shared_ptr<tensor::Storage>> scratch_;
  std::size_t next_scratch_ = 0;
  friend void reset(ArenaAllocator&);
};
void reset(ArenaAllocator& a);  // call before each kernel call: workspace slices restart

// oneDNN matmul C[M,N] = A[M,K] * B[K,N] with prepacked weights; median seconds, or nullopt
// when built without oneDNN or when it has no implementation. kind: "u8s8", "s8s8", "bf16", "f32".
std::optional<double> onednn_matmul_seconds(const std::string& kind, std::int64_t M, std::int64_t N,
                                            std::int64_t K, int iterations);

int iterations_for(std::int64_t M);  // few for the heavy M = 4096 shapes

}  // namespace symtrace::bench
