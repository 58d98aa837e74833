#include "pararun/ceilings.hpp"

#include <immintrin.h>
#include <omp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "pararun/buffer.hpp"
#include "pararun/stats.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

namespace {

// The read ceiling's own load loops, written apart from any kernel (the reduction has its
// own sum): four independent vector accumulators over aligned loads, as likwid-bench's
// load kernels do, with the widest vectors the CPU has.
__attribute__((target("avx512f"))) double load_avx512(const double* x, std::size_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  const double* end = x + n / 32 * 32;
  for (const double* p = x; p != end; p += 32) {
    s0 = _mm512_add_pd(s0, _mm512_load_pd(p));
    s1 = _mm512_add_pd(s1, _mm512_load_pd(p + 8));
    s2 = _mm512_add_pd(s2, _mm512_load_pd(p + 16));
    s3 = _mm512_add_pd(s3, _mm512_load_pd(p + 24));
  }
  alignas(64) double lanes[8];  // (_mm512_reduce_add_pd trips GCC 12's PR 105593 warning)
  _mm512_store_pd(lanes, _mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
  double s = 0;
  for (double v : lanes) s += v;
  return s;
}

__attribute__((target("avx2"))) double load_avx2(const double* x, std::size_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  const double* end = x + n / 16 * 16;
  for (const double* p = x; p != end; p += 16) {
    s0 = _mm256_add_pd(s0, _mm256_load_pd(p));
    s1 = _mm256_add_pd(s1, _mm256_load_pd(p + 4));
    s2 = _mm256_add_pd(s2, _mm256_load_pd(p + 8));
    s3 = _mm256_add_pd(s3, _mm256_load_pd(p + 12));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

/// Loads x[0..n) once; n is a multiple of 32 and x 64-byte aligned (the caller's slices are).
double load_all(const double* x, std::size_t n) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx512) return load_avx512(x, n);
  if (avx2) return load_avx2(x, n);
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

/// 16 independent FMA chains for `iters` iterations; returns flops done.
__attribute__((target("avx512f,fma"))) double fma_chains_avx512(long iters, double seed) {
  __m512d acc[16];
  const __m512d m = _mm512_set1_pd(1.0 + 1e-12), a = _mm512_set1_pd(1e-12);
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_set1_pd(seed + j);
  for (long i = 0; i < iters; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_pd(acc[j], m, a);
  for (int j = 1; j < 16; ++j) acc[0] = _mm512_add_pd(acc[0], acc[j]);
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, acc[0]);
  return lanes[0];
}

__attribute__((target("avx2,fma"))) double fma_chains_avx2(long iters, double seed) {
  __m256d acc[12];
  const __m256d m = _mm256_set1_pd(1.0 + 1e-12), a = _mm256_set1_pd(1e-12);
  for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_pd(seed + j);
  for (long i = 0; i < iters; ++i)
#pragma GCC unroll 12
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_pd(acc[j], m, a);
  for (int j = 1; j < 12; ++j) acc[0] = _mm256_add_pd(acc[0], acc[j]);
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, acc[0]);
  return lanes[0];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double fma_peak(int threads) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx512 && !avx2) return 0;
  const double flops_per_iter = avx512 ? 16 * 8 * 2 : 12 * 4 * 2;
  double best = 0, sink = 0;
  const auto run = [&](long iters) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += avx512 ? fma_chains_avx512(iters, omp_get_thread_num())
                   : fma_chains_avx2(iters, omp_get_thread_num());
    return seconds_since(t0);
  };
  // 20 million iterations (5 GFLOP a thread with AVX-512, 2 with AVX2: 50 ms at 100 GFLOP/s,
  // 40 ms at 50), fewer only where 20 million would take more than 0.2 s: any real core does
  // one million in under 10 ms, an instrumented build (ASan: 4.7 GFLOP/s) took 55 ms and then
  // 1.1 s a run. The short run also wakes the cores up.
  const double seconds_per_million = std::max(run(1'000'000), 1e-9);
  const long iters = static_cast<long>(std::clamp(0.2 / seconds_per_million, 1.0, 20.0) * 1e6);
  for (int rep = 0; rep < 3; ++rep)
    best = std::max(best, threads * iters * flops_per_iter / run(iters) * 1e-9);
  return sink == 12345.678 ? 0 : best;  // keep the chains from being optimised away
}

/// Best and median read bandwidth in GB/s over 20 passes.
std::pair<double, double> read_bandwidth(int threads, const double* data, std::size_t n) {
  double sink = 0;
  std::vector<double> rates;
  for (int rep = 0; rep < 20; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      const std::size_t nt = static_cast<std::size_t>(omp_get_num_threads());
      // Slices of whole 256-byte blocks, so that every load is aligned.
      const std::size_t blocks = n / 32, first = blocks * t / nt, last = blocks * (t + 1) / nt;
      sink += load_all(data + 32 * first, 32 * (last - first));
    }
    rates.push_back(n * sizeof(double) / seconds_since(t0) * 1e-9);
  }
  if (sink == 12345.678) rates.clear();  // keep the sums from being optimised away
  return {rates.empty() ? 0 : *std::max_element(rates.begin(), rates.end()), median(rates)};
}

}  // namespace

std::size_t uncached_read_bytes() {
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  return l3 > 0 ? 4 * static_cast<std::size_t>(l3) : 0;
}

std::size_t read_buffer_bytes() {
  // STREAM's rule: at least 4 times the last-level cache, so no pass finds its data there
  // (a 512 MiB buffer is under 2x the 300 MiB L3 of an Emerald Rapids Xeon); at least 512
  // MiB; two buffers of it within a quarter of the available memory. Whole 2 MiB pages.
  std::size_t bytes = std::max<std::size_t>(std::size_t{512} << 20, uncached_read_bytes());
  const std::size_t memory = available_memory_bytes();
  if (memory > 0) bytes = std::min(bytes, std::max<std::size_t>(memory / 8, std::size_t{64} << 20));
  const std::size_t huge = std::size_t{2} << 20;
  return std::max(huge, bytes / huge * huge);
}

std::size_t read_bytes_for(std::size_t asked) {
  const std::size_t huge = std::size_t{2} << 20;
  return asked == 0 ? read_buffer_bytes() : std::max(huge, asked / huge * huge);
}

std::vector<Ceiling> measure_ceilings(int max_threads, std::size_t read_bytes) {
  // Teams of exactly t threads (a peak is t threads' work over the time): OMP_DYNAMIC=true let
  // libgomp run fewer, and the row claimed t.
  omp_set_dynamic(0);
  const std::size_t huge = std::size_t{2} << 20;
  Buffer x(read_bytes_for(read_bytes) / sizeof(double));  // on huge pages, as kernels' buffers are
  const std::size_t n = x.size();
  // The same size on 4 KiB pages (madvise NOHUGEPAGE), as tools that do not ask for huge
  // pages (likwid-bench) read: like with like for a cross-check.
  const std::size_t bytes = n * sizeof(double);
  std::unique_ptr<double, void (*)(void*)> small(
      static_cast<double*>(std::aligned_alloc(huge, (bytes + huge - 1) / huge * huge)), std::free);
  if (small) madvise(small.get(), bytes, MADV_NOHUGEPAGE);
  double* p = x.data();
  double* q = small.get();
#pragma omp parallel for schedule(static) num_threads(max_threads)
  for (std::size_t i = 0; i < n; ++i) {
    p[i] = static_cast<double>(i & 1023);
    if (q) q[i] = p[i];
  }
  std::vector<Ceiling> out;
  for (int t = 1; t <= max_threads; ++t) {
    const auto [best, med] = read_bandwidth(t, p, n);
    const double small_pages = q ? read_bandwidth(t, q, n).first : 0;
    out.push_back({t, fma_peak(t), best, med, small_pages, bytes});
  }
  return out;
}

Json to_json(const std::vector<Ceiling>& ceilings) {
  Json j = Json::array();
  const std::string cpu = cpu_identity();
  for (const auto& c : ceilings)
    j.push_back({{"threads", c.threads},
                 {"fma_gflops", c.fma_gflops},
                 {"read_gbytes_per_s", c.read_gbytes},
                 {"read_gbytes_per_s_median", c.read_gbytes_median},
                 {"read_gbytes_per_s_small_pages", c.read_gbytes_small_pages},
                 {"read_buffer_bytes", c.read_buffer_bytes},
                 {"cpu", cpu}});
  return j;
}

}  // namespace pararun

namespace pararun {

Json read_ceilings_file(const std::string& path, std::string* problem) {
  struct stat st {};
  std::ifstream in;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) in.open(path);
  if (!in.is_open() || !in) {
    *problem = "cannot read the ceilings file '" + path + "'";
    return nullptr;
  }
  Json ceilings = parse_json(in);
  if (!ceilings.is_array() || ceilings.empty() || !ceilings[0].is_object() ||
      !ceilings[0].contains("fma_gflops")) {
    *problem = "'" + path + "' is not the output of 'pararun ceilings --json'";
    return nullptr;
  }
  // Ceilings of another CPU are not this one's (a file copied from another machine): the
  // fraction would be of the wrong peak. Model, family, model number and vector ISA are
  // compared, not the cache sizes glibc reads from the core it runs on (P- and E-cores
  // differ). Files without "cpu" (written by earlier builds) are taken as they are.
  const auto model = [](const std::string& id) { return id.substr(0, id.find(", L1d")); };
  std::string here;
  for (const auto& c : ceilings) {
    if (!c.is_object() || !c.contains("cpu") || !c["cpu"].is_string()) continue;
    if (here.empty()) here = cpu_identity();
    if (model(c["cpu"]) == model(here)) continue;
    *problem = "'" + path + "' holds the ceilings of another CPU (" + c["cpu"].get<std::string>() +
               "; this is " + here + "): measure them here with 'pararun ceilings --json'";
    return nullptr;
  }
  problem->clear();
  return ceilings;
}

Json ceiling_fraction(const Json& ceilings, int pes, const std::string& unit, double rate) {
  if (!ceilings.is_array() || ceilings.empty()) return nullptr;
  const bool flops = unit == "GFLOP/s";
  if (!flops && unit != "GB/s") return nullptr;  // no ceiling for other units
  const char* key = flops ? "fma_gflops" : "read_gbytes_per_s_median";
  const Json* best = nullptr;
  for (const auto& c : ceilings) {
    // Entries that are not what `pararun ceilings --json` writes are passed over: the run's
    // record must not be lost to a bad ceilings file.
    if (!c.is_object() || !c.contains("threads") || !c["threads"].is_number_integer() ||
        !c.contains(key) || !c[key].is_number())
      continue;
    // The ceiling of as many threads as the run's PEs, no other: a 2-thread run against
    // the 1-thread peak is no share of what it could reach.
    if (c["threads"].get<int>() == pes) best = &c;
  }
  if (!best) return nullptr;
  const double ceiling = (*best)[key].get<double>();
  if (!(ceiling > 0) || !std::isfinite(rate / ceiling)) return nullptr;
  return {{"kind", flops ? "fma_peak" : "read_bandwidth_median"},
          {"value", ceiling},
          {"pes", (*best)["threads"]},
          {"fraction", rate / ceiling}};
}

}  // namespace pararun
