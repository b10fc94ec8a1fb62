// The blocked GEMM driver and the packers (baseline x86-64; the microkernels carry the ISA).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include <omp.h>

#include <symtrace/diag/diagnostic.hpp>

#include "ops/common/gemm_kernels.hpp"

namespace symtrace::ops::gemm {
namespace {

// Output block per work item and K block per packing step. MB is a multiple of every MR
// (12, 6, 4), NB of every NR (32, 16, 8). A B micro-panel (NR x KB) is 16 KiB for every
// kind, so it stays in L1 while the MR-row micro-panels of A stream from L2.
constexpr std::int64_t kMB = 192;
constexpr std::int64_t kKWords = 128;
constexpr std::size_t kAlign = 64;

std::int64_t round_up(std::int64_t a, std::int64_t b) { return (a + b - 1) / b * b; }
std::size_t align(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// OPS.md §15.1 decode of the two OCP fp8 formats (the GEMMs take only these).
float decode_e4m3(std::uint32_t b) {
  const int s = (b >> 7) & 1, e = (b >> 3) & 15, m = b & 7;
  float mag;
  if (e == 15 && m == 7) return std::numeric_limits<float>::quiet_NaN();
  if (e == 0)
    mag = std::ldexp(static_cast<float>(m), -9);
  else
    mag = std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
  return s ? -mag : mag;
}
float decode_e5m2(std::uint32_t b) {
  const int s = (b >> 7) & 1, e = (b >> 2) & 31, m = b & 3;
  float mag;
  if (e == 31)
    mag = m == 0 ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
  else if (e == 0)
    mag = std::ldexp(static_cast<float>(m), -16);
  else
    mag = std::ldexp(1.0f + static_cast<float>(m) / 4.0f, e - 15);
  return s ? -mag : mag;
}

struct Tables {
  std::array<float, 256> e4m3_f32, e5m2_f32;
  std::array<std::uint16_t, 256> e4m3_bf16, e5m2_bf16;
  Tables() {
    for (std::uint32_t b = 0; b < 256; ++b) {
      e4m3_f32[b] = decode_e4m3(b);
      e5m2_f32[b] = decode_e5m2(b);
      // Every fp8 value is exact in bf16 (OPS.md §2): the top half of the f32 bits.
      e4m3_bf16[b] = static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(e4m3_f32[b]) >> 16);
      e5m2_bf16[b] = static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(e5m2_f32[b]) >> 16);
    }
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t s = (h >> 15) & 1, e = (h >> 10) & 31, m = h & 1023;
  float mag;
  if (e == 31)
    mag = m ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else if (e == 0)
    mag = std::ldexp(static_cast<float>(m), -24);
  else
    mag = std::ldexp(static_cast<float>(m + 1024), static_cast<int>(e) - 25);
  return s ? -mag : mag;
}

std::size_t elem_bytes(Elem e) {
  switch (e) {
    case Elem::kI8:
    case Elem::kF8E4M3:
    case Elem::kF8E5M2:
      return 1;
    case Elem::kBF16:
    case Elem::kF16:
      return 2;
    case Elem::kF32:
      return 4;
  }
  return 1;
}

// One element of a source matrix as the 8/16/32-bit lane of a packed word.
struct Lane {
  PackKind kind;
  Elem elem;
  bool b_side;
  const float* f32_tab;
  const std::uint16_t* bf16_tab;

  std::uint32_t operator()(const std::byte* p) const {
    switch (kind) {
      case PackKind::kVnniU8: {
        const auto v = static_cast<std::uint8_t>(*p);
        return b_side ? v ^ 0x80u : v;  // B is the u8 side: b + 128
      }
      case PackKind::kS16:
        return static_cast<std::uint16_t>(static_cast<std::int16_t>(static_cast<std::int8_t>(*p)));
      case PackKind::kBf16:
        if (elem == Elem::kBF16) return load<std::uint16_t>(p);
        return bf16_tab[static_cast<std::uint8_t>(*p)];
      case PackKind::kF32:
        return std::bit_cast<std::uint32_t>(to_f32(p));
    }
    return 0;
  }
  float to_f32(const std::byte* p) const {
    switch (elem) {
      case Elem::kF8E4M3:
      case Elem::kF8E5M2:
        return f32_tab[static_cast<std::uint8_t>(*p)];
      case Elem::kBF16:
        return std::bit_cast<float>(std::uint32_t{load<std::uint16_t>(p)} << 16);
      case Elem::kF16:
        return f16_to_f32(load<std::uint16_t>(p));
      case Elem::kF32:
        return load<float>(p);
      case Elem::kI8:
        return static_cast<float>(static_cast<std::int8_t>(*p));
    }
    return 0.f;
  }
  template <class T>
  static T load(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
};

Lane lane_for(PackKind kind, Elem elem, bool b_side) {
  return {kind, elem, b_side, f32_table(elem), bf16_table(elem)};
}

// Word w of a row (element k = w*kpw + t at p + k*step*eb), zero past k_end.
template <int Kpw>
std::uint32_t word(const Lane& lane, const std::byte* p, std::int64_t step_bytes, std::int64_t k,
                   std::int64_t k_end) {
  std::uint32_t out = 0;
  for (int t = 0; t < Kpw && k + t < k_end; ++t)
    out |= lane(p + (k + t) * step_bytes) << ((32 / Kpw) * t);
  return out;
}

template <int Kpw>
void pack_b_chunk(const Lane& lane, const MatB& b, std::int64_t n0, std::int64_t nb,
                  std::int64_t nb_pad, std::int64_t nr, std::int64_t K, std::int64_t kwords,
                  std::uint32_t* dst) {
  const std::int64_t eb = static_cast<std::int64_t>(elem_bytes(b.elem));
  const auto* base = static_cast<const std::byte*>(b.data);
  for (std::int64_t q = 0; q < nb_pad; q += nr) {
    std::uint32_t* panel = dst + q * kwords;
    if (b.kn) {
      // [K, N]: a word gathers Kpw rows; the panel's columns are contiguous in each row.
      for (std::int64_t w = 0; w < kwords; ++w)
        for (std::int64_t j = 0; j < nr; ++j) {
          const std::int64_t n = n0 + q + j;
          panel[w * nr + j] =
              q + j < nb ? word<Kpw>(lane, base + n * eb, b.ld * eb, w * Kpw, K) : 0u;
        }
    } else {
      for (std::int64_t j = 0; j < nr; ++j) {
        if (q + j >= nb) {
          for (std::int64_t w = 0; w < kwords; ++w) panel[w * nr + j] = 0u;
          continue;
        }
        const std::byte* row = base + (n0 + q + j) * b.ld * eb;
        for (std::int64_t w = 0; w < kwords; ++w)
          panel[w * nr + j] = word<Kpw>(lane, row, eb, w * Kpw, K);
      }
    }
  }
}

void pack_b(PackKind kind, const MatB& b, std::int64_t n0, std::int64_t nb, std::int64_t nb_pad,
            std::int64_t nr, std::int64_t K, std::int64_t kwords, std::uint32_t* dst) {
  const Lane lane = lane_for(kind, b.elem, true);
  switch (k_per_word(kind)) {
    case 4:
      return pack_b_chunk<4>(lane, b, n0, nb, nb_pad, nr, K, kwords, dst);
    case 2:
      return pack_b_chunk<2>(lane, b, n0, nb, nb_pad, nr, K, kwords, dst);
    default:
      return pack_b_chunk<1>(lane, b, n0, nb, nb_pad, nr, K, kwords, dst);
  }
}

// The output block a work item owns (NC columns) and the M block walked inside it.
constexpr std::int64_t kNC = 512;

struct Layout {
  std::int64_t kwords_total, kb_words, nc;
  std::size_t b_off, c_off, rs_off, cs_off, sum_off, zero_off, per_thread;
};

Layout layout(const Microkernel& mk, const Problem& p) {
  Layout l{};
  const int kpw = k_per_word(mk.kind);
  l.kwords_total = (p.K + kpw - 1) / kpw;
  l.kb_words = p.block ? p.block->bk / kpw : kKWords;
  l.nc = std::min<std::int64_t>(kNC, round_up(std::max<std::int64_t>(p.N, 1), mk.nr));
  l.b_off = 0;
  l.c_off = align(static_cast<std::size_t>(l.nc * l.kwords_total) * 4);
  l.rs_off = l.c_off + align(static_cast<std::size_t>(kMB * l.nc) * 4);
  l.cs_off = l.rs_off + align(kMB * 4);
  l.sum_off = l.cs_off + align(static_cast<std::size_t>(l.nc) * 4);
  l.zero_off = l.sum_off + align(kMB * 4);
  l.per_thread = l.zero_off + align(static_cast<std::size_t>(l.kwords_total) * 4);
  return l;
}

}  // namespace

int k_per_word(PackKind k) {
  switch (k) {
    case PackKind::kVnniU8:
      return 4;
    case PackKind::kS16:
    case PackKind::kBf16:
      return 2;
    case PackKind::kF32:
      return 1;
  }
  return 1;
}

bool integer_acc(PackKind k) { return k == PackKind::kVnniU8 || k == PackKind::kS16; }

int resolve_threads(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

const float* f32_table(Elem e) {
  return e == Elem::kF8E5M2 ? tables().e5m2_f32.data() : tables().e4m3_f32.data();
}
const std::uint16_t* bf16_table(Elem e) {
  return e == Elem::kF8E5M2 ? tables().e5m2_bf16.data() : tables().e4m3_bf16.data();
}

std::size_t a_words_bytes(PackKind kind, const MatA& a, std::int64_t M, std::int64_t K) {
  const int kpw = k_per_word(kind);
  const bool direct = K % kpw == 0 && ((kind == PackKind::kVnniU8 && a.elem == Elem::kI8) ||
                                       (kind == PackKind::kBf16 && a.elem == Elem::kBF16) ||
                                       (kind == PackKind::kF32 && a.elem == Elem::kF32));
  if (direct) return 0;
  return static_cast<std::size_t>(M * ((K + kpw - 1) / kpw)) * 4 + kAlign;
}

AWords to_words(PackKind kind, const MatA& a, std::int64_t M, std::int64_t K,
                std::span<std::byte> ws, int threads) {
  const std::int64_t eb = static_cast<std::int64_t>(elem_bytes(a.elem));
  if (a_words_bytes(kind, a, M, K) == 0) return {static_cast<const std::byte*>(a.data), a.ld * eb};
  const int kpw = k_per_word(kind);
  const std::int64_t kwords = (K + kpw - 1) / kpw;
  if (ws.size() < a_words_bytes(kind, a, M, K))
    throw diag::InternalError("gemm: workspace too small for the converted activation");
  auto* out = reinterpret_cast<std::uint32_t*>(
      (reinterpret_cast<std::uintptr_t>(ws.data()) + kAlign - 1) / kAlign * kAlign);
  const Lane lane = lane_for(kind, a.elem, false);
  const auto* base = static_cast<const std::byte*>(a.data);
#pragma omp parallel for schedule(static) num_threads(resolve_threads(threads))
  for (std::int64_t m = 0; m < M; ++m) {
    const std::byte* row = base + m * a.ld * eb;
    std::uint32_t* o = out + m * kwords;
    for (std::int64_t w = 0; w < kwords; ++w) {
      switch (kpw) {
        case 4:
          o[w] = word<4>(lane, row, eb, w * 4, K);
          break;
        case 2:
          o[w] = word<2>(lane, row, eb, w * 2, K);
          break;
        default:
          o[w] = word<1>(lane, row, eb, w, K);
          break;
      }
    }
  }
  return {reinterpret_cast<const std::byte*>(out), kwords * 4};
}

std::size_t workspace_bytes(const Microkernel& mk, const Problem& p, int threads) {
  return layout(mk, p).per_thread * static_cast<std::size_t>(resolve_threads(threads)) + kAlign;
}

void run_gemm(const Microkernel& mk, const Problem& p, std::span<std::byte> workspace, int threads,
              const Epilogue& epilogue) {
  if (p.M <= 0 || p.N <= 0) return;
  if (p.block && (integer_acc(mk.kind) || p.block->bk % k_per_word(mk.kind) != 0))
    throw diag::InternalError("gemm: block scaling needs an f32 microkernel and whole words");
  const int nt = resolve_threads(threads);
  const Layout l = layout(mk, p);
  if (workspace.size() < l.per_thread * static_cast<std::size_t>(nt) + kAlign)
    throw diag::InternalError("gemm: workspace too small");
  std::byte* ws0 = reinterpret_cast<std::byte*>(
      (reinterpret_cast<std::uintptr_t>(workspace.data()) + kAlign - 1) / kAlign * kAlign);
  const std::int64_t n_chunks = (p.N + l.nc - 1) / l.nc;
  const std::int64_t m_blocks = (p.M + kMB - 1) / kMB;
  // Few column chunks: split M too, so both cores work (B is then packed once per split).
  const std::int64_t m_splits = n_chunks >= nt ? 1 : std::min<std::int64_t>(m_blocks, nt);
  const std::int64_t items = n_chunks * m_splits;
  const bool vnni = mk.kind == PackKind::kVnniU8;
  const std::int64_t kb_words = l.kb_words;

#pragma omp parallel num_threads(nt)
  {
    std::byte* ws = ws0 + l.per_thread * static_cast<std::size_t>(omp_get_thread_num());
    auto* bp = reinterpret_cast<std::uint32_t*>(ws + l.b_off);
    auto* acc = reinterpret_cast<std::uint32_t*>(ws + l.c_off);
    auto* rs = reinterpret_cast<float*>(ws + l.rs_off);
    auto* cs = reinterpret_cast<float*>(ws + l.cs_off);
    auto* rowsum = reinterpret_cast<std::int32_t*>(ws + l.sum_off);
    auto* zero_row = ws + l.zero_off;
    std::memset(zero_row, 0, static_cast<std::size_t>(l.kwords_total) * 4);

#pragma omp for schedule(static)
    for (std::int64_t item = 0; item < items; ++item) {
      const std::int64_t chunk = item / m_splits, split = item % m_splits;
      const std::int64_t n0 = chunk * l.nc, nb = std::min(l.nc, p.N - n0);
      const std::int64_t nb_pad = round_up(nb, mk.nr);
      const std::int64_t mb_lo = m_blocks * split / m_splits,
                         mb_hi = m_blocks * (split + 1) / m_splits;
      pack_b(mk.kind, p.b, n0, nb, nb_pad, mk.nr, p.K, l.kwords_total, bp);
      for (std::int64_t mblk = mb_lo; mblk < mb_hi; ++mblk) {
        const std::int64_t m0 = mblk * kMB, mb = std::min(kMB, p.M - m0);
        const std::int64_t mb_pad = round_up(mb, mk.mr);
        if (vnni) {
          // The packed B holds b + 128: the driver removes 128 * rowsum(a) (OPS.md §8).
          for (std::int64_t i = 0; i < mb; ++i) {
            const auto* row =
                reinterpret_cast<const std::int8_t*>(p.a.data + (m0 + i) * p.a.ld_bytes);
            std::int32_t s = 0;
            for (std::int64_t k = 0; k < l.kwords_total * 4; ++k) s += row[k];
            rowsum[i] = s;
          }
        }
        if (p.block || p.K == 0) std::fill(acc, acc + static_cast<std::size_t>(kMB * l.nc), 0u);
        for (std::int64_t w0 = 0; w0 < l.kwords_total; w0 += kb_words) {
          const std::int64_t kw = std::min(kb_words, l.kwords_total - w0);
          if (p.block) {
            const BlockScales& s = *p.block;
            const std::int64_t j = w0 * k_per_word(mk.kind) / s.bk;
            for (std::int64_t i = 0; i < mb_pad; ++i)
              rs[i] = i < mb ? s.xs[(m0 + i) * s.xs_ld + j] : 0.f;
            for (std::int64_t c = 0; c < nb_pad; ++c)
              cs[c] = c < nb ? s.ws[((n0 + c) / s.bn) * s.ws_ld + j] : 0.f;
          }
          // jr outer, ir inner: the B micro-panel (NR x KB) stays in L1 while the MR-row
          // slices of A stream from L2.
          const void* rows[kMB];
          for (std::int64_t i = 0; i < mb_pad; ++i)
            rows[i] = i < mb ? static_cast<const void*>(p.a.data + (m0 + i) * p.a.ld_bytes + 4 * w0)
                             : static_cast<const void*>(zero_row);
          for (std::int64_t jr = 0; jr < nb_pad; jr += mk.nr) {
            const std::uint32_t* bpan = bp + jr * l.kwords_total + w0 * mk.nr;
            for (std::int64_t ir = 0; ir < mb_pad; ir += mk.mr) {
              std::uint32_t* c = acc + ir * l.nc + jr;
              if (p.block)
                mk.run_scaled(kw, rows + ir, bpan, reinterpret_cast<float*>(c), l.nc, rs + ir,
                              cs + jr);
              else
                mk.run(kw, rows + ir, bpan, c, l.nc, w0 > 0);
            }
          }
        }
        if (vnni) {
          auto* iacc = reinterpret_cast<std::int32_t*>(acc);
          for (std::int64_t i = 0; i < mb; ++i)
            for (std::int64_t c = 0; c < nb; ++c) iacc[i * l.nc + c] -= 128 * rowsum[i];
        }
        epilogue(Tile{acc, l.nc, m0, mb, n0, nb});
      }
    }
  }
}

const Microkernel* microkernel_for(PackKind kind, tensor::Isa isa) {
  using tensor::Isa;
  switch (isa) {
    case Isa::kAvx512Vnni:
      return kind == PackKind::kVnniU8 ? &avx512::kVnni : nullptr;
    case Isa::kAvx512Bf16:
      return kind == PackKind::kBf16 ? &avx512::kBf16 : nullptr;
    case Isa::kAvx512:
      return kind == PackKind::kF32 ? &avx512::kF32 : nullptr;
    case Isa::kAvx2:
      return kind == PackKind::kS16 ? &avx2::kS16 : kind == PackKind::kF32 ? &avx2::kF32 : nullptr;
    case Isa::kNone:
      return kind == PackKind::kS16   ? &scalar::kS16
             : kind == PackKind::kF32 ? &scalar::kF32
                                      : nullptr;
  }
  return nullptr;
}

bool gemv_i8(std::int64_t M, std::int64_t N, std::int64_t K, const std::int8_t* a, std::int64_t lda,
             const std::int8_t* b, std::int64_t ldb, std::int32_t* out, std::int64_t ldo,
             std::int32_t* colsum, int threads) {
  if (!tensor::cpu_supports(tensor::Isa::kAvx512Vnni)) return false;
  return avx512::gemv_i8(M, N, K, a, lda, b, ldb, out, ldo, colsum, threads);
}

bool gemv_f8(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
             const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo, int threads) {
  if (!tensor::cpu_supports(tensor::Isa::kAvx512)) return false;
  return avx512::gemv_f8(M, N, K, x, ldx, b, ldb, out, ldo, threads);
}

bool gemv_f8_kn(std::int64_t M, std::int64_t N, std::int64_t K, const float* x, std::int64_t ldx,
                const std::uint8_t* b, std::int64_t ldb, float* out, std::int64_t ldo,
                int threads) {
  if (!tensor::cpu_supports(tensor::Isa::kAvx512)) return false;
  return avx512::gemv_f8_kn(M, N, K, x, ldx, b, ldb, out, ldo, threads);
}

}  // namespace symtrace::ops::gemm
