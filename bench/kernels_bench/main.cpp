// kernels_bench — our quantized kernels beside the machine's measured peaks, its read
// bandwidth and oneDNN, in one process. `--summary-json FILE` writes the summary rows;
// Google Benchmark flags (e.g. --benchmark_filter=int8) select rows.
#include <cstring>
#include <fstream>
#include <iostream>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "bench/kernels_bench/rows.hpp"

namespace {

std::string opt(const std::optional<double>& v, const char* f = "{:.1f}") {
  return v ? fmt::format(fmt::runtime(f), *v) : "-";
}

void print_table(const symtrace::bench::Machine& m) {
  std::cout << fmt::format(
      "\nmachine: {} threads, VNNI {:.0f} GOPS, BF16-dot {:.0f} GFLOP/s, FMA {:.0f} GFLOP/s, read "
      "{:.1f} GB/s\n",
      m.threads, m.vnni_gops, m.bf16_gflops, m.fma_gflops, m.read_gbs);
  std::cout << fmt::format("{:<32} {:>5} {:>6} {:>6} {:>10} {:>9} {:>7} {:>7} {:>13} {:>8}\n",
                           "kernel", "M", "N", "K", "ms", "GOP/s", "%peak", "%bw", "baseline",
                           "ratio");
  for (const auto& r : symtrace::bench::summary_rows())
    std::cout << fmt::format(
        "{:<32} {:>5} {:>6} {:>6} {:>10.3f} {:>9.1f} {:>7} {:>7} {:>13} {:>8}\n",
        r.kernel.empty() ? r.op : r.kernel, r.M, r.N, r.K, r.seconds * 1e3, r.gops, opt(r.pct_peak),
        opt(r.pct_bandwidth), r.baseline, opt(r.ratio_vs_baseline, "{:.2f}x"));
}

void write_json(const std::string& path, const symtrace::bench::Machine& m) {
  boost::json::array rows;
  auto num = [](const std::optional<double>& v) -> boost::json::value {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
  };
  for (const auto& r : symtrace::bench::summary_rows())
    rows.push_back(boost::json::object{{"op", r.op},
                                       {"kernel", r.kernel},
                                       {"M", r.M},
                                       {"N", r.N},
                                       {"K", r.K},
                                       {"threads", r.threads},
                                       {"gops", r.gops},
                                       {"pct_peak", num(r.pct_peak)},
                                       {"pct_bandwidth", num(r.pct_bandwidth)},
                                       {"baseline", r.baseline},
                                       {"ratio_vs_baseline", num(r.ratio_vs_baseline)}});
  boost::json::object doc{{"machine", boost::json::object{{"threads", m.threads},
                                                          {"vnni_gops", m.vnni_gops},
                                                          {"bf16_gflops", m.bf16_gflops},
                                                          {"fma_gflops", m.fma_gflops},
                                                          {"read_gbs", m.read_gbs}}},
                          {"rows", rows}};
  std::ofstream(path) << boost::json::serialize(doc) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string summary;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--summary-json") == 0 && i + 1 < argc) {
      summary = argv[++i];
    } else if (std::strncmp(argv[i], "--summary-json=", 15) == 0) {
      summary = argv[i] + 15;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  const auto& m = symtrace::bench::machine();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_table(m);
  if (!summary.empty()) write_json(summary, m);
  return 0;
}
