#!/usr/bin/env bash
# cmake --install from a build tree to a temporary prefix: install_test.sh BUILD SRC
# The tree holds what the packaging files (packaging/) rely on, and the installed programs and scripts work
# from another directory, with no source or build tree in sight.
set -u
build=$(realpath "$1")
src=$(realpath "$2")
source "$src/tests/support/harness.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1
check "cmake --install exits 0" [ $? == 0 ] || tail -5 "$tmp/install.log"
for f in bin/pi-job bin/pi-gateway share/man/man1/pi-job.1 share/doc/pi-hpc/README.md \
  share/doc/pi-hpc/checkpoint.md share/pi-hpc/slurm/pi.sbatch share/pi-hpc/slurm/pi-single.sbatch; do
  check "installed: $f" [ -s "$prefix/$f" ]
done
for f in "$src"/jobs/*.toml; do
  check "installed: share/pi-hpc/jobs/$(basename "$f")" cmp -s "$f" "$prefix/share/pi-hpc/jobs/$(basename "$f")"
done
for f in bin/pi-job bin/pi-gateway share/pi-hpc/slurm/pi.sbatch share/pi-hpc/slurm/pi-single.sbatch; do
  check "executable: $f" [ -x "$prefix/$f" ]
done
for s in pi.sbatch pi-single.sbatch; do
  check "$s names the installed pi-job" grep -q -F "installed_pi_job=\"$prefix/bin/pi-job\"" "$prefix/share/pi-hpc/slurm/$s"
  check "$s is otherwise the source's" \
    diff <(grep -v "^installed_pi_job=" "$src/slurm/$s") <(grep -v "^installed_pi_job=" "$prefix/share/pi-hpc/slurm/$s")
done
# The man page renders, where man is installed.
if command -v man >/dev/null; then
  check "man -l renders pi-job.1" bash -c "man -l '$prefix/share/man/man1/pi-job.1' 2>/dev/null | grep -q 'EXIT STATUS'"
fi

# The packaging files, which can't be built here (no Spack, no Apptainer): the Spack recipe is valid Python,
# and the container installs only packages the README's own install script installs.
check "packaging/spack/pi-hpc/package.py is valid Python" python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" \
  "$src/packaging/spack/pi-hpc/package.py"
for p in $(sed -n '/apt-get install/,/ca-certificates/p' "$src/packaging/apptainer/pi-hpc.def" | tr ' \\' '\n\n' |
  grep -E '^lib|^[a-z0-9-]+-dev$|^openmpi-bin$|^cmake$|^ninja-build$|^pkg-config$|^build-essential$'); do
  check "the container's package $p is one scripts/install-deps.sh installs" grep -q -w -- "$p" "$src/scripts/install-deps.sh"
done

# From another directory: the installed pi-job, with an installed job file overridden on the command line.
mkdir -p "$tmp/elsewhere"
cd "$tmp/elsewhere" || exit 1
"$prefix/bin/pi-job" --version >"$tmp/version" 2>&1
check "installed pi-job --version" grep -q "^pi-job [0-9]" "$tmp/version"
"$prefix/bin/pi-gateway" --version >"$tmp/gversion" 2>&1
check "installed pi-gateway --version" grep -q "^pi-gateway [0-9]" "$tmp/gversion"
"$prefix/bin/pi-job" --config "$prefix/share/pi-hpc/jobs/machin-100k.toml" --digits 10000 --out run \
  --progress-interval 0 >"$tmp/run.log" 2>&1
check "the installed pi-job runs an installed job file: exit 0" [ $? == 0 ] || tail -3 "$tmp/run.log"
check "its digits are the reference's" cmp -s run/pi.txt "$src/data/pi-10000.txt"
# The installed pi-single.sbatch, run as the batch script it is (outside Slurm it runs in the current
# directory), without PI_JOB: it finds the installed binary.
env -u PI_JOB bash "$prefix/share/pi-hpc/slurm/pi-single.sbatch" --series chudnovsky --digits 1000 --out single \
  --progress-interval 0 >"$tmp/single.log" 2>&1
check "the installed pi-single.sbatch runs: exit 0" [ $? == 0 ] || tail -3 "$tmp/single.log"
check "it ran the installed pi-job" grep -q -F "$prefix/bin/pi-job --series" "$tmp/single.log"
check "its digits are the reference's" cmp -s single/pi.txt <(head -c 1002 "$src/data/pi-10000.txt"; echo)
finish
