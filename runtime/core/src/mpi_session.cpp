#include "pararun/mpi_session.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace pararun {

namespace {

void on_mpi_error(MPI_Comm* /*comm*/, int* code, ...) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(*code, text, &len);
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "pararun: MPI error on rank %d: %.*s\n", rank, len, text);
  MPI_Abort(MPI_COMM_WORLD, 3);
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &thread_level_);
  MPI_Errhandler handler;
  MPI_Comm_create_errhandler(on_mpi_error, &handler);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, handler);
  MPI_Errhandler_free(&handler);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

bool MpiSession::active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

int first_rank_with_other_arguments(int argc, char** argv) {
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a over the arguments, 0 between them
  for (int i = 1; i < argc; ++i)
    for (const char* c = argv[i];; ++c) {
      hash = (hash ^ static_cast<unsigned char>(*c)) * 1099511628211ULL;
      if (!*c) break;
    }
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<std::uint64_t> all(static_cast<std::size_t>(size));
  MPI_Allgather(&hash, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  for (int r = 1; r < size; ++r)
    if (all[static_cast<std::size_t>(r)] != all[0]) return r;
  return -1;
}

bool launched_by_mpi_launcher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") ||
         std::getenv("PMI_RANK") || std::getenv("PMI_SIZE");
}

int launcher_world_size() {
  int n = env_int("OMPI_COMM_WORLD_SIZE", 0);
  if (n <= 0) n = env_int("PMI_SIZE", 0);
  // (The step's count first: an interactive step inside `salloc -n 32` keeps SLURM_NTASKS=32.)
  if (n <= 0 && std::getenv("PMIX_RANK"))
    n = env_int("SLURM_STEP_NUM_TASKS", env_int("SLURM_NTASKS", 0));
  // srun without an MPI plugin (MpiDefault=none) sets no PMI variables, only its own.
  if (n <= 0 && std::getenv("SLURM_PROCID")) n = env_int("SLURM_STEP_NUM_TASKS", 0);
  return n > 0 ? n : 1;
}

int launcher_world_rank() {
  int r = env_int("OMPI_COMM_WORLD_RANK", -1);
  if (r < 0) r = env_int("PMIX_RANK", -1);
  if (r < 0) r = env_int("PMI_RANK", -1);
  if (r < 0 && std::getenv("SLURM_STEP_NUM_TASKS")) r = env_int("SLURM_PROCID", -1);
  return r > 0 ? r : 0;
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string s(text, static_cast<std::size_t>(len));
  auto cut = s.find_first_of(",\n");
  if (cut != std::string::npos) s.resize(cut);
  return s;
}

void abort_all(int code) {
  int size = 1;
  if (MpiSession::active()) MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::fflush(stdout);
  std::fflush(stderr);
  if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace pararun
