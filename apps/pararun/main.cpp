// pararun: run compute kernels sequentially, with OpenMP, MPI or both, and measure honestly.
// The command line is the pararun_cli library; the kernels are the ones linked in.
#include "pararun/cli.hpp"

int main(int argc, char** argv) {
  return pararun::cli_main(argc, argv);
}
