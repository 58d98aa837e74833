// BLIS-style GEMM (Goto & van de Geijn; Van Zee & van de Geijn, "BLIS", TOMS 2015).
//
//   for jc in n step NC                      B panel KC x NC lives in L3
//     for pc in k step KC
//       pack B[pc:pc+KC, jc:jc+NC]            (by rows: each thread a share, as its first
//                                             A block uses it, then a barrier)
//       for ic in this thread's rows step MC  A block MC x KC lives in L2 (by rows: one per
//         pack A[ic:ic+MC, pc:pc+KC]          thread; jr: shared)
//         for jr in NC step NR                B sliver KC x NR stays in L1 (jr: the thread's
//           for ir in MC step MR              share of them); micro-kernel: MR x NR tile of C
//                                             in registers
//
// Two ways to share the work between threads (split_for). By rows (the ic loop) the threads
// split C's MR slivers evenly; each packs its own A block, so the only synchronisation is a
// barrier per shared B panel (its shares packed; two panels alternate, so nobody waits for the
// others to be done with one before packing the next). When C has too
// few rows for that (a short, wide C: fewer MR slivers than threads, or so few that one thread gets
// a sliver more than another), they split the jr loop as BLIS does: every thread packs part of each
// A block, which they share after a barrier, and packs and multiplies its own share of the B
// panel's slivers. Edges are zero-padded in the packed panels, and the micro-kernel writes edge
// tiles through a small buffer.
#include "matmul/gemm.hpp"

#include "pararun/buffer.hpp"

#include <immintrin.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace pararun::matmul {

namespace {

// ---- micro-kernels: C[MR x NR] (=|+=) Ap[kc x MR]^T * Bp[kc x NR] ----
//
// Every accumulator is a named variable, never an array: GCC 12 kept a `__m256d acc[6][2]`
// array in memory and stored all 12 accumulators to the stack after every FMA of the k loop
// (an AVX2 kernel at 0.45x OpenBLAS). scripts/check_ukernels.sh disassembles the built
// binary and fails (a CTest test) if any micro-kernel stores a vector register to the stack.
// The tile of C is prefetched before the k loop, so its load after the loop does not stall.

constexpr std::size_t kMaxMr = 8, kMaxNr = 24;

// One row i of the tile: broadcast A[i][p], multiply it into the row's accumulators.
#define PARARUN_ROW3(i, set1, fma) \
  {                                \
    const auto a = set1(ap[i]);    \
    c##i##0 = fma(a, b0, c##i##0); \
    c##i##1 = fma(a, b1, c##i##1); \
    c##i##2 = fma(a, b2, c##i##2); \
  }
#define PARARUN_ROW2(i, set1, fma) \
  {                                \
    const auto a = set1(ap[i]);    \
    c##i##0 = fma(a, b0, c##i##0); \
    c##i##1 = fma(a, b1, c##i##1); \
  }
// Row i of C: store the accumulators (after adding C's old values when accumulating).
#define PARARUN_STORE(i, v, W, loadu, add, storeu)              \
  {                                                             \
    double* ci = c + (i)*ldc + (v) * (W);                       \
    storeu(ci, accumulate ? add(c##i##v, loadu(ci)) : c##i##v); \
  }

/// Prefetches the rows x cols tile of C that the micro-kernel updates after its k loop: every
/// 8th element of each row and the row's last (the cache lines the row touches).
inline void prefetch_tile(const double* c, std::size_t ldc, int rows, int cols) {
  for (int i = 0; i < rows; ++i) {
    const double* row = c + static_cast<std::size_t>(i) * ldc;
    for (int j = 0; j < cols; j += 8)
      _mm_prefetch(reinterpret_cast<const char*>(row + j), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(row + cols - 1), _MM_HINT_T0);
  }
}

__attribute__((target("avx512f,fma"))) void ukernel_avx512(std::size_t kc, const double* ap,
                                                           const double* bp, double* c,
                                                           std::size_t ldc, bool accumulate) {
  // 8 x 24: 24 accumulators + 3 B vectors + 1 broadcast of the 32 zmm registers.
  prefetch_tile(c, ldc, 8, 24);
  __m512d c00 = _mm512_setzero_pd(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00,
          c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00,
          c42 = c00, c50 = c00, c51 = c00, c52 = c00, c60 = c00, c61 = c00, c62 = c00, c70 = c00,
          c71 = c00, c72 = c00;
#pragma GCC unroll 4
  for (std::size_t p = 0; p < kc; ++p) {
    const __m512d b0 = _mm512_load_pd(bp), b1 = _mm512_load_pd(bp + 8),
                  b2 = _mm512_load_pd(bp + 16);
    PARARUN_ROW3(0, _mm512_set1_pd, _mm512_fmadd_pd)
    PARARUN_ROW3(1, _mm512_set1_pd, _mm512_fmadd_pd)
    PARARUN_ROW3(2, _mm512_set1_pd, _mm512_fmadd_pd)
    PARARUN_ROW3(3, _mm512_set1_pd, _mm512_fmadd_pd)
    PARARUN_ROW3(4, _mm512_set1_pd, _mm512_fmadd_pd)
    PARARUN_ROW3(5, _mm512_set1_pd, _mm512_fmadd_pd)
    PARARUN_ROW3(6, _mm512_set1_pd, _mm512_fmadd_pd)
    PARARUN_ROW3(7, _mm512_set1_pd, _mm512_fmadd_pd)
    ap += 8;
    bp += 24;
  }
#define PARARUN_STORE512(i)                                                \
  PARARUN_STORE(i, 0, 8, _mm512_loadu_pd, _mm512_add_pd, _mm512_storeu_pd) \
  PARARUN_STORE(i, 1, 8, _mm512_loadu_pd, _mm512_add_pd, _mm512_storeu_pd) \
  PARARUN_STORE(i, 2, 8, _mm512_loadu_pd, _mm512_add_pd, _mm512_storeu_pd)
  PARARUN_STORE512(0)
  PARARUN_STORE512(1)
  PARARUN_STORE512(2)
  PARARUN_STORE512(3)
  PARARUN_STORE512(4) PARARUN_STORE512(5) PARARUN_STORE512(6) PARARUN_STORE512(7)
#undef PARARUN_STORE512
}

__attribute__((target("avx2,fma"))) void ukernel_avx2(std::size_t kc, const double* ap,
                                                      const double* bp, double* c, std::size_t ldc,
                                                      bool accumulate) {
  // 6 x 8: 12 accumulators + 2 B vectors + 1 broadcast of the 16 ymm registers.
  prefetch_tile(c, ldc, 6, 8);
  __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
          c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (std::size_t p = 0; p < kc; ++p) {
    const __m256d b0 = _mm256_load_pd(bp), b1 = _mm256_load_pd(bp + 4);
    PARARUN_ROW2(0, _mm256_set1_pd, _mm256_fmadd_pd)
    PARARUN_ROW2(1, _mm256_set1_pd, _mm256_fmadd_pd)
    PARARUN_ROW2(2, _mm256_set1_pd, _mm256_fmadd_pd)
    PARARUN_ROW2(3, _mm256_set1_pd, _mm256_fmadd_pd)
    PARARUN_ROW2(4, _mm256_set1_pd, _mm256_fmadd_pd)
    PARARUN_ROW2(5, _mm256_set1_pd, _mm256_fmadd_pd)
    ap += 6;
    bp += 8;
  }
#define PARARUN_STORE256(i)                                                \
  PARARUN_STORE(i, 0, 4, _mm256_loadu_pd, _mm256_add_pd, _mm256_storeu_pd) \
  PARARUN_STORE(i, 1, 4, _mm256_loadu_pd, _mm256_add_pd, _mm256_storeu_pd)
  PARARUN_STORE256(0)
  PARARUN_STORE256(1)
  PARARUN_STORE256(2) PARARUN_STORE256(3) PARARUN_STORE256(4) PARARUN_STORE256(5)
#undef PARARUN_STORE256
}

// Portable: GCC/Clang vector extensions, 4 doubles wide (two SSE2 registers without AVX).
typedef double v4d __attribute__((vector_size(32), aligned(32)));
typedef double v4d_u __attribute__((vector_size(32), aligned(8)));

inline v4d set1_v4d(double x) {
  return v4d{x, x, x, x};
}
inline v4d fma_v4d(v4d a, v4d b, v4d c) {
  return a * b + c;
}
inline v4d loadu_v4d(const double* p) {
  return *reinterpret_cast<const v4d_u*>(p);
}
inline v4d add_v4d(v4d a, v4d b) {
  return a + b;
}
inline void storeu_v4d(double* p, v4d v) {
  *reinterpret_cast<v4d_u*>(p) = v;
}

void ukernel_portable(std::size_t kc, const double* ap, const double* bp, double* c,
                      std::size_t ldc, bool accumulate) {
  // 4 x 8: 8 accumulators of 4 doubles.
  v4d c00 = set1_v4d(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
      c31 = c00;
  for (std::size_t p = 0; p < kc; ++p) {
    const v4d b0 = *reinterpret_cast<const v4d*>(bp), b1 = *reinterpret_cast<const v4d*>(bp + 4);
    PARARUN_ROW2(0, set1_v4d, fma_v4d)
    PARARUN_ROW2(1, set1_v4d, fma_v4d)
    PARARUN_ROW2(2, set1_v4d, fma_v4d)
    PARARUN_ROW2(3, set1_v4d, fma_v4d)
    ap += 4;
    bp += 8;
  }
#define PARARUN_STOREV(i)                                \
  PARARUN_STORE(i, 0, 4, loadu_v4d, add_v4d, storeu_v4d) \
  PARARUN_STORE(i, 1, 4, loadu_v4d, add_v4d, storeu_v4d)
  PARARUN_STOREV(0) PARARUN_STOREV(1) PARARUN_STOREV(2) PARARUN_STOREV(3)
#undef PARARUN_STOREV
}

#undef PARARUN_ROW3
#undef PARARUN_ROW2
#undef PARARUN_STORE

using UKernel = void (*)(std::size_t, const double*, const double*, double*, std::size_t, bool);

UKernel ukernel_of(MicroKernel mk) {
  switch (mk) {
    case MicroKernel::avx512:
      return ukernel_avx512;
    case MicroKernel::avx2:
      return ukernel_avx2;
    case MicroKernel::portable:
      return ukernel_portable;
  }
  return ukernel_portable;
}

/// A cache's size from sysconf, 0 where it does not say.
std::size_t cache_size(int name) {
  const long v = sysconf(name);
  return v > 0 ? static_cast<std::size_t>(v) : 0;
}

/// `c` with kDefaultCaches' size where it has 0.
Caches known(Caches c) {
  if (c.l1 == 0) c.l1 = kDefaultCaches.l1;
  if (c.l2 == 0) c.l2 = kDefaultCaches.l2;
  if (c.l3 == 0) c.l3 = kDefaultCaches.l3;
  return c;
}

/// ceil(x / y): how many slivers (or shares) `x` rows, columns or slivers make.
constexpr std::size_t ceil_div(std::size_t x, std::size_t y) {
  return (x + y - 1) / y;
}

std::size_t round_down(std::size_t v, std::size_t multiple) {
  return std::max(multiple, v / multiple * multiple);
}

/// What a packing buffer holds: this thread's A block, its (or the team's) B panel, or the
/// two A blocks the team shares under the jr split.
enum class Pack { a, b, shared_a };

/// A packing buffer kept from call to call by its thread (OpenMP's threads persist), so that
/// a small multiply or SUMMA's many panel multiplies do not pay for fresh pages every call.
/// At least 2 MiB, which pararun::Buffer puts on a transparent huge page, as the operands are:
/// the packed A block (960 KiB on Zen 5) is then one page, not 240. On Zen 5 that measured the
/// same as 4 KiB pages (BENCHMARKS.md, session 18): TLB misses are not what GEMM loses here.
double* scratch(std::size_t count, Pack kind) {
  constexpr std::size_t kHugePage = (std::size_t{2} << 20) / sizeof(double);
  static thread_local Buffer scratches[3];
  Buffer& s = scratches[static_cast<int>(kind)];
  if (s.size() < count) {
    s = Buffer();                            // the old one first: the two need not fit together
    s = Buffer(std::max(count, kHugePage));  // may throw: then the scratch is empty, not stale
  }
  return s.data();
}

/// One whole 8-row sliver of A for the AVX-512 kernel: 8 x 8 blocks read a row at a time
/// (eight 64-byte loads) and transposed in registers, instead of 64 scalar loads 8 rows apart
/// (that scalar loop was half of the packing time, about 2.5% of a GEMM at n = 1024 on Zen 5).
__attribute__((target("avx512f"))) std::size_t pack_a_sliver8_avx512(std::size_t kc,
                                                                     const double* src,
                                                                     std::size_t lda, double* ap) {
  // Pairs of rows interleaved, then 128-bit lanes, then 256-bit halves: out j = column j.
  const __m512i pairs_lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
  const __m512i pairs_hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  const __m512i halves_lo = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
  const __m512i halves_hi = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
  std::size_t p = 0;
  for (; p + 8 <= kc; p += 8) {
    const double* r = src + p;
    const __m512d a0 = _mm512_loadu_pd(r), a1 = _mm512_loadu_pd(r + lda),
                  a2 = _mm512_loadu_pd(r + 2 * lda), a3 = _mm512_loadu_pd(r + 3 * lda),
                  a4 = _mm512_loadu_pd(r + 4 * lda), a5 = _mm512_loadu_pd(r + 5 * lda),
                  a6 = _mm512_loadu_pd(r + 6 * lda), a7 = _mm512_loadu_pd(r + 7 * lda);
    const __m512d t0 = _mm512_unpacklo_pd(a0, a1), t1 = _mm512_unpackhi_pd(a0, a1),
                  t2 = _mm512_unpacklo_pd(a2, a3), t3 = _mm512_unpackhi_pd(a2, a3),
                  t4 = _mm512_unpacklo_pd(a4, a5), t5 = _mm512_unpackhi_pd(a4, a5),
                  t6 = _mm512_unpacklo_pd(a6, a7), t7 = _mm512_unpackhi_pd(a6, a7);
    // s0: columns 0 and 4 of rows 0-3, s1: 1 and 5, s2: 2 and 6, s3: 3 and 7; s4-s7 rows 4-7.
    const __m512d s0 = _mm512_permutex2var_pd(t0, pairs_lo, t2),
                  s2 = _mm512_permutex2var_pd(t0, pairs_hi, t2),
                  s1 = _mm512_permutex2var_pd(t1, pairs_lo, t3),
                  s3 = _mm512_permutex2var_pd(t1, pairs_hi, t3),
                  s4 = _mm512_permutex2var_pd(t4, pairs_lo, t6),
                  s6 = _mm512_permutex2var_pd(t4, pairs_hi, t6),
                  s5 = _mm512_permutex2var_pd(t5, pairs_lo, t7),
                  s7 = _mm512_permutex2var_pd(t5, pairs_hi, t7);
    double* out = ap + p * 8;
    _mm512_store_pd(out, _mm512_permutex2var_pd(s0, halves_lo, s4));
    _mm512_store_pd(out + 8, _mm512_permutex2var_pd(s1, halves_lo, s5));
    _mm512_store_pd(out + 16, _mm512_permutex2var_pd(s2, halves_lo, s6));
    _mm512_store_pd(out + 24, _mm512_permutex2var_pd(s3, halves_lo, s7));
    _mm512_store_pd(out + 32, _mm512_permutex2var_pd(s0, halves_hi, s4));
    _mm512_store_pd(out + 40, _mm512_permutex2var_pd(s1, halves_hi, s5));
    _mm512_store_pd(out + 48, _mm512_permutex2var_pd(s2, halves_hi, s6));
    _mm512_store_pd(out + 56, _mm512_permutex2var_pd(s3, halves_hi, s7));
  }
  return p;  // the columns packed; the caller packs the rest
}

/// Packs rows [0, mc) x cols [0, kc) of A (row-major, lda) into MR-row slivers:
/// sliver s holds, for each p, the MR values A[s*MR + i][p] (zero past row mc). `wide`: the
/// AVX-512 kernel's 8-row slivers, packed by pack_a_sliver8_avx512.
void pack_a(std::size_t mc, std::size_t kc, const double* a, std::size_t lda, std::size_t mr,
            double* ap, bool wide) {
  for (std::size_t s = 0; s < mc; s += mr) {
    const std::size_t rows = std::min(mr, mc - s);
    const double* src = a + s * lda;
    if (rows == mr) {
      // Whole sliver: the writes go in order (the reads are MR streams, one per row).
      const std::size_t done = wide ? pack_a_sliver8_avx512(kc, src, lda, ap) : 0;
      for (std::size_t p = done; p < kc; ++p)
        for (std::size_t i = 0; i < mr; ++i) ap[p * mr + i] = src[i * lda + p];
    } else {
      for (std::size_t p = 0; p < kc; ++p)
        for (std::size_t i = 0; i < mr; ++i) ap[p * mr + i] = i < rows ? src[i * lda + p] : 0.0;
    }
    ap += mr * kc;
  }
}

constexpr std::size_t kPrefetchRows = 16;

/// Packs NR-column sliver `s` of B (rows [0, kc), cols [s*NR, s*NR + NR), zero past col nc)
/// to `dst` (NR x KC doubles).
void pack_b_sliver(std::size_t s, std::size_t nc, std::size_t kc, const double* b, std::size_t ldb,
                   std::size_t nr, double* dst) {
  const std::size_t j0 = s * nr, cols = std::min(nr, nc - j0);
  for (std::size_t p = 0; p < kc; ++p) {
    const double* src = b + p * ldb + j0;
    if (p + kPrefetchRows < kc) {  // each row of the sliver is in another page: prefetch
      const char* ahead = reinterpret_cast<const char*>(src + kPrefetchRows * ldb);
      const std::size_t bytes = cols * sizeof(double);
      for (std::size_t line = 0; line < bytes; line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
      _mm_prefetch(ahead + bytes - 1, _MM_HINT_T0);  // the row's last line
    }
    std::size_t j = 0;
    for (; j < cols; ++j) dst[p * nr + j] = src[j];
    for (; j < nr; ++j) dst[p * nr + j] = 0.0;
  }
}

}  // namespace

bool cpu_supports(MicroKernel mk) {
  switch (mk) {
    case MicroKernel::avx512:
      return __builtin_cpu_supports("avx512f");
    case MicroKernel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case MicroKernel::portable:
      return true;
  }
  return false;
}

MicroKernel best_micro_kernel() {
  static const MicroKernel best = cpu_supports(MicroKernel::avx512) ? MicroKernel::avx512
                                  : cpu_supports(MicroKernel::avx2) ? MicroKernel::avx2
                                                                    : MicroKernel::portable;
  return best;
}

std::string to_string(MicroKernel mk) {
  switch (mk) {
    case MicroKernel::avx512:
      return "avx512";
    case MicroKernel::avx2:
      return "avx2";
    case MicroKernel::portable:
      return "portable";
  }
  return "?";
}

namespace {

/// Throws std::invalid_argument where this CPU cannot run `mk`.
void require_cpu_support(MicroKernel mk) {
  if (!cpu_supports(mk))
    throw std::invalid_argument("this CPU cannot run the " + to_string(mk) + " micro-kernel");
}

}  // namespace

Blocking tile_of(MicroKernel mk) {
  Blocking b{};
  switch (mk) {
    case MicroKernel::avx512:
      b.mr = 8, b.nr = 24;
      break;
    case MicroKernel::avx2:
      b.mr = 6, b.nr = 8;
      break;
    case MicroKernel::portable:
      b.mr = 4, b.nr = 8;
      break;
  }
  return b;
}

void micro_kernel(MicroKernel mk, std::size_t kc, const double* ap, const double* bp, double* c,
                  std::size_t ldc, bool accumulate) {
  require_cpu_support(mk);
  ukernel_of(mk)(kc, ap, bp, c, ldc, accumulate);
}

namespace {

/// derive_blocking(mk, this machine's caches): what blocking_for starts from.
Blocking derived_blocking(MicroKernel mk) {
  return derive_blocking(mk, this_machines_caches());
}

std::size_t index_of(MicroKernel mk) {
  return static_cast<std::size_t>(mk);
}

std::optional<Blocking> g_tuned[3];  // per micro-kernel: set_tuned_blocking

}  // namespace

Caches this_machines_caches() {
  return {cache_size(_SC_LEVEL1_DCACHE_SIZE), cache_size(_SC_LEVEL2_CACHE_SIZE),
          std::min<std::size_t>(cache_size(_SC_LEVEL3_CACHE_SIZE), 32 << 20)};
}

Blocking derive_blocking(MicroKernel mk, const Caches& caches) {
  Blocking b = tile_of(mk);
  const auto [l1, l2, l3] = known(caches);
  // The ir loop (innermost) multiplies one B sliver (KC x NR) with every A sliver (MR x KC)
  // of the block. BLIS's analytical model (Low et al., TOMS 2016) keeps that B sliver in half
  // of L1 while the A slivers stream through the other half from L2: BLIS runs the same 6 x 8
  // kernel on Zen 3 (32 KiB L1d) at KC 256. A kernel as wide as the AVX-512 one (24 columns)
  // would get only 80 to 128 k-steps that way (32 and 48 KiB L1d), too little work for each
  // update of C's tile: its B sliver streams from L2 with the A slivers at a long KC (BLIS
  // runs its own 8 x 24 kernel at KC 512 on Zen 4, a 96 KiB B sliver), an A sliver filling
  // about 2/3 of L1. On Zen 5 the AVX2 kernel measured the same at KC 384 and 680, the
  // AVX-512 one at KC 128 to 512 (BENCHMARKS.md).
  const bool b_sliver_in_l1 = b.nr * sizeof(double) * 256 <= kDefaultCaches.l1 / 2;
  b.kc = b_sliver_in_l1 ? round_down(l1 / 2 / (b.nr * sizeof(double)), 8)
                        : round_down(l1 * 2 / 3 / (b.mr * sizeof(double)), 8);
  // The A block (MC x KC) fills almost all of L2; B slivers stream from the L3-resident panel.
  // (`pararun tune matmul` measures instead of deriving.)
  b.mc = round_down(l2 * 15 / 16 / (b.kc * sizeof(double)), b.mr);
  b.nc = round_down(std::min<std::size_t>(l3 / 4 / (b.kc * sizeof(double)), 4096), b.nr);
  return b;
}

Blocking blocking_for(MicroKernel mk) {
  static const Blocking derived[3] = {derived_blocking(MicroKernel::avx512),
                                      derived_blocking(MicroKernel::avx2),
                                      derived_blocking(MicroKernel::portable)};
  Blocking b = derived[index_of(mk)];
  if (const auto& t = g_tuned[index_of(mk)]) {
    b.kc = t->kc, b.mc = t->mc, b.nc = t->nc;
    b.from = "tuned";
  }
  // Overrides for experiments: PARARUN_GEMM_KC, _MC, _NC.
  auto override_with = [&b](const char* name, std::size_t& value, std::size_t multiple) {
    if (const char* v = std::getenv(name))
      if (long x = std::atol(v); x > 0) {
        value = round_down(static_cast<std::size_t>(x), multiple);
        b.from = "environment";
      }
  };
  override_with("PARARUN_GEMM_KC", b.kc, 1);
  override_with("PARARUN_GEMM_MC", b.mc, b.mr);
  override_with("PARARUN_GEMM_NC", b.nc, b.nr);
  return b;
}

std::size_t nc_panels(std::size_t n, const Blocking& b) {
  if (n == 0) return 0;
  std::size_t panels = ceil_div(n, b.nc);
  if (panels > 1 && 4 * (n - (panels - 1) * b.nc) < b.nc) --panels;  // its columns to the others
  return std::min(panels, ceil_div(n, b.nr));  // (a panel has a sliver at least)
}

std::pair<std::size_t, std::size_t> nc_panel(std::size_t n, const Blocking& b, std::size_t panels,
                                             std::size_t i) {
  const std::size_t slivers = ceil_div(n, b.nr);
  const std::size_t first = slivers * i / panels * b.nr,
                    last = std::min(n, slivers * (i + 1) / panels * b.nr);
  return {first, last - first};
}

namespace {

/// blocking_for(mk, k, n) from blocking_for(mk)'s `nominal`.
Blocking evened_out(Blocking b, std::size_t k, std::size_t n) {
  if (k > 0) b.kc = ceil_div(k, ceil_div(k, b.kc));
  if (n > 0) b.nc = ceil_div(ceil_div(n, b.nr), nc_panels(n, b)) * b.nr;  // the widest panel
  return b;
}

}  // namespace

Blocking blocking_for(MicroKernel mk, std::size_t k, std::size_t n) {
  return evened_out(blocking_for(mk), k, n);
}

void set_tuned_blocking(MicroKernel mk, std::optional<Blocking> b) {
  if (b) {
    const Blocking derived = derived_blocking(mk);
    b->mr = derived.mr, b->nr = derived.nr;
    b->kc = std::max<std::size_t>(b->kc, 1);
    b->mc = round_down(b->mc, b->mr);
    b->nc = round_down(b->nc, b->nr);
  }
  g_tuned[index_of(mk)] = b;
}

std::vector<Blocking> blocking_candidates(MicroKernel mk) {
  const Blocking d = derived_blocking(mk);
  const std::size_t l2 = known(this_machines_caches()).l2;
  std::vector<Blocking> out;  // the derived blocking is the default, timed apart
  for (std::size_t kc : {128, 192, 256, 320, 384, 448, 512})
    for (std::size_t share : {4, 8, 12, 15}) {  // sixteenths of L2 for the A block
      Blocking b = d;
      b.kc = kc;
      b.mc = round_down(l2 * share / 16 / (kc * sizeof(double)), d.mr);
      if (b.kc != d.kc || b.mc != d.mc) out.push_back(b);
    }
  return out;
}

std::string to_string(const Blocking& b) {
  return std::to_string(b.mr) + "x" + std::to_string(b.nr) + ", KC " + std::to_string(b.kc) +
         ", MC " + std::to_string(b.mc) + ", NC " + std::to_string(b.nc);
}

namespace {

/// split_for with the blocking in hand (gemm() has it already): `bl` as blocking_for(mk)
/// gives it, whose NC nc_panels() divides n by.
Split split_with(const Blocking& bl, std::size_t m, std::size_t n, int threads) {
  const std::size_t slivers_m = ceil_div(m, bl.mr), slivers_n = ceil_div(n, bl.nr);
  if (slivers_m == 0 || slivers_n == 0) return {SplitWay::rows, 1};
  const std::size_t want = static_cast<std::size_t>(std::max(threads, 1));
  const Split rows{SplitWay::rows, static_cast<int>(std::min(want, slivers_m))},
      jr{SplitWay::jr, static_cast<int>(std::min(want, slivers_n))};
  if (const char* forced = std::getenv("PARARUN_GEMM_SPLIT")) {
    if (std::strcmp(forced, "rows") == 0) return {rows.way, rows.threads, true};
    if (std::strcmp(forced, "jr") == 0) return {jr.way, jr.threads, true};
  }
  // Micro-tiles of the busiest thread under each split (a thread gets whole slivers; under
  // jr, its share of each NC panel's). The jr split costs a barrier per A block, and on
  // squares it measured no faster (BENCHMARKS.md, session 13): it must save more than an
  // eighth (an odd number of row slivers on two threads does not: 86 of 171 against 171
  // halves of 128).
  const std::size_t jr_team = static_cast<std::size_t>(jr.threads),
                    rows_team = static_cast<std::size_t>(rows.threads);
  std::size_t jr_busiest = 0;
  const std::size_t panels = nc_panels(n, bl);
  for (std::size_t i = 0; i < panels; ++i)
    jr_busiest += ceil_div(ceil_div(nc_panel(n, bl, panels, i).second, bl.nr), jr_team);
  if (8 * jr_busiest * slivers_m < 7 * ceil_div(slivers_m, rows_team) * slivers_n) return jr;
  return rows;
}

}  // namespace

Split split_for(std::size_t m, std::size_t n, int threads, MicroKernel mk) {
  return split_with(blocking_for(mk), m, n, threads);
}

std::string to_string(SplitWay way) {
  switch (way) {
    case SplitWay::rows:
      return "rows";
    case SplitWay::jr:
      return "jr";
  }
  return "?";
}

void gemm(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
          bool accumulate, MicroKernel mk, GemmTrace* trace) {
  if (trace) *trace = GemmTrace{};  // an empty product: no split, no tiles
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0);
    return;
  }
  require_cpu_support(mk);
  const UKernel ukernel = ukernel_of(mk);
  // KC evened out over k; n in nc_panels() panels of whole slivers (bl.nc: the widest).
  const Blocking nominal = blocking_for(mk), bl = evened_out(nominal, k, n);
  const std::size_t panels = nc_panels(n, nominal);
  const std::size_t mr = bl.mr, nr = bl.nr;
  const bool wide_a = mk == MicroKernel::avx512 && mr == 8;  // (the CPU has AVX-512: above)
  const std::size_t kc_max = std::min(bl.kc, k), nc_max = std::min(bl.nc, ceil_div(n, nr) * nr);
  const Split split = split_with(nominal, m, n, threads);
  const SplitWay way = split.way;
  const int team = split.threads;
  if (trace) *trace = {split, std::vector<std::size_t>(static_cast<std::size_t>(team), 0)};
  const std::size_t slivers_m = ceil_div(m, mr);
  const std::size_t mc_max = std::min(bl.mc, slivers_m * mr);
  // By rows a team shares the B panel of each KC step (packed together, then a barrier); by jr,
  // two A blocks (one packed while the other may still be read: one barrier per block). A
  // team's panels alternate between two buffers in the same way: a thread packs its share of
  // step s + 1 into the one that step s - 1 used, which every thread is done with (each
  // reached step s's barrier after it), so no barrier waits for step s's to be done with.
  const std::size_t panel_size = kc_max * nc_max;
  double* const shared_b =
      way == SplitWay::rows ? scratch((team > 1 ? 2 : 1) * panel_size, Pack::b) : nullptr;
  double* const shared_a =
      way == SplitWay::jr ? scratch(2 * mc_max * kc_max, Pack::shared_a) : nullptr;

#pragma omp parallel num_threads(team) if (team > 1)
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t nt = static_cast<std::size_t>(omp_get_num_threads());
    // An even share of `count` slivers: [first, last).
    const auto share = [t, nt](std::size_t count, std::size_t& first, std::size_t& last) {
      first = count * t / nt, last = count * (t + 1) / nt;
    };
    // This thread's part of C: its MR slivers (rows), or its share of every B panel's NR
    // slivers (jr, below).
    std::size_t row_begin = 0, row_end = m;
    if (way == SplitWay::rows) {
      share(slivers_m, row_begin, row_end);
      row_begin = std::min(m, row_begin * mr), row_end = std::min(m, row_end * mr);
    }
    double* const ap =
        way == SplitWay::rows
            ? scratch(std::min(bl.mc, ceil_div(row_end - row_begin, mr) * mr + mr) * kc_max,
                      Pack::a)
            : nullptr;
    double* const own_panel = way == SplitWay::rows
                                  ? shared_b
                                  : scratch(ceil_div(nc_max / nr, nt) * nr * kc_max, Pack::b);
    // Whether this thread packs the B slivers it multiplies with, for itself alone: under jr,
    // or by rows on one thread. Else the team packs each panel together.
    const bool own_b = way == SplitWay::jr || nt == 1;
    alignas(64) double tile[kMaxMr * kMaxNr];
    std::size_t blocks = 0;  // A blocks packed so far (jr: which of the two shared ones)
    std::size_t steps = 0;   // KC steps so far (a team's rows split: which of the two panels)

    for (std::size_t panel = 0; panel < panels; ++panel) {
      const std::pair<std::size_t, std::size_t> columns = nc_panel(n, nominal, panels, panel);
      const std::size_t jc = columns.first, nc = columns.second;
      const std::size_t panel_slivers = ceil_div(nc, nr);
      // The panel's slivers this thread packs and multiplies (jr: its share; else all), and
      // under a team's rows split its share of the packing (see below).
      std::size_t js_begin = 0, js_end = panel_slivers, mine_begin = 0, mine_end = 0;
      if (way == SplitWay::jr) share(panel_slivers, js_begin, js_end);
      if (!own_b) share(panel_slivers, mine_begin, mine_end);
      for (std::size_t pc = 0; pc < k; pc += bl.kc) {
        const std::size_t kc = std::min(bl.kc, k - pc);
        const bool acc = accumulate || pc > 0;
        double* const bpp = own_b ? own_panel : shared_b + (steps++ % 2) * panel_size;
        const double* const bpc = b + pc * ldb + jc;
        // A team that shares the panel (by rows): each thread packs its share of the slivers
        // as its first A block needs them, as one thread packs all of its own, so its first
        // micro-kernels find them hot (in L1 with the 8-column kernels; the AVX-512 kernel's
        // sliver streams from L2). Then it waits for the others' shares and multiplies with
        // them, the next thread's first; later A blocks read every sliver from L3 as before.
        // (Packing the whole panel first, then a barrier, read every sliver back from L3; on
        // Zen 3, 2 threads, 1-5% slower. OpenBLAS packs in shares too.) Every thread has rows
        // (team <= row slivers), so each reaches the barrier once per panel and KC step.
        for (std::size_t ic = row_begin; ic < row_end; ic += bl.mc, ++blocks) {
          const std::size_t mc = std::min(bl.mc, row_end - ic);
          const double* const apc = a + ic * lda + pc;
          double* block = ap;
          if (way == SplitWay::jr) {
            block = shared_a + (blocks % 2) * mc_max * kc_max;
            std::size_t first, last;
            share(ceil_div(mc, mr), first, last);
            if (first < last)
              pack_a(std::min(mc, last * mr) - first * mr, kc, apc + first * mr * lda, lda, mr,
                     block + first * mr * kc, wide_a);
#pragma omp barrier
          } else {
            pack_a(mc, kc, apc, lda, mr, block, wide_a);
          }
          if (trace) trace->tiles[t] += ceil_div(mc, mr) * (js_end - js_begin);
          // Sliver js of the panel times the A block (packing the sliver first if `pack`).
          const auto multiply = [&](std::size_t js, bool pack) {
            const std::size_t jr = js * nr, cols = std::min(nr, nc - jr);
            double* const bs = bpp + (js - js_begin) * nr * kc;
            if (pack) pack_b_sliver(js, nc, kc, bpc, ldb, nr, bs);
            for (std::size_t ir = 0; ir < mc; ir += mr) {
              const std::size_t rows = std::min(mr, mc - ir);
              const double* as = block + (ir / mr) * mr * kc;
              double* cij = c + (ic + ir) * ldc + jc + jr;
              if (rows == mr && cols == nr) {
                ukernel(kc, as, bs, cij, ldc, acc);
              } else {  // edge tile through the buffer
                ukernel(kc, as, bs, tile, nr, false);
                for (std::size_t i = 0; i < rows; ++i)
                  for (std::size_t j = 0; j < cols; ++j)
                    cij[i * ldc + j] = acc ? cij[i * ldc + j] + tile[i * nr + j] : tile[i * nr + j];
              }
            }
          };
          if (!own_b && ic == row_begin) {  // the team's panel: this thread's share first
            for (std::size_t js = mine_begin; js < mine_end; ++js) multiply(js, true);
#pragma omp barrier
            for (std::size_t js = mine_end; js < js_end; ++js) multiply(js, false);
            for (std::size_t js = js_begin; js < mine_begin; ++js) multiply(js, false);
          } else {
            // Slivers for this thread alone (own_b) are packed as its first A block needs
            // them and are still in L1 for its micro-kernels (packing the whole panel first,
            // about 8 MB, read it back from L3: a short C's product was bound by it).
            const bool pack_now = own_b && ic == row_begin;
            for (std::size_t js = js_begin; js < js_end; ++js) multiply(js, pack_now);
          }
        }
      }
    }
  }
}

}  // namespace pararun::matmul
