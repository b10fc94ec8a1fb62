// kernels_bench baselines and row infrastructure (rows.hpp): machine peaks, bandwidth,
// median timing, the reusing allocator, and oneDNN matmul on the same problems.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include <omp.h>

#include "bench/kernels_bench/rows.hpp"

#ifdef SYMTRACE_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace symtrace::bench {
namespace peak {
double vnni_gops(int threads, std::int64_t iters);
double bf16_gflops(int threads, std::int64_t iters);
double fma_gflops(int threads, std::int64_t iters);
double read_gbs(int threads, const std::uint64_t* data, std::size_t words, int passes);
}  // namespace peak

namespace {
std::vector<SummaryRow>& rows() {
  static std::vector<SummaryRow> r;
  return r;
}
}  // namespace

const Machine& machine() {
  static const Machine m = [] {
    Machine out;
    out.threads = omp_get_max_threads();
    // Best of three short runs: other processes on a shared machine only ever slow us down.
    for (int rep = 0; rep < 3; ++rep) {
      out.vnni_gops = std::max(out.vnni_gops, peak::vnni_gops(out.threads, 2'000'000));
      out.bf16_gflops = std::max(out.bf16_gflops, peak::bf16_gflops(out.threads, 2'000'000));
      out.fma_gflops = std::max(out.fma_gflops, peak::fma_gflops(out.threads, 2'000'000));
    }
    // 512 MiB: far beyond the caches, as a decode GEMV's weights are.
    const std::size_t words = (std::size_t{512} << 20) / 8;
    std::vector<std::uint64_t> buf(words);
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < words; ++i) buf[i] = i;
    for (int rep = 0; rep < 3; ++rep)
      out.read_gbs = std::max(out.read_gbs, peak::read_gbs(out.threads, buf.data(), words, 1));
    return out;
  }();
  return m;
}

void add_summary_row(SummaryRow r) {
  if (r.threads == 0) r.threads = machine().threads;
  rows().push_back(std::move(r));
}
const std::vector<SummaryRow>& summary_rows() { return rows(); }

namespace {
constexpr std::size_t kEvictWords = (std::size_t{512} << 20) / 8;  // 512 MiB
std::vector<std::uint64_t>& evict_buffer() {
  static std::vector<std::uint64_t> b(kEvictWords, 1);
  return b;
}
}  // namespace

void evict_caches() { peak::read_gbs(machine().threads, evict_buffer().data(), kEvictWords, 1); }

double median_seconds(const std::function<void()>& fn, int iterations,
                      const std::function<void()>& before) {
  if (before) before();
  fn();  // warm-up: first-touch pages
  std::vector<double> t;
  for (int i = 0; i < iterations; ++i) {
    if (before) before();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double pct_bandwidth(double bytes, double seconds) {
  return 100.0 * bytes / seconds / 1e9 / machine().read_gbs;
}

int iterations_for(std::int64_t M) { return M >= 4096 ? 1 : M >= 128 ? 3 : 15; }

tensor::Tensor ArenaAllocator::output(std::size_t index, tensor::Shape sizes, tensor::DType dtype) {
  if (outputs_.size() <= index) outputs_.resize(index + 1);
  tensor::Tensor& t = outputs_[index];
  if (!t.defined() || t.sizes() != sizes || t.dtype() != dtype)
    t = tensor::Tensor::empty(sizes, dtype);
  return t;
}

std::span<std::byte> ArenaAllocator::workspace(std::size_t nbytes) {
  if (next_scratch_ == scratch_.size()) scratch_.push_back(nullptr);
  auto& s = scratch_[next_scratch_++];
  if (!s || s->nbytes() < nbytes) s = tensor::Storage::allocate(std::max<std::size_t>(nbytes, 64));
  return {s->data(), nbytes};
}

void reset(ArenaAllocator& a) { a.next_scratch_ = 0; }

std::optional<double> onednn_matmul_seconds(const std::string& kind, std::int64_t M, std::int64_t N,
                                            std::int64_t K, int iterations) {
#ifdef SYMTRACE_HAVE_DNNL
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  dt a_t = dt::f32, b_t = dt::f32, c_t = dt::f32;
  if (kind == "u8s8")
    a_t = dt::u8, b_t = dt::s8, c_t = dt::s32;
  else if (kind == "s8s8")
    a_t = dt::s8, b_t = dt::s8, c_t = dt::s32;
  else if (kind == "bf16")
    a_t = dt::bf16, b_t = dt::bf16, c_t = dt::bf16;
  try {
    engine eng(engine::kind::cpu, 0);
    stream strm(eng);
    const memory::desc a_md({M, K}, a_t, tag::ab), c_md({M, N}, c_t, tag::ab);
    const memory::desc b_any({K, N}, b_t, tag::any), b_plain({K, N}, b_t, tag::ab);
    const matmul::primitive_desc pd(matmul::desc(a_md, b_any, c_md), eng);  // oneDNN 2.x API
    memory a(a_md, eng), b_user(b_plain, eng), b(pd.weights_desc(), eng), c(c_md, eng);
    std::memset(a.get_data_handle(), 1, a_md.get_size());
    std::memset(b_user.get_data_handle(), 1, b_plain.get_size());
    reorder(b_user, b).execute(strm, b_user, b);  // prepacked once, outside the timing
    const matmul mm(pd);
    const double s = median_seconds(
        [&] {
          mm.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
          strm.wait();
        },
        iterations);
    return s;
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
#else
  (void)kind, (void)M, (void)N, (void)K, (void)iterations;
  return std::nullopt;
#endif
}

}  // namespace symtrace::bench
