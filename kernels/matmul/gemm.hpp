// ParaRun's own GEMM, BLIS style: packed panels of A and B, cache blocking for L1/L2/L3 and a
// register-blocked micro-kernel (AVX-512, AVX2 or portable, chosen for the CPU it runs on).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pararun::matmul {

enum class MicroKernel { avx512, avx2, portable };

/// The fastest micro-kernel this CPU can run.
MicroKernel best_micro_kernel();
/// True when this CPU can run `mk`.
bool cpu_supports(MicroKernel mk);
std::string to_string(MicroKernel mk);

/// Cache blocking of one micro-kernel: register tile MR x NR, the KC x NC panel of B and the
/// MC x KC block of A (which of them the threads share: SplitWay).
struct Blocking {
  std::size_t mr, nr, kc, mc, nc;
  /// Where KC, MC, NC come from: "caches" (derived from this machine's cache sizes),
  /// "tuned" (set_tuned_blocking: a `pararun tune` result) or "environment"
  /// (PARARUN_GEMM_KC, _MC, _NC).
  const char* from = "caches";
};
/// Cache sizes in bytes a blocking is derived from: L1d and L2 of one core, L3 as sysconf
/// reports it (shared; at most 32 MiB is used). 0: not known.
struct Caches {
  std::size_t l1, l2, l3;
};
/// Where a size is not known: 32 KiB, 512 KiB, 8 MiB.
inline constexpr Caches kDefaultCaches{32 << 10, 512 << 10, 8 << 20};
/// This machine's, from sysconf (0 where it does not say).
Caches this_machines_caches();
/// The blocking derived for `mk` from `caches` (kDefaultCaches for a size of 0): KC so that the
/// B sliver (KC x NR) fills half of L1 for kernels up to 8 columns wide (else an A sliver
/// fills about 2/3 of L1), the A block (MC x KC) almost all of L2, the B panel (KC x NC) a
/// quarter of L3.
Blocking derive_blocking(MicroKernel mk, const Caches& caches);
/// The block sizes gemm() uses for `mk`: derived from this machine's L1/L2/L3 sizes, replaced
/// by a tuned setting if there is one, then by PARARUN_GEMM_KC, _MC, _NC if set.
Blocking blocking_for(MicroKernel mk);
/// The blocking gemm() uses for a product k deep and n wide: blocking_for(mk) with its KC and
/// NC evened out over k and n, so that no thin last panel costs a whole pass of packing A (and
/// of C's updates) for a few columns or k-steps. k in equal steps of at most KC; n in
/// nc_panels() panels, the NR slivers shared evenly between them (nc_panel); NC here is the
/// widest of them.
Blocking blocking_for(MicroKernel mk, std::size_t k, std::size_t n);
/// How many B panels gemm() cuts n columns into under `nominal` (blocking_for(mk)): the fewest
/// of at most NC columns, one fewer when the last would be narrower than NC / 4 (the others
/// take its columns, up to 1.25 NC each: n = 2048 with NC 2040 is one panel, not one of 2040
/// and one of 8 columns).
std::size_t nc_panels(std::size_t n, const Blocking& nominal);
/// Panel i of nc_panels(n, nominal) = `panels`: its first column and its width.
std::pair<std::size_t, std::size_t> nc_panel(std::size_t n, const Blocking& nominal,
                                             std::size_t panels, std::size_t i);
/// Makes `b` (its KC, MC, NC; rounded to the micro-kernel's MR and NR) the blocking of `mk`
/// for the multiplies that follow; nullopt: back to the derived one. Not thread-safe: call it
/// before multiplying.
void set_tuned_blocking(MicroKernel mk, std::optional<Blocking> b);
/// The settings `pararun tune` tries for `mk` beside the derived blocking: KC from 128 to 512
/// and MC filling a quarter to almost all of L2.
std::vector<Blocking> blocking_candidates(MicroKernel mk);
/// "8x24, KC 336, MC 344, NC 3120": the blocking as records name it.
std::string to_string(const Blocking& b);

/// The register tile of `mk`: its MR and NR (the other sizes 0).
Blocking tile_of(MicroKernel mk);
/// One micro-kernel call as gemm() makes it: the MR x NR tile of C (row-major, ldc) =, or +=
/// when `accumulate`, ap^T * bp, where ap holds kc steps of MR values of A (a packed A sliver)
/// and bp kc steps of NR values of B (a packed B sliver, 64-byte aligned). For benchmarks and
/// tests of the micro-kernel alone; throws std::invalid_argument where the CPU cannot run `mk`.
void micro_kernel(MicroKernel mk, std::size_t kc, const double* ap, const double* bp, double* c,
                  std::size_t ldc, bool accumulate);

/// How gemm() shares an m x n C among its threads (BLIS's loop names: gemm.cpp's first comment):
/// - rows, the ic loop: each thread takes an even share of C's MR slivers and packs its own A
///   blocks; the threads pack each B panel together and share it (a barrier per panel).
/// - jr, the jr loop inside every A block: the threads pack each A block together and share
///   it (a barrier per block; two blocks alternate, so one barrier does), and each packs its
///   own share of every B panel's NR slivers and multiplies with them alone.
enum class SplitWay { rows, jr };
std::string to_string(SplitWay way);
struct Split {
  SplitWay way;
  int threads;          ///< how many threads get work
  bool forced = false;  ///< by PARARUN_GEMM_SPLIT
};
/// rows, unless C is too short for its row slivers to go round: then jr, when that leaves the
/// busiest thread more than an eighth fewer micro-tiles. PARARUN_GEMM_SPLIT=rows or jr forces
/// a way (for experiments; another value is ignored).
Split split_for(std::size_t m, std::size_t n, int threads, MicroKernel mk = best_micro_kernel());

/// What one gemm() call did, when asked (tests): its split, and how many micro-tiles (MR x NR
/// x KC products) each thread of the team multiplied. An empty product (m, n or k zero) leaves
/// the default: rows on 1 thread, no tiles.
struct GemmTrace {
  Split split{SplitWay::rows, 1};
  std::vector<std::size_t> tiles;
};

/// C (m x n) = A (m x k) * B (k x n), or C += A * B when `accumulate`. Row-major with leading
/// dimensions lda, ldb, ldc. One OpenMP parallel region with `threads` threads.
void gemm(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
          bool accumulate = false, MicroKernel mk = best_micro_kernel(),
          GemmTrace* trace = nullptr);

}  // namespace pararun::matmul
