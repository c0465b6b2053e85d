"""Every make target works as the first command on a fresh machine: the package check (make deps)
runs before anything is compiled, serially and under make -j.

CI runs where the packages are installed already, so a compile ordered before the check passes
there and fails on a bare Debian 12 (`hwloc.h: No such file or directory`). Two checks that fail
on such an order without needing a bare machine:

- stub tools on PATH: `dpkg-query` says every package is missing, `apt-get` records that the
  install ran, and `gcc`/`g++`/`ar` record each call and whether the install had run before it.
  Real targets run with -j1 and -j2 into a private BUILD; nothing is installed or compiled.
- `make -n` (serial and -j2) for every target, including those that write to fixed build/
  folders (fuzz, tsan) and so cannot run with stubs: the package check's recipe is printed
  before the first compiler command.
"""
import os
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPILERS = ("gcc", "g++", "clang", "clang++", "ar")


def write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU)


@pytest.fixture
def stubs(tmp_path):
    """A bin/ folder of stub tools and the log they append to."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls.log"
    log.write_text("")
    # dpkg-query: every package missing (no "ii" line), so deps calls apt-get.
    write_exe(bindir / "dpkg-query", "#!/bin/sh\nexit 1\n")
    write_exe(bindir / "apt-get", f'#!/bin/sh\necho "apt-get $*" >> "{log}"\nexit 0\n')
    write_exe(bindir / "sudo", '#!/bin/sh\nexec "$@"\n')
    for tool in COMPILERS:
        # Records the call; "EARLY" when apt-get install has not run yet. Makes the -o output
        # (an executable that exits 0, so recipes that run the binary go on).
        write_exe(bindir / tool, f"""#!/bin/sh
if grep -q '^apt-get .*install' "{log}"; then echo "{tool} after-deps" >> "{log}";
else echo "{tool} EARLY" >> "{log}"; fi
out=""; prev=""
for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done
[ "$1" = "rcs" ] && out="$2"
if [ -n "$out" ]; then mkdir -p "$(dirname "$out")"; printf '#!/bin/sh\\nexit 0\\n' > "$out";
  chmod +x "$out"; fi
exit 0
""")
    return bindir, log


def run_make(bindir, build, jobs, *targets):
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    env.pop("MAKELEVEL", None)
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    return subprocess.run(["make", "-C", ROOT, "--no-print-directory", f"-j{jobs}",
                           f"BUILD={build}", f"RESULTS={build}/results", "RUN=fresh",
                           f"DESTDIR={build}/dest", *targets],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("jobs", [1, 2])
# Targets whose every output goes below BUILD, RESULTS or DESTDIR (all private here). Not
# `schema`: it writes harness/io/schema.tsv in the tree, which a stub binary would empty; the dry
# run below covers it.
@pytest.mark.parametrize("target", ["all", "bench", "test-c", "install"])
def test_package_check_runs_before_any_compile(stubs, tmp_path, target, jobs):
    bindir, log = stubs
    before = git_status()
    build = tmp_path / "build"
    run_make(bindir, build, jobs, target)  # exit status is beside the point: stubs, no plot
    calls = log.read_text().splitlines()
    assert any(c.startswith("apt-get") and "install" in c for c in calls), calls
    compiles = [c for c in calls if c.split()[0] in COMPILERS]
    assert compiles, f"make {target} compiled nothing: {calls}"
    early = [c for c in compiles if c.endswith("EARLY")]
    assert not early, f"make -j{jobs} {target}: {len(early)} compiles before the package check"
    assert git_status() == before, f"make {target} with stub tools changed the tree"


def git_status():
    return subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True,
                          text=True, timeout=60).stdout


TARGETS = ["all", "bench", "bench-pr", "plot", "test", "test-c", "test-codegen", "test-py",
           "test-slurm", "sanitize", "fuzz", "tsan", "schema", "install", "examples",
           "compare-colpack", "format-check", "man", "completion"]


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("target", TARGETS)
def test_dry_run_prints_the_package_check_first(tmp_path, target, jobs):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    build = tmp_path / "build"
    r = subprocess.run(["make", "-n", "-C", ROOT, "--no-print-directory", f"-j{jobs}",
                        f"BUILD={build}", f"RESULTS={build}/results", target],
                       env=env, capture_output=True, text=True, timeout=300)
    lines = r.stdout.splitlines()
    check = next((i for i, line in enumerate(lines) if "dpkg-query" in line), None)
    assert check is not None, f"make -n {target} never checks the packages:\n{r.stdout[:2000]}"
    tools = ("gcc ", "g++ ", "clang ", "clang++ ", "clang-format ", "build/", str(build),
             "/usr/bin/python3 ")
    first = next((i for i, line in enumerate(lines) if line.lstrip().startswith(tools)), None)
    if first is not None:
        assert check < first, f"make -j{jobs} -n {target}: '{lines[first]}' comes before the check"
