// A one-process MPI for builds without MPI (cmake -DPARARUN_MPI=OFF), in the spirit of PETSc's
// mpiuni: MPI_COMM_WORLD has one rank, collectives copy their input to their output, and
// ParaRun refuses the mpi and hybrid backends (backend_unavailable), so the distributed code
// paths of the kernels are compiled but never taken. A call only a distributed path makes
// (point-to-point with another rank, a derived datatype in a copy) ends the process with one
// line instead of computing something wrong.
//
// Only the part of MPI that ParaRun uses is here; it is not an MPI for other programs.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>

using MPI_Comm = int;
using MPI_Datatype = int;  // the size of one element in bytes; a derived type is negative
using MPI_Op = int;
using MPI_Request = int;
using MPI_Info = int;
using MPI_Errhandler = int;
struct MPI_Status {
  int MPI_SOURCE, MPI_TAG, MPI_ERROR;
};
using MPI_Comm_errhandler_function = void(MPI_Comm*, int*, ...);

#define MPI_SUCCESS 0
#define MPI_COMM_NULL 0
#define MPI_COMM_WORLD 1
#define MPI_COMM_SELF 2
#define MPI_PROC_NULL (-2)
#define MPI_ANY_SOURCE (-1)
#define MPI_INFO_NULL 0
#define MPI_COMM_TYPE_SHARED 1
#define MPI_DATATYPE_NULL 0
#define MPI_CHAR 1
#define MPI_INT 4
#define MPI_UNSIGNED 4
#define MPI_DOUBLE 8
#define MPI_INT64_T 8
#define MPI_UINT64_T 8
#define MPI_UNSIGNED_LONG_LONG 8
#define MPI_SUM 1
#define MPI_MAX 2
#define MPI_MIN 3
#define MPI_THREAD_SINGLE 0
#define MPI_THREAD_FUNNELED 1
#define MPI_THREAD_SERIALIZED 2
#define MPI_THREAD_MULTIPLE 3
#define MPI_STATUS_IGNORE static_cast<MPI_Status*>(nullptr)
#define MPI_STATUSES_IGNORE static_cast<MPI_Status*>(nullptr)
#define MPI_IN_PLACE reinterpret_cast<void*>(-1)
#define MPI_MAX_ERROR_STRING 64
#define MPI_MAX_LIBRARY_VERSION_STRING 96

namespace pararun_mpi_stub {

inline int& state() {  // 0 before MPI_Init, 1 between MPI_Init and MPI_Finalize, 2 after
  static int s = 0;
  return s;
}

[[noreturn]] inline void unsupported(const char* call) {
  std::fprintf(stderr,
               "pararun: error: %s needs MPI, and this pararun was built without it "
               "(PARARUN_MPI=OFF)\n",
               call);
  std::exit(2);
}

/// count elements of type t from send to recv (nothing for MPI_IN_PLACE).
inline int copy(const void* send, void* recv, int count, MPI_Datatype t, const char* call) {
  if (t <= 0) unsupported(call);
  if (send != MPI_IN_PLACE && count > 0 && send != recv)
    std::memmove(recv, send, static_cast<std::size_t>(count) * static_cast<std::size_t>(t));
  return MPI_SUCCESS;
}

/// The one rank talks to itself (or to nobody); anything else needs a real MPI.
inline void only_self(int peer, const char* call) {
  if (peer != 0 && peer != MPI_PROC_NULL) unsupported(call);
}

}  // namespace pararun_mpi_stub

inline int MPI_Init(int*, char***) {
  pararun_mpi_stub::state() = 1;
  return MPI_SUCCESS;
}
inline int MPI_Init_thread(int*, char***, int required, int* provided) {
  pararun_mpi_stub::state() = 1;
  *provided = required;
  return MPI_SUCCESS;
}
inline int MPI_Query_thread(int* provided) {
  *provided = MPI_THREAD_FUNNELED;
  return MPI_SUCCESS;
}
inline int MPI_Finalize() {
  pararun_mpi_stub::state() = 2;
  return MPI_SUCCESS;
}
inline int MPI_Initialized(int* flag) {
  *flag = pararun_mpi_stub::state() >= 1;
  return MPI_SUCCESS;
}
inline int MPI_Finalized(int* flag) {
  *flag = pararun_mpi_stub::state() == 2;
  return MPI_SUCCESS;
}
[[noreturn]] inline int MPI_Abort(MPI_Comm, int code) {
  std::fflush(nullptr);
  std::exit(code);
}
inline int MPI_Get_library_version(char* text, int* len) {
  const char* v = "none (built without MPI: PARARUN_MPI=OFF)";
  std::snprintf(text, MPI_MAX_LIBRARY_VERSION_STRING, "%s", v);
  *len = static_cast<int>(std::strlen(text));
  return MPI_SUCCESS;
}
inline int MPI_Error_string(int code, char* text, int* len) {
  std::snprintf(text, MPI_MAX_ERROR_STRING, "error %d", code);
  *len = static_cast<int>(std::strlen(text));
  return MPI_SUCCESS;
}

inline int MPI_Comm_rank(MPI_Comm, int* rank) {
  *rank = 0;
  return MPI_SUCCESS;
}
inline int MPI_Comm_size(MPI_Comm, int* size) {
  *size = 1;
  return MPI_SUCCESS;
}
inline int MPI_Comm_dup(MPI_Comm, MPI_Comm* out) {
  *out = MPI_COMM_SELF;
  return MPI_SUCCESS;
}
inline int MPI_Comm_split(MPI_Comm, int, int, MPI_Comm* out) {
  *out = MPI_COMM_SELF;
  return MPI_SUCCESS;
}
inline int MPI_Comm_split_type(MPI_Comm, int, int, MPI_Info, MPI_Comm* out) {
  *out = MPI_COMM_SELF;
  return MPI_SUCCESS;
}
inline int MPI_Comm_free(MPI_Comm* comm) {
  *comm = MPI_COMM_NULL;
  return MPI_SUCCESS;
}
inline int MPI_Comm_create_errhandler(MPI_Comm_errhandler_function*, MPI_Errhandler* h) {
  *h = 1;
  return MPI_SUCCESS;
}
inline int MPI_Comm_set_errhandler(MPI_Comm, MPI_Errhandler) {
  return MPI_SUCCESS;
}
inline int MPI_Errhandler_free(MPI_Errhandler* h) {
  *h = 0;
  return MPI_SUCCESS;
}

inline int MPI_Barrier(MPI_Comm) {
  return MPI_SUCCESS;
}
inline int MPI_Bcast(void*, int, MPI_Datatype, int root, MPI_Comm) {
  pararun_mpi_stub::only_self(root, "MPI_Bcast from another rank");
  return MPI_SUCCESS;
}
inline int MPI_Allreduce(const void* send, void* recv, int count, MPI_Datatype t, MPI_Op,
                         MPI_Comm) {
  return pararun_mpi_stub::copy(send, recv, count, t, "MPI_Allreduce of a derived type");
}
inline int MPI_Reduce(const void* send, void* recv, int count, MPI_Datatype t, MPI_Op, int root,
                      MPI_Comm) {
  pararun_mpi_stub::only_self(root, "MPI_Reduce to another rank");
  return pararun_mpi_stub::copy(send, recv, count, t, "MPI_Reduce of a derived type");
}
inline int MPI_Gather(const void* send, int count, MPI_Datatype t, void* recv, int, MPI_Datatype,
                      int root, MPI_Comm) {
  pararun_mpi_stub::only_self(root, "MPI_Gather to another rank");
  return pararun_mpi_stub::copy(send, recv, count, t, "MPI_Gather of a derived type");
}
inline int MPI_Gatherv(const void* send, int count, MPI_Datatype t, void* recv, const int*,
                       const int* displs, MPI_Datatype, int root, MPI_Comm) {
  pararun_mpi_stub::only_self(root, "MPI_Gatherv to another rank");
  if (send == MPI_IN_PLACE) return MPI_SUCCESS;
  return pararun_mpi_stub::copy(send, static_cast<char*>(recv) + displs[0] * t, count, t,
                                "MPI_Gatherv of a derived type");
}
inline int MPI_Allgather(const void* send, int count, MPI_Datatype t, void* recv, int, MPI_Datatype,
                         MPI_Comm) {
  return pararun_mpi_stub::copy(send, recv, count, t, "MPI_Allgather of a derived type");
}
inline int MPI_Allgatherv(const void* send, int count, MPI_Datatype t, void* recv, const int*,
                          const int* displs, MPI_Datatype, MPI_Comm) {
  if (send == MPI_IN_PLACE) return MPI_SUCCESS;
  return pararun_mpi_stub::copy(send, static_cast<char*>(recv) + displs[0] * t, count, t,
                                "MPI_Allgatherv of a derived type");
}

inline int MPI_Sendrecv(const void* send, int send_count, MPI_Datatype send_type, int dest, int,
                        void* recv, int, MPI_Datatype, int source, int, MPI_Comm, MPI_Status*) {
  pararun_mpi_stub::only_self(dest, "MPI_Sendrecv with another rank");
  pararun_mpi_stub::only_self(source, "MPI_Sendrecv with another rank");
  if (dest == MPI_PROC_NULL || source == MPI_PROC_NULL) return MPI_SUCCESS;
  return pararun_mpi_stub::copy(send, recv, send_count, send_type,
                                "MPI_Sendrecv of a derived type");
}
inline int MPI_Isend(const void*, int, MPI_Datatype, int dest, int, MPI_Comm, MPI_Request* r) {
  if (dest != MPI_PROC_NULL) pararun_mpi_stub::unsupported("MPI_Isend");
  *r = 0;
  return MPI_SUCCESS;
}
inline int MPI_Irecv(void*, int, MPI_Datatype, int source, int, MPI_Comm, MPI_Request* r) {
  if (source != MPI_PROC_NULL) pararun_mpi_stub::unsupported("MPI_Irecv");
  *r = 0;
  return MPI_SUCCESS;
}
inline int MPI_Waitall(int, MPI_Request*, MPI_Status*) {
  return MPI_SUCCESS;
}

inline int MPI_Type_vector(int, int, int, MPI_Datatype, MPI_Datatype* out) {
  *out = -1;  // usable only where nothing is copied: with MPI_PROC_NULL peers
  return MPI_SUCCESS;
}
inline int MPI_Type_commit(MPI_Datatype*) {
  return MPI_SUCCESS;
}
inline int MPI_Type_free(MPI_Datatype* t) {
  *t = MPI_DATATYPE_NULL;
  return MPI_SUCCESS;
}
