// The pararun command line as a library: a pararun binary is a main() that calls cli_main,
// linked with the kernels it offers (ParaRun's own, and kernels of your own that register
// themselves with PARARUN_REGISTER_KERNEL: see README, "A kernel of your own").
#pragma once

namespace pararun {

/// Parses the command line, runs the subcommand and returns the process's exit code (0 ok,
/// 1 a verification failed, 2 bad input with one line on stderr, 3 a runtime error).
int cli_main(int argc, char** argv);

}  // namespace pararun
