"""Documentation that cannot go stale (issue 23, item 4).

Every command shown in README.md and docs/**/*.md is run, and what the text says it prints is
checked. The conventions a writer follows are in docs/doc-tests.md; in short:

* A fenced block names its language. ```sh blocks are commands: every one is run, in order, in
  one scratch directory per Markdown file (so a later block may read what an earlier one wrote).
  ```text blocks are output or other text; ```c, ```tsv, ```csv, ```json, ```python are shown,
  not run.
* A ```sh block whose first line is `# not run by the doc test: REASON` is not run (a Slurm
  submission, `make test`, an install into /usr/local, a measurement that takes minutes); the
  reason is visible to readers, and the count of such blocks is printed at the end of the run.
* Each command must exit 0, or with a status its trailing comment names:
  `# ... exit status 2` or `# ... exit status 0 or 1`.
* A ```text block right after a ```sh block (blank lines between are allowed) is the output of
  that block's LAST command (stdout and stderr as one stream). ```text exact: every line must
  equal the output's (runs of blanks count as one). Otherwise the block is a real output pasted
  from a run: its lines must appear in that order in the output after both are normalised
  (numbers, durations, ratios and paths become placeholders, warning lines are dropped, extra
  lines in the output are allowed), so the check fails when a line's wording or layout changes,
  not when a timing does.
* A file a command writes with `-o`, `--out` or `--json` must exist afterwards.
* A table whose header is `| input | message |` lists bad inputs: every row whose input is a
  runnable argument list (it starts with `-`) or an environment assignment (`VAR=value`) is run
  and must exit 2 with exactly `diagbench: MESSAGE` as its last stderr line.

Before a command runs, SUBSTITUTIONS (below) make it small: the doc shows the real command, the
test runs a small one with the same flags. Also: every relative link (and #anchor) in the docs
resolves, no section is referred to by its name in italics (a link is used instead), README.md has
at most 300 lines.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("DIAGBENCH", ROOT / "build" / "diagbench")).resolve()
README_MAX_LINES = 300
COMMAND_TIMEOUT_S = 90

LANGUAGES = {"sh", "text", "c", "tsv", "csv", "json", "python"}
NOT_RUN = re.compile(r"#\s*not run by the doc test:\s*(.*)$", re.M)
EXIT_STATUS = re.compile(r"#.*\bexit status ((?:\d+)(?:\s*(?:or|,)\s*\d+)*)")


def doc_files():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    return [f for f in files if f.is_file()]


def rel(path):
    return str(path.relative_to(ROOT))


# --------------------------------------------------------------------------------------------
# Markdown: fenced blocks

FENCE = re.compile(r"^(\s*)(`{3,})(.*)$")


class Block:
    def __init__(self, file, line, lang, info, text, after_sh):
        self.file, self.line, self.lang, self.info = file, line, lang, info
        self.text = text  # dedented content
        self.after_sh = after_sh  # the sh Block this block directly follows, or None


def fenced_blocks(path):
    """Every fenced block of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks, i, previous, gap_only_blank = [], 0, None, False
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                gap_only_blank = False
            i += 1
            continue
        indent, ticks, info = m.group(1), m.group(2), m.group(3).strip()
        start = i
        body = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(ticks)
                                      and lines[i].strip().strip("`") == ""):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        words = info.split()
        lang = words[0] if words else ""
        follows = previous if (previous is not None and previous.lang == "sh"
                               and gap_only_blank) else None
        block = Block(path, start + 1, lang, words[1:], "\n".join(body), follows)
        blocks.append(block)
        previous, gap_only_blank = block, True
    return blocks


def outside_code(text):
    """The Markdown text with fenced blocks and inline code blanked out."""
    out, fence = [], None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if m:
            fence = None if fence else m.group(2)
            out.append("")
            continue
        out.append("" if fence else re.sub(r"`[^`]*`", "``", line))
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Commands: splitting a block, substitutions

def commands_of(block):
    """The top-level commands of a sh block: continuation lines joined, a for/while/if ...
    done/fi construct kept whole, comment-only lines dropped. Yields (line offset, text)."""
    cmds, current, depth, first = [], [], 0, 0
    for k, line in enumerate(block.text.split("\n")):
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if not current:
            first = k
        current.append(line)
        words = re.findall(r"[\w]+", re.sub(r"#.*", "", stripped))
        for w in words[:1] + [w for w in words[1:] if w in ("done", "fi", "esac")]:
            if w in ("for", "while", "until", "if", "case"):
                depth += 1
            elif w in ("done", "fi", "esac"):
                depth -= 1
        if stripped.endswith("\\") or depth > 0:
            continue
        cmds.append((first, "\n".join(current)))
        current = []
    assert not current, f"{rel(block.file)}:{block.line}: unterminated command in a sh block"
    return cmds


def expected_statuses(command):
    m = EXIT_STATUS.search(command)
    return {int(s) for s in re.findall(r"\d+", m.group(1))} if m else {0}


def small_size(n):
    # sizes above 1000 shrink to 1000 + n/1000 (4000 -> 1004, 10**6 -> 2000): still distinct,
    # still ordered, each cell milliseconds
    return n if n <= 1000 else 1000 + n // 1000


def shrink_sizes(spec):
    out = []
    for item in spec.split(","):
        parts = item.split(":")
        if parts[0].isdigit():
            parts[0] = str(small_size(int(parts[0])))
        if len(parts) > 1 and parts[1].isdigit():
            hi = small_size(int(parts[1]))
            parts[1] = str(hi if hi > int(parts[0]) else int(parts[0]) + 1)
        out.append(":".join(parts))
    return ",".join(out)


def comment_start(text):
    """Where a shell comment starts in one line of text (len(text) if none): a # after a blank,
    outside quotes."""
    quote = None
    for k, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or text[k - 1].isspace()):
            return k
    return len(text)


def shrink_run(segment):
    """A diagbench run (or scripts/ab.sh's ARGS) made small; see SUBSTITUTIONS."""
    at = comment_start(segment)
    body = segment[:at].rstrip()
    tail = segment[len(body):]  # the blanks before a separator, or before a comment and it
    segment = body
    segment = re.sub(r"(\s(?:-n|--sizes)[\s=])(\S+)",
                     lambda m: m.group(1) + shrink_sizes(m.group(2)), segment)
    segment = re.sub(r"(\s--reps[\s=])(\d+)",
                     lambda m: m.group(1) + str(min(int(m.group(2)), 3)), segment)
    if re.search(r"\s(?:-n|--sizes)[\s=]", segment) and "--min-time" not in segment:
        segment = segment.rstrip() + " --min-time 0.001"
    if re.search(r"\s--matrix[\s=]", segment) and "--shard" not in segment:
        segment = segment.rstrip() + " --shard 10000/10000"
    return segment + tail


SEPARATORS = re.compile(r"(\|\||&&|[|;\n])")
ASSIGNMENT = re.compile(r"^(?:[A-Za-z_]\w*=(?:'[^']*'|\"[^\"]*\"|\S*)\s+)*")


def program_of(segment):
    rest = ASSIGNMENT.sub("", segment.strip())
    rest = re.sub(r"^(?:do|then|else)\s+", "", rest)
    words = rest.split()
    return (words[0], words[1] if len(words) > 1 else "") if words else ("", "")


def substitute(command):
    """Apply SUBSTITUTIONS to one command; returns the command the test runs."""
    command = re.sub(r"\\\n\s*", " ", command)  # continuation lines: one line
    for pattern, replacement, _why in LITERAL_SUBSTITUTIONS:
        command = re.sub(pattern, replacement, command)
    pieces = SEPARATORS.split(command)
    for k in range(0, len(pieces), 2):
        prog, sub = program_of(pieces[k])
        name = os.path.basename(prog)
        if name == "diagbench" and sub not in ("compare", "merge"):
            pieces[k] = shrink_run(pieces[k])
        elif name == "ab.sh":
            pieces[k] = re.sub(r"(\s-r\s+)\d+", r"\g<1>4", shrink_run(pieces[k]))
    return "".join(pieces)


# The substitution table (docs/doc-tests.md repeats it for readers). The binary: the scratch
# directory has `diagbench` on PATH and build/diagbench, old/build/diagbench and
# new/build/diagbench as links to the binary under test ($DIAGBENCH, else build/diagbench).
LITERAL_SUBSTITUTIONS = [
    (r"(?m)^(\s*)make bench\s*$",
     r"\1DIAGBENCH_WISDOM=results/wisdom.tsv"
     r" diagbench -w sin,split -s materialise,probe -j fwd -n 100,1000 -o results/latest.csv"
     r" && /usr/bin/python3 plot.py results/latest.csv -o results",
     "make bench runs the quick matrix (minutes): the same steps on 8 cells"),
    (r"\bfor (\w+) in (\d+)(?: \d+)*(?=\s*;?\s*(?:do\b|\n))",
     lambda m: f"for {m.group(1)} in " + " ".join(
         m.group(0).split(" in ")[1].split()[:4]),
     "a loop over run numbers keeps its first 4"),
]
SUBSTITUTIONS = [
    ("make bench", "a run of 8 cells into results/latest.csv, then plot.py on it"),
    # (with a wisdom file of its own, so that the README's first run plans as on a new machine)
    ("-n / --sizes above 1000", "1000 + n/1000 (4000 -> 1004, 40000 -> 1040, 10^6 -> 2000)"),
    ("--reps K above 3", "--reps 3"),
    ("a run with -n and no --min-time", "--min-time 0.001 appended"),
    ("--matrix NAME", "--shard 10000/10000 appended: an empty slice (flags checked, no cell)"),
    ("for i in 1 2 ... 10", "the first 4 numbers"),
    ("scripts/ab.sh -r K", "-r 4 (its least)"),
]


# --------------------------------------------------------------------------------------------
# Output shapes

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
UNIT = re.compile(r"#(?:\s?(?:ns|µs|us|ms|min|h|m|s|×|x|%)(?![A-Za-z]))?")
PATHLIKE = re.compile(r"(?:[\w.~+#-]*/)+[\w.+#-]*")


def shape(line):
    """A line with what varies between runs replaced; None for a line not compared."""
    if re.search(r"\bwarning\b", line) or not line.strip() or line.strip().startswith("[!]"):
        return None
    s = NUMBER.sub("#", line.replace(" [!]", ""))
    s = UNIT.sub("#", s)
    s = re.sub(r"#+", "#", s)
    s = PATHLIKE.sub("PATH", s)
    s = re.sub(r"\b(?:plain|streaming|stream)\b", "KIND", s)
    s = re.sub(r"(#\s+\w+?)s\b", r"\1", s)
    return " ".join(s.split())


def check_output(block, command, output):
    where = f"{rel(block.file)}:{block.line}"
    if "exact" in block.info:
        want = [" ".join(x.split()) for x in block.text.strip("\n").split("\n")]
        got = [" ".join(x.split()) for x in output.strip("\n").split("\n")]
        assert got == want, (f"{where}: the output of `{command}` differs from the exact text"
                             f"\n--- doc\n{block.text}\n--- real\n{output}")
        return
    want = [s for s in map(shape, block.text.split("\n")) if s]
    got = [s for s in map(shape, output.split("\n")) if s]
    k = 0
    for w in want:
        while k < len(got) and got[k] != w:
            k += 1
        assert k < len(got), (
            f"{where}: the output of `{command}` has no line shaped like\n    {w}\n"
            f"(after the lines before it). Paste the real output again:\n{output}")
        k += 1


# --------------------------------------------------------------------------------------------
# Running a file's commands

def scratch_for(tmp_path):
    for name in ("plot.py", "scripts", "harness", "examples", "tests", "workloads"):
        (tmp_path / name).symlink_to(ROOT / name)
    for d in ("bin", "build", "old/build", "new/build"):
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
        (tmp_path / d / "diagbench").symlink_to(BIN)
    c_worker = Path(BIN).resolve().parent / "c_worker"  # docs/workers.md's example worker
    if c_worker.exists():
        (tmp_path / "build" / "c_worker").symlink_to(c_worker)
    (tmp_path / "results").mkdir()
    env = dict(os.environ)
    env["PATH"] = f"{tmp_path / 'bin'}:{env.get('PATH', '')}"
    env["DIAGBENCH_WISDOM"] = str(tmp_path / "wisdom.tsv")
    env["LC_ALL"] = "C.UTF-8"
    for var in ("OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "OMP_THREAD_LIMIT",
                "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS"):
        env.pop(var, None)
    return env


def written_files(command):
    return re.findall(r"(?:^|\s)(?:-o|--out|--json)[\s=]+([^\s;&|]+)", command)


STATS = {"run": 0, "outputs": 0, "messages": 0, "not_run": []}


def run_file(path, tmp_path):
    env = scratch_for(tmp_path)
    blocks = fenced_blocks(path)
    last_output = {}
    for block in blocks:
        if block.lang != "sh":
            continue
        where = f"{rel(path)}:{block.line}"
        first = block.text.strip().split("\n")[0]
        reasons = NOT_RUN.findall(first)
        if reasons:
            assert all(r.strip() for r in reasons), f"{where}: 'not run' needs a reason"
            STATS["not_run"].append((where, reasons[0].strip()))
            continue
        for offset, command in commands_of(block):
            run = substitute(command)
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", run], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT_S)
            out = proc.stdout.decode("utf-8", "replace")
            STATS["run"] += 1
            allowed = expected_statuses(command)
            assert proc.returncode in allowed, (
                f"{rel(path)}:{block.line + 1 + offset}: `{command}` exited {proc.returncode}, "
                f"the doc expects {sorted(allowed)}\n(ran as: {run})\n{out[-3000:]}")
            if proc.returncode == 0:
                for f in [f for f in written_files(run) if not re.search(r"[$*?]", f)]:
                    assert (tmp_path / f).exists() or Path(f).exists(), (
                        f"{where}: `{command}` should have written {f}")
            last_output[id(block)] = (command, out)
    for block in blocks:
        if block.lang == "text" and block.after_sh is not None \
                and id(block.after_sh) in last_output:
            command, out = last_output[id(block.after_sh)]
            check_output(block, command, out)
            STATS["outputs"] += 1


@pytest.fixture(scope="module", autouse=True)
def binary():
    if not os.access(BIN, os.X_OK):
        pytest.skip(f"no binary at {BIN}: make build/diagbench, or set DIAGBENCH")


@pytest.mark.parametrize("path", doc_files(), ids=rel)
def test_commands(path, tmp_path):
    run_file(path, tmp_path)


# --------------------------------------------------------------------------------------------
# Bad-input tables

def table_rows(text, header):
    lines = text.split("\n")
    for k, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and [c.lower() for c in cells] == header:
            for row in lines[k + 2:]:
                if not row.startswith("|"):
                    break
                yield k + 1, row
            return


def message_cases():
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        for line, row in table_rows(text, ["input", "message"]):
            cells = [c.strip().replace("\\|", "|")
                     for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]
            whole = [re.fullmatch(r"`([^`]*)`", c) for c in cells[:2]]
            if len(cells) != 2 or not all(whole):
                continue  # described, not a command: "`--resume` of another matrix"
            given, message = whole[0].group(1), whole[1].group(1)
            if given.startswith("-") or re.match(r"^[A-Z_]+=\S+$", given):
                yield pytest.param(given, message, id=f"{rel(path)}:{given}")


@pytest.mark.parametrize("given,message", list(message_cases()))
def test_bad_input_messages(given, message, tmp_path):
    env = scratch_for(tmp_path)
    if given.startswith("-"):
        argv = [str(BIN)] + given.split()
    else:
        var, value = given.split("=", 1)
        env[var] = value
        argv = [str(BIN), "-w", "sin", "-s", "probe", "-n", "10"]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, timeout=30)
    last = proc.stderr.decode("utf-8", "replace").strip().split("\n")[-1]
    assert proc.returncode == 2 and last == f"diagbench: {message}", (
        f"`{given}`: exit {proc.returncode}, last stderr line\n    {last}\nthe doc says\n"
        f"    diagbench: {message}")
    assert proc.stdout == b"", "bad input writes nothing to stdout"
    STATS["messages"] += 1


def test_message_tables_are_found():
    assert len(list(message_cases())) >= 20, "the bad-input table of docs/reliability.md moved?"


# --------------------------------------------------------------------------------------------
# Structure: languages, links, section references, README length

def test_every_fence_names_a_known_language():
    bad = [f"{rel(b.file)}:{b.line}: '{b.lang}'" for f in doc_files() for b in fenced_blocks(f)
           if b.lang not in LANGUAGES]
    assert not bad, ("a fenced block must say what it is (```sh runs, ```text is output; see "
                     "docs/doc-tests.md): " + ", ".join(bad))


def slug(heading):
    """GitHub's anchor for a heading."""
    s = re.sub(r"[`*]", "", heading.strip().lower())
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    text = outside_code(path.read_text(encoding="utf-8"))
    raw = path.read_text(encoding="utf-8").split("\n")
    found, seen = set(), {}
    for k, line in enumerate(text.split("\n")):
        if re.match(r"^#{1,6} ", raw[k]) and line.startswith("#"):
            base = slug(raw[k].lstrip("#"))
            n = seen.get(base, 0)
            found.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
    return found


def test_relative_links_resolve():
    bad = []
    for path in doc_files() + [ROOT / "results" / "README.md",
                               ROOT / "examples" / "results" / "README.md"]:
        text = outside_code(path.read_text(encoding="utf-8"))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            if not dest.exists():
                bad.append(f"{rel(path)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                bad.append(f"{rel(path)}: {target} (no such section in {rel(dest)})")
    assert not bad, "broken links:\n" + "\n".join(bad)


def test_sections_are_linked_not_named():
    bad = []
    for path in doc_files():
        text = outside_code(path.read_text(encoding="utf-8"))
        for m in re.finditer(r"(?:\bsee\s+|\(|,\s+)\*[A-Z][^*]*\*(?!\*)", text):
            bad.append(f"{rel(path)}:{text[:m.start()].count(chr(10)) + 1}: {m.group(0)}")
    assert not bad, "refer to a section with a link, not by name:\n" + "\n".join(bad)


def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("\n")
    assert len(lines) - (lines[-1] == "") <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_substitution_table_is_documented():
    text = (ROOT / "docs" / "doc-tests.md").read_text(encoding="utf-8")
    for what, _ in SUBSTITUTIONS:
        assert what in text, f"docs/doc-tests.md does not list the substitution for '{what}'"


def test_substitutions_shrink():
    assert substitute("diagbench -w sin -n 100,4000,1000000 --reps 15") == \
        "diagbench -w sin -n 100,1004,2000 --reps 3 --min-time 0.001"
    assert substitute("diagbench --matrix pr --lu-max-n 8000") == \
        "diagbench --matrix pr --lu-max-n 8000 --shard 10000/10000"
    assert substitute("diagbench compare a.csv b.csv -n 5000") == \
        "diagbench compare a.csv b.csv -n 5000"
    assert substitute("diagbench --schema | head -n 3") == "diagbench --schema | head -n 3"
    assert substitute("diagbench -n 5000 -o a.csv   # the comment's") == \
        "diagbench -n 1005 -o a.csv --min-time 0.001   # the comment's"
    assert substitute("OMP_PLACES='{1}' diagbench -n 10:40000:geom:8").endswith(
        "-n 10:1040:geom:8 --min-time 0.001")
    assert substitute("for i in 1 2 3 4 5 6 7 8 9 10; do\n  x\ndone").startswith(
        "for i in 1 2 3 4; do")
    assert expected_statuses("diagbench -n 0   # exit status 2") == {2}
    assert expected_statuses("x  # CI: exit status 0 or 1") == {0, 1}


def test_output_shapes():
    a = "[ 3/8] t=2 bind=false places=unset sin jacobian fwd probe n=100: 58.5 ns (cv 0.6%)  ETA 8s"
    b = ("[ 13/80] t=4 bind=false places=unset sin jacobian fwd probe n=2000: 1.2 ms (cv 12%)"
         " ETA 1m2s")
    assert shape(a) == shape(b)
    assert shape(a) != shape(a.replace("ETA", "eta"))
    assert shape("  warning: cv 16.3% > 10%") is None
    assert shape("  sin jacobian fwd thr=2 n=1000 1.20× (plain/64, ceiling 9.1 GB/s) [!]") == \
        shape("  sin jacobian fwd thr=2 n=1000 0.60× (stream/256, ceiling 1.3 GB/s)")


def test_csv_columns_match_the_schema():
    """docs/csv.md's column table names exactly the columns `diagbench --schema` prints."""
    text = (ROOT / "docs" / "csv.md").read_text(encoding="utf-8")
    documented = []
    for _, row in table_rows(text, ["column", "meaning"]):
        documented += re.findall(r"`([a-z_0-9]+)`", row.split("|")[1])
    out = subprocess.run([str(BIN), "--schema"], capture_output=True, text=True, check=True)
    schema = [line.split("\t")[0] for line in out.stdout.splitlines() if line]
    assert len(schema) > 40
    assert set(documented) - set(schema) == set(), "docs/csv.md names columns that do not exist"
    assert set(schema) - set(documented) == set(), "docs/csv.md lacks these columns"
    assert len(documented) == len(set(documented)), "docs/csv.md names a column twice"
