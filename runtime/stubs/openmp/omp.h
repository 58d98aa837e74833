// OpenMP's run-time functions for builds without OpenMP (cmake -DPARARUN_OPENMP=OFF): one
// thread. The `#pragma omp` lines are ignored by the compiler (-Wno-unknown-pragmas), so every
// loop runs sequentially, and ParaRun refuses the omp and hybrid backends
// (backend_unavailable) rather than report one thread as several.
#pragma once

inline int omp_get_max_threads() {
  return 1;
}
inline int omp_get_num_threads() {
  return 1;
}
inline int omp_get_thread_num() {
  return 0;
}
inline int omp_get_num_procs() {
  return 1;
}
inline void omp_set_num_threads(int) {}
inline int omp_get_thread_limit() {
  return 1;
}
inline void omp_set_dynamic(int) {}
