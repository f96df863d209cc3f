# Spack recipe for pi-hpc. To use it, copy this directory into a Spack repository's packages/ directory
# (spack repo create, then packages/pi-hpc/package.py) and run: spack install pi-hpc ^openmpi (or ^mpich).
#
# Written to Spack's conventions (CMakePackage, depends_on, variants, cmake_args) but NOT built with Spack:
# the machine this project is developed on has no network beyond Debian's archive, so Spack and its sources
# cannot be fetched there. What it relies on is tested: `cmake --install` to a prefix gives bin/pi-job,
# bin/pi-gateway, the manual page, share/pi-hpc/{jobs,slurm} and the docs (tests/app/install_test.sh).
# cpptoml has no Spack package at the time of writing: the recipe names it, and a site without it provides one
# (it is a header-only library with a CMake package file).

from spack.package import *


class PiHpc(CMakePackage):
    """Computes pi from infinite series across MPI ranks with a proven error bound: a pull-scheduling
    coordinator with retries, HDF5 checkpoints, fingerprint and BBP verification, Slurm requeue scripts,
    and a live page served over Server-Sent Events."""

    # Where the repository is published; point git at your own clone to build from it.
    homepage = "https://github.com/pi-hpc/pi-hpc"
    git = "https://github.com/pi-hpc/pi-hpc.git"

    version("main", branch="main")

    variant("native", default=False, description="Tune for the build machine's CPU (-march=native)")

    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("mpi@3.1:")
    depends_on("hdf5@1.10.7: +mpi")
    depends_on("gmp")
    depends_on("mpfr")
    depends_on("boost@1.74:")
    depends_on("cli11@2.1:")
    depends_on("nlohmann-json@3.10:")
    depends_on("cpptoml")
    depends_on("googletest", type="test")

    def cmake_args(self):
        return [
            self.define_from_variant("PI_NATIVE", "native"),
            self.define("PI_BUILD_TESTS", self.run_tests),
            self.define("PI_BUILD_BENCH", False),
        ]

    def setup_run_environment(self, env):
        # The sbatch scripts are installed with the path of this pi-job written in; PI_JOB overrides it.
        env.set("PI_HPC_SLURM", self.prefix.share.join("pi-hpc").slurm)
