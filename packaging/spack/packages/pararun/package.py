# Spack recipe for ParaRun (a repository of its own: `spack repo add packaging/spack`).
#   spack install pararun@main +blas ^openmpi ^openblas
#   spack install pararun@main ^mpich ^blis        # another MPI, another BLAS
from spack.package import *


class Pararun(CMakePackage):
    """Runs compute kernels sequentially, with OpenMP threads, MPI ranks and MPI+OpenMP,
    verifies every run and measures the speedup honestly; Slurm job arrays, scaling studies
    and batches."""

    # ParaRun has no public home yet: point these at the repository your site mirrors.
    homepage = "https://example.org/pararun"
    git = "https://example.org/pararun.git"

    license("BSD-3-Clause")

    version("main", branch="main")

    # ParaRun 0.1 needs both: every kernel has seq, omp, mpi and hybrid backends. The
    # variants are here so that a spec names them; turning one off is refused until the
    # build makes them optional.
    variant("mpi", default=True, description="MPI and hybrid backends")
    variant("openmp", default=True, description="OpenMP and hybrid backends")
    variant("blas", default=True, description="The 'blas' matmul variants (any BLAS with CBLAS)")
    variant("native", default=False, description="-march=native (build on the compute node)")
    conflicts("~mpi", msg="ParaRun 0.1 needs MPI (optional MPI is not built yet)")
    conflicts("~openmp", msg="ParaRun 0.1 needs OpenMP (optional OpenMP is not built yet)")

    depends_on("cxx", type="build")
    depends_on("cmake@3.25:", type="build")
    depends_on("mpi", when="+mpi")
    depends_on("blas", when="+blas")
    depends_on("eigen@3.3:")
    depends_on("nlohmann-json@3:")
    depends_on("cli11")
    depends_on("yaml-cpp")
    depends_on("googletest", type="test")
    depends_on("python", type="run")
    depends_on("py-matplotlib", type="run")

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define_from_variant("PARARUN_NATIVE", "native"),
            self.define_from_variant("PARARUN_WITH_BLAS", "blas"),
            self.define("BUILD_TESTING", self.run_tests),
            self.define("MPI_CXX_COMPILER", spec["mpi"].mpicxx),
        ]
        if spec.satisfies("+blas"):
            # ParaRun finds its BLAS with find_package(BLAS); OpenBLAS also gets its thread
            # count set per run. Any other BLAS is taken as it is.
            vendor = "OpenBLAS" if spec.satisfies("^openblas") else "Generic"
            args += [
                self.define("PARARUN_BLAS_VENDOR", vendor),
                self.define("BLAS_LIBRARIES", spec["blas"].libs.joined(";")),
                self.define("PARARUN_CBLAS_INCLUDE_DIR", spec["blas"].prefix.include),
            ]
        return args

    def setup_run_environment(self, env):
        # The Slurm job scripts find the binary through PARARUN.
        env.set("PARARUN", self.prefix.bin.pararun)
