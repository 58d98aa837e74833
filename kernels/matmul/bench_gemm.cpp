// gemm_bench: Google Benchmark of matmul::gemm on the shapes its threading was built for,
// beside the BLAS the build links (OpenBLAS by default) and, where Debian's BLIS is installed
// (libblis4-openmp), BLIS, in one run. A developer's benchmark
// of the GEMM routine, not a ParaRun run: nothing here is verified (the kernel's tests verify
// every micro-kernel, shape and split; `pararun run matmul` verifies every run).
//
//   build/release/kernels/gemm_bench [--benchmark_filter=Gemm/8/] [--benchmark_repetitions=5]
// BLIS is loaded at run time (dlopen, its symbols kept local): linked, its dgemm_ and cblas_dgemm
// would clash with OpenBLAS's. BLIS 0.9 (Debian 12) knows no Zen 5 and runs its slow generic
// kernel there; BLIS_ARCH_TYPE=0 picks its AVX-512 (skx) kernel, 3 its AVX2 (haswell) one (0.9
// reads a number; the context names the kernel used).
// Arguments of each benchmark: m/n/k/threads (MicroKernel: its own, below). Counter: GFLOP (per
// second); the label says how gemm() split C between its threads and which micro-kernel ran.
#include <benchmark/benchmark.h>

#include <dlfcn.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "matmul/gemm.hpp"

#ifdef PARARUN_HAVE_BLAS
#include <cblas.h>
// OpenBLAS's own thread count; absent from other BLAS libraries (weak: null there).
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace {

namespace mm = pararun::matmul;

struct Operands {
  std::size_t m, n, k;
  std::vector<double> a, b, c;
  explicit Operands(const benchmark::State& s)
      : m(static_cast<std::size_t>(s.range(0))),
        n(static_cast<std::size_t>(s.range(1))),
        k(static_cast<std::size_t>(s.range(2))),
        a(m * k),
        b(k * n),
        c(m * n) {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = 1e-3 * static_cast<double>(i % 13);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = 1e-3 * static_cast<double>(i % 11);
  }
  void count_flops(benchmark::State& s) const {
    s.counters["GFLOP"] = benchmark::Counter(2e-9 * static_cast<double>(m * n * k),
                                             benchmark::Counter::kIsIterationInvariantRate);
  }
};

void Gemm(benchmark::State& state) {
  Operands op(state);
  const int threads = static_cast<int>(state.range(3));
  for (auto _ : state) {
    mm::gemm(op.m, op.n, op.k, op.a.data(), op.k, op.b.data(), op.n, op.c.data(), op.n, threads);
    benchmark::ClobberMemory();
  }
  const mm::Split split = mm::split_for(op.m, op.n, threads);
  state.SetLabel("split: " + mm::to_string(split.way) + ", " + std::to_string(split.threads) +
                 " thread(s), " + mm::to_string(mm::best_micro_kernel()));
  op.count_flops(state);
}

#ifdef PARARUN_HAVE_BLAS
void Blas(benchmark::State& state) {
  Operands op(state);
  if (openblas_set_num_threads)
    openblas_set_num_threads(static_cast<int>(state.range(3)));
  else  // another BLAS: its own thread count (its environment variables), whatever `threads` says
    state.SetLabel("threads not set: the BLAS is not OpenBLAS");
  const int m = static_cast<int>(op.m), n = static_cast<int>(op.n), k = static_cast<int>(op.k);
  for (auto _ : state) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, op.a.data(), k,
                op.b.data(), n, 0.0, op.c.data(), n);
    benchmark::ClobberMemory();
  }
  op.count_flops(state);
}
#endif

/// BLIS's typed API, found with dlsym: bli_dgemm (row and column strides: row-major here),
/// its thread count and the name of the sub-configuration it chose for this CPU.
struct Blis {
  using Dgemm = void (*)(int, int, std::int64_t, std::int64_t, std::int64_t, const double*,
                         const double*, std::int64_t, std::int64_t, const double*, std::int64_t,
                         std::int64_t, const double*, double*, std::int64_t, std::int64_t);
  Dgemm dgemm = nullptr;
  void (*set_threads)(std::int64_t) = nullptr;
  int (*arch_id)() = nullptr;
  const char* (*arch_name)(int) = nullptr;
  static const Blis& get() {
    static const Blis blis = [] {
      Blis b;
      for (const char* name :
           {"/usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4", "libblis.so.4"})
        if (void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
          b.dgemm = reinterpret_cast<Dgemm>(dlsym(h, "bli_dgemm"));
          b.set_threads =
              reinterpret_cast<void (*)(std::int64_t)>(dlsym(h, "bli_thread_set_num_threads"));
          b.arch_id = reinterpret_cast<int (*)()>(dlsym(h, "bli_arch_query_id"));
          b.arch_name = reinterpret_cast<const char* (*)(int)>(dlsym(h, "bli_arch_string"));
          auto* init = reinterpret_cast<void (*)()>(dlsym(h, "bli_init"));
          if (b.dgemm && b.set_threads && b.arch_id && b.arch_name && init) {
            init();  // (before its context is asked for the kernel's name)
            break;
          }
          b = Blis{};
          dlclose(h);
        }
      return b;
    }();
    return blis;
  }
};

void BlisGemm(benchmark::State& state) {
  const Blis& blis = Blis::get();
  Operands op(state);
  blis.set_threads(state.range(3));
  const auto m = static_cast<std::int64_t>(op.m), n = static_cast<std::int64_t>(op.n),
             k = static_cast<std::int64_t>(op.k);
  const double one = 1.0, zero = 0.0;
  for (auto _ : state) {
    blis.dgemm(0, 0, m, n, k, &one, op.a.data(), k, 1, op.b.data(), n, 1, &zero, op.c.data(), n, 1);
    benchmark::ClobberMemory();
  }
  op.count_flops(state);
}

/// The micro-kernel alone, one thread, on packed slivers as gemm() calls it: for each of
/// `b_slivers` B slivers (KC x NR), every one of `a_slivers` A slivers (MR x KC), each into its
/// own tile of C. main() registers it with this CPU's blocking (blocking_for): KC and the
/// MC / MR A slivers of gemm()'s A block (on Zen 5 30 at KC 512, 960 KiB; on Zen 3 40 at
/// KC 256, 480 KiB). Against 1 B sliver, used again and again, the rate is the kernel's own
/// ceiling. Against as many B slivers as gemm() has in an n = 1024 panel (43 of the AVX-512
/// kernel's 24 columns, 128 of the AVX2 kernel's 8) they and C's tiles come from L2 and L3,
/// as there. Arguments: kc/a_slivers/b_slivers.
void MicroKernel(benchmark::State& state) {
  const mm::MicroKernel mk = mm::best_micro_kernel();
  const mm::Blocking tile = mm::tile_of(mk);
  const std::size_t kc = static_cast<std::size_t>(state.range(0)),
                    as = static_cast<std::size_t>(state.range(1)),
                    bs = static_cast<std::size_t>(state.range(2));
  const std::size_t ldc = bs * tile.nr;
  std::vector<double> a(as * tile.mr * kc, 1e-3), b(bs * tile.nr * kc + 8, 1e-3),
      c(as * tile.mr * ldc);
  // The B slivers 64-byte aligned, as gemm()'s packing buffers are.
  double* const bp = b.data() + (64 - reinterpret_cast<std::uintptr_t>(b.data()) % 64) % 64 / 8;
  for (auto _ : state) {
    for (std::size_t j = 0; j < bs; ++j)
      for (std::size_t i = 0; i < as; ++i)
        mm::micro_kernel(mk, kc, a.data() + i * tile.mr * kc, bp + j * tile.nr * kc,
                         c.data() + i * tile.mr * ldc + j * tile.nr, ldc, true);
    benchmark::ClobberMemory();
  }
  state.SetLabel(mm::to_string(mk) + " " + std::to_string(tile.mr) + "x" + std::to_string(tile.nr));
  state.counters["GFLOP"] =
      benchmark::Counter(2e-9 * static_cast<double>(tile.mr * tile.nr * kc * as * bs),
                         benchmark::Counter::kIsIterationInvariantRate);
}

/// Short, wide C and square ones, 1 and 2 threads. On 2 threads 8, 24 and 40 rows are split in
/// the jr loop with the AVX-512 kernel's 8-row slivers (8 rows: one), by rows with AVX2's 6
/// (split_for); the squares by rows. PARARUN_GEMM_SPLIT=rows or jr forces a way.
void Shapes(benchmark::internal::Benchmark* b) {
  for (const auto& [m, n, k] : {std::array<long, 3>{8, 4096, 2048},
                                {24, 4096, 1024},
                                {40, 2048, 2048},
                                {512, 512, 512},
                                {1024, 1024, 1024},
                                {2048, 2048, 2048}})
    for (long threads : {1, 2}) b->Args({m, n, k, threads});
  b->ArgNames({"m", "n", "k", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(Gemm)->Apply(Shapes);
#ifdef PARARUN_HAVE_BLAS
BENCHMARK(Blas)->Apply(Shapes);
#endif

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  const mm::Blocking bl = mm::blocking_for(mm::best_micro_kernel());
  benchmark::AddCustomContext("micro_kernel", mm::to_string(mm::best_micro_kernel()));
  benchmark::AddCustomContext("blocking", mm::to_string(bl) + " (" + bl.from + ")");
  // (Registered here: its arguments are this CPU's blocking, known at run time only.)
  const long kc = static_cast<long>(bl.kc), a_slivers = static_cast<long>(bl.mc / bl.mr),
             b_slivers = static_cast<long>((1024 + bl.nr - 1) / bl.nr);
  benchmark::RegisterBenchmark("MicroKernel", MicroKernel)
      ->Args({kc, a_slivers, 1})
      ->Args({kc, a_slivers, b_slivers})
      ->ArgNames({"kc", "a_slivers", "b_slivers"})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  if (const Blis& blis = Blis::get(); blis.dgemm) {
    benchmark::AddCustomContext("blis_kernel", blis.arch_name(blis.arch_id()));
    benchmark::RegisterBenchmark("Blis", BlisGemm)->Apply(Shapes);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
