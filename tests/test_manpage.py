"""The man pages and the bash completion agree with --help: every flag that `diagbench --help`,
`diagbench compare --help` and `diagbench merge --help` print is in the matching man page and in
the completion, and the completion offers the subcommands and --list's names.

Both are generated from the binary's own output (Makefile: man, completion; help2man and
scripts/gen_completion.py) into a private BUILD, so this checks the generators against the
binary under test, not a committed copy."""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIAGBENCH = os.environ.get("DIAGBENCH", os.path.join(ROOT, "build", "diagbench"))
PYTHON = "/usr/bin/python3"
FLAG = re.compile(r"(?<![\w/.-])(--?[A-Za-z][A-Za-z0-9_-]*)")


def out(*argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    if not os.access(DIAGBENCH, os.X_OK):
        pytest.fail(f"{DIAGBENCH} is missing: build it first")
    if not shutil.which("help2man"):
        pytest.skip("help2man is not installed (make deps installs it)")
    d = tmp_path_factory.mktemp("man")
    pages = {}
    for sub, name in ((None, "diagbench"), ("compare", "diagbench-compare"),
                      ("merge", "diagbench-merge")):
        page = d / f"{name}.1"
        opt = ["--help-option", f"{sub} --help"] if sub else []
        out("help2man", "-N", *opt, "-n", "test", "-o", str(page), DIAGBENCH)
        # the man source escapes '-' as '\-' and marks flags with \fB...\fR
        text = page.read_text()
        text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
        pages[sub] = text
    completion = out(PYTHON, os.path.join(ROOT, "scripts", "gen_completion.py"), DIAGBENCH)
    script = d / "diagbench.bash"
    script.write_text(completion)
    return pages, completion, script


@pytest.mark.parametrize("sub", [None, "compare", "merge"])
def test_every_help_flag_is_in_the_man_page_and_the_completion(generated, sub):
    pages, completion, _ = generated
    help_text = out(DIAGBENCH, *([sub] if sub else []), "--help")
    flags = set(FLAG.findall(help_text))
    assert len(flags) >= (20 if sub is None else 5), flags
    missing_man = sorted(f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])",
                                                           pages[sub]))
    assert not missing_man, f"not in the {sub or 'diagbench'} man page: {missing_man}"
    missing_comp = sorted(f for f in flags if f" {f} " not in f" {completion} ".replace('"', " "))
    assert not missing_comp, f"not in the completion: {missing_comp}"


def complete(script, *words):
    """COMPREPLY for the command line `words` (the last word is the one being completed)."""
    line = " ".join(f"'{w}'" for w in words)
    r = subprocess.run(["bash", "-c", f"source '{script}'; COMP_WORDS=({line}); "
                       f"COMP_CWORD={len(words) - 1}; _diagbench; printf '%s\\n' \"${{COMPREPLY[@]}}\""],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_completion_offers_subcommands_names_and_list_items(generated):
    _, _, script = generated
    assert complete(script, "diagbench", "") == ["compare", "merge"]
    workloads = [l.split()[0] for l in out(DIAGBENCH, "--list").split("operators:")[0]
                 .splitlines()[1:] if l.startswith("  ")]
    assert "sin" in workloads and set(workloads) <= set(complete(script, "diagbench", "-w", ""))
    assert complete(script, "diagbench", "-w", "sin,sp") == ["sin,split"]
    assert complete(script, "diagbench", "-j", "") == ["fwd", "bwd"]
    assert "quick" in complete(script, "diagbench", "--matrix", "")
    assert complete(script, "diagbench", "compare", "--fail-on") == ["--fail-on-regression"]
    assert complete(script, "diagbench", "compare", "--format", "") == ["md", "csv", "json"]
    assert "--out" in complete(script, "diagbench", "merge", "--o")


def test_make_install_installs_and_uninstall_removes_them(tmp_path):
    if not shutil.which("help2man"):
        pytest.skip("help2man is not installed (make deps installs it)")
    build = os.path.dirname(os.path.abspath(DIAGBENCH))
    dest = tmp_path / "dest"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    # MAKELEVEL=1: the package check already ran (this runs under make test); -o: the binary
    # under test is taken as built
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "MAKELEVEL=1",
                        f"BUILD={build}", "-o", f"{build}/diagbench", f"DESTDIR={dest}",
                        "PREFIX=/usr", "install"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for f in ("bin/diagbench", "share/man/man1/diagbench.1", "share/man/man1/diagbench-compare.1",
              "share/man/man1/diagbench-merge.1", "share/bash-completion/completions/diagbench"):
        assert (dest / "usr" / f).is_file(), f
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "MAKELEVEL=1",
                        f"BUILD={build}", f"DESTDIR={dest}", "PREFIX=/usr", "uninstall"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    left = [str(p) for p in dest.rglob("*") if p.is_file()]
    assert not left, left
