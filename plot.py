#!/usr/bin/python3
"""plot.py -- turn diagbench CSV results into figures and a Markdown summary.

Usage::

    /usr/bin/python3 plot.py CSV [CSV ...] [-o DIR] [--svg] [--format FMTS]
                             [--fit-from N] [--summary] [--report]
                             [--diagbench PATH]

Input is one or more CSV files written by ``build/diagbench`` (one header
line, one row per benchmark cell; the columns are those ``diagbench --schema``
prints, read from ``harness/io/schema.tsv`` beside this file).  The required
columns (up to ``git_rev``) must be present, in any order; the later schema
columns are read when present (``samples_s``, the per-repetition seconds,
``;``-separated, is optional even before the schema lists it), unknown
columns are ignored.  Several files are concatenated.  Rows whose
``workload`` starts with ``_`` (``_calibrate``) are calibration rows: left
out of figures and summary, listed as the machine's ceilings in the report.

A *series* is one (run_id, workload, operator, jac, strategy, threads,
proc_bind, places) combination; its points are the benchmarked sizes ``n``.

Outputs (``<stem>`` is the first CSV's file name without ``.csv``; PNG,
SVG on request): ``<stem>_headline`` (the figure to paste: materialise vs
probe on the seed's workloads, with the speedup beside it),
``<stem>_diagonal`` / ``_solve`` / ``_newton`` (small multiples per family),
``<stem>_speedup`` (compact grid) and ``<stem>_threads`` (several thread
configurations only); with ``--report`` also ``DIR/report.html``.  See
``--help`` for what each shows.

Statistics come from scipy.stats: slopes (linregress, Student t interval),
the median's distribution-free CI (binomial order statistics) and the
bootstrap interval of a speedup.  Numbers are written in the one format of
tests/number_format.tsv, which the terminal summary shares.

Bad input (missing/unreadable/empty file, missing column, foreign header,
malformed row, non-numeric value in an ok row, malformed samples_s, no ok
rows) gives one line ``plot.py: error: FILE: problem`` on stderr and exit
status 2.

The module is importable; the main entry points are :func:`load_csvs`,
:func:`fit_slope`, :func:`fit_series`, :func:`speedups`,
:func:`summary_markdown`, :func:`write_figures`, :func:`build_report` and
:func:`main`.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import math
import os
import stat
import re
import subprocess
import sys
import zlib
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

PROG = "plot.py"

# The invisible characters an error message escapes and names, as diagbench's messages do
# (core/fail.c, db_visible): controls, and the code points that render as nothing or a space or
# reorder the text around them.
_C0 = ("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "bell", "backspace", "tab", "line feed",
       "vertical tab", "form feed", "carriage return", "SO", "SI", "DLE", "DC1", "DC2", "DC3",
       "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "escape", "FS", "GS", "RS", "US")
_INVISIBLE = ((0x7F, 0x7F, "delete"), (0x80, 0x9F, "C1 control"), (0xA0, 0xA0, "no-break space"),
              (0xAD, 0xAD, "soft hyphen"), (0x200B, 0x200B, "zero-width space"),
              (0x200C, 0x200D, "zero-width joiner"), (0x200E, 0x200F, "direction mark"),
              (0x2028, 0x2029, "line or paragraph separator"),
              (0x202A, 0x202E, "bidirectional override"), (0x2060, 0x2060, "word joiner"),
              (0x2066, 0x2069, "bidirectional isolate"), (0xFEFF, 0xFEFF, "byte order mark"),
              (0xDC80, 0xDCFF, "not UTF-8"))


def visible(msg: str) -> str:
    """One visible line: each invisible character escaped (\\x0a, \\u{200B}; a byte that was not
    UTF-8, read as a surrogate escape, as \\xNN) and named at the end."""
    out, named = [], {}
    for ch in msg:
        c = ord(ch)
        name = _C0[c] if c < 0x20 else next(
            (n for lo, hi, n in _INVISIBLE if lo <= c <= hi), None)
        if name is None:
            out.append(ch)
            continue
        esc = (f"\\x{c - 0xDC00:02x}" if c >= 0xDC80 and c <= 0xDCFF
               else f"\\x{c:02x}" if c < 0x80 else f"\\u{{{c:04X}}}")
        out.append(esc)
        named.setdefault(esc, name)
    if not named:
        return msg
    shown = list(named.items())[:4]
    more = ", and others" if len(named) > 4 else ""
    return "".join(out) + " [shown escaped:" + ",".join(
        f" {e} is {n}" for e, n in shown) + more + "]"


class PlotError(Exception):
    """A user-facing problem with the input or output (exit code 2)."""


#: The diagbench CSV columns, in order: ``diagbench --schema`` as committed by
#: ``make schema`` (tests/test_schema.c keeps the file equal to the binary's
#: output).  It lives in the repository beside this file.
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "harness", "io", "schema.tsv")
SCHEMA_KINDS = ("text", "integer", "number")


def read_schema(path: str = SCHEMA_FILE) -> list[tuple[str, str, str]]:
    """The columns ``diagbench --schema`` printed: (name, kind, description)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise PlotError(f"{path}: cannot read the diagbench column list: "
                        f"{e.strerror or e}") from None
    columns = []
    for i, line in enumerate(lines, 1):
        fields = line.split("\t")
        if len(fields) != 3 or fields[1] not in SCHEMA_KINDS or not fields[0]:
            raise PlotError(f"{path}: line {i}: not a column (name, kind, "
                            "description, tab-separated): run 'make schema'")
        columns.append((fields[0], fields[1], fields[2]))
    names = [c[0] for c in columns]
    if "git_rev" not in names or len(set(names)) != len(names):
        raise PlotError(f"{path}: not the diagbench column list: run "
                        "'make schema'")
    return columns


try:
    SCHEMA = read_schema()
except PlotError as _e:
    if __name__ == "__main__":
        print(f"{PROG}: error: {visible(str(_e))}", file=sys.stderr)
        sys.exit(2)
    raise

#: Kind of each column: text, integer or number.
COLUMN_KIND = {name: kind for name, kind, _ in SCHEMA}

#: Columns every diagbench CSV must have: the schema's first columns, up to
#: ``git_rev`` (the later ones were appended over time; plot.py ignores them).
REQUIRED_COLUMNS = [name for name, _, _ in SCHEMA]
REQUIRED_COLUMNS = REQUIRED_COLUMNS[:REQUIRED_COLUMNS.index("git_rev") + 1]

#: Columns read when a file has them (later additions to the schema; older
#: files lack them): kept as text, with ``write_ceiling_s`` parsed as a number
#: and ``samples_s`` (per-repetition seconds, ';'-separated) as a tuple.
OPTIONAL_COLUMNS = [name for name, _, _ in SCHEMA
                    if name not in REQUIRED_COLUMNS]
if "samples_s" not in OPTIONAL_COLUMNS:   # until the schema lists it
    OPTIONAL_COLUMNS.append("samples_s")

#: Provenance columns shown in the report (those a file has).
PROVENANCE_COLUMNS = ["git_rev", "matrix_id", "cpu_model", "host", "compiler",
                      "threads", "proc_bind", "places", "omp_wait_policy",
                      "binding", "hwloc_version", "openblas_config",
                      "cpu_governor", "matrix"]

#: Columns that identify a series (``threads`` is an int, the rest strings).
KEY_COLUMNS = ["run_id", "workload", "operator", "jac", "strategy",
               "threads", "proc_bind", "places"]

#: Keys on which a strategy is matched against ``materialise`` for speedups.
MATCH_COLUMNS = ["run_id", "workload", "operator", "jac", "threads",
                 "proc_bind", "places"]

#: Timing columns that must be positive finite numbers in ``ok`` rows.
TIME_COLUMNS = ["time_median_s", "time_min_s", "time_max_s"]

#: Other numeric columns: may be empty, but must parse if given in ok rows
#: (the measurements: the required numeric columns but n and threads).
OTHER_NUMERIC_COLUMNS = [c for c in REQUIRED_COLUMNS
                         if COLUMN_KIND[c] != "text"
                         and c not in ("n", "threads") + tuple(TIME_COLUMNS)]

#: Known non-ok statuses, in drawing order, with their marker shapes.
#: Any other (future) status is accepted and drawn with OTHER_STATUS_MARKER.
STATUS_MARKERS = {
    "unsupported": "x",
    "skipped_memory": "v",
    "skipped_budget": ">",
    "error": "*",
}
OTHER_STATUS_MARKER = "1"

BASELINE = "materialise"
OPERATOR_ORDER = ["jacobian", "function", "matrix", "diagonal", "tridiagonal"]
JAC_ORDER = ["fwd", "bwd", "none", ""]
STRATEGY_ORDER = ["materialise", "probe"]
LINE_MARKERS = ["o", "s", "^", "D", "P", "h", "p", "d", "<", "8"]
LINE_STYLES = ["-", "--", ":", "-."]
DEFAULT_FORMATS = "png"
ALLOWED_FORMATS = ("png", "svg", "pdf")


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

def _scipy_stats():
    """scipy.stats (Debian python3-scipy), imported on first use: it takes
    seconds to import, and bad input or --help need none of it."""
    from scipy import stats
    return stats


def fit_slope(n: Iterable[float], t: Iterable[float],
              level: float = 0.95) -> tuple[float, float]:
    """OLS slope of log(t) vs log(n) and the half-width of its CI.

    Returns ``(slope, halfwidth)`` where the interval is
    ``slope +- halfwidth`` at confidence ``level`` (Student t with k - 2
    degrees of freedom, k = number of points).

    * fewer than 2 points, or all ``n`` equal: ``(nan, nan)``;
    * exactly 2 points: the exact slope and ``halfwidth = nan`` (a line
      through two points has no residual degrees of freedom, so no interval);
    * a perfect power law with k > 2 points: ``halfwidth == 0``.

    Raises ``ValueError`` for non-positive or non-finite inputs or
    mismatched lengths.
    """
    stats = _scipy_stats()
    x = np.asarray(list(n), dtype=float)
    y = np.asarray(list(t), dtype=float)
    if x.shape != y.shape:
        raise ValueError("n and t must have the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("n and t must be finite")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("n and t must be positive for a log-log fit")
    k = x.size
    if k < 2 or np.unique(x).size < 2:
        return math.nan, math.nan
    fit = stats.linregress(np.log(x), np.log(y))
    if k == 2:
        return float(fit.slope), math.nan
    # t quantile with k - 2 degrees of freedom times the slope's standard error
    return (float(fit.slope),
            float(stats.t.ppf(0.5 + level / 2.0, k - 2) * fit.stderr))


def fit_series(n: Sequence[float], t: Sequence[float],
               fit_from: float) -> dict:
    """Fit one series' ok points, applying the ``--fit-from`` rule.

    Uses the sizes ``n >= fit_from``; if fewer than two distinct sizes
    qualify, falls back to all sizes and sets ``all_n``.  Returns a dict with
    ``slope``, ``halfwidth`` (nan when undefined), ``all_n`` (bool) and
    ``points`` (number of sizes used).
    """
    n = np.asarray(n, dtype=float)
    t = np.asarray(t, dtype=float)
    sel = n >= fit_from
    all_n = False
    if np.unique(n[sel]).size < 2:
        sel = np.ones_like(n, dtype=bool)
        all_n = True
    if np.unique(n[sel]).size < 2:
        return {"slope": math.nan, "halfwidth": math.nan, "all_n": all_n,
                "points": int(np.unique(n).size)}
    slope, hw = fit_slope(n[sel], t[sel])
    return {"slope": slope, "halfwidth": hw, "all_n": all_n,
            "points": int(np.unique(n[sel]).size)}


def format_slope(slope: float, halfwidth: float, sizes: int) -> str:
    """A fitted slope in the one number format (tests/number_format.tsv):
    ``1.98 ± 0.03 (5 sizes)``, ``1.00 (2 sizes, no CI)``, ``- (1 size)``."""
    count = format_count(sizes, "size")
    if sizes < 2 or not math.isfinite(slope):
        return f"- ({count})"
    if sizes == 2:
        return f"{slope:.2f} (2 sizes, no CI)"
    if math.isfinite(halfwidth):
        return f"{slope:.2f} ± {halfwidth:.2f} ({count})"
    return f"{slope:.2f} ({count})"


def slope_text(fit: dict) -> str:
    """A :func:`fit_series` result: :func:`format_slope`, then ``[all n]``
    when fewer than two sizes reached --fit-from and all sizes were used."""
    text = format_slope(fit["slope"], fit["halfwidth"], fit["points"])
    if fit["all_n"] and math.isfinite(fit["slope"]):
        return text + " [all n]"
    return text


def format_count(k: int, noun: str) -> str:
    """``1 cell``, ``2 cells``, ``0 sizes`` (tests/number_format.tsv)."""
    return f"{k} {noun}{'' if k == 1 else 's'}"


def format_number3(x: float) -> str:
    """A positive number with at least 3 significant digits whatever its size:
    ``4,700``, ``12.3``, ``8.00``, ``0.500``, ``0.000213``; ``-`` when not
    finite or not positive (tests/number_format.tsv)."""
    if not (math.isfinite(x) and x > 0):
        return "-"
    if x >= 99.95:
        return f"{x:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(x)))
    return f"{x:.{decimals}f}"


def format_ratio(x: float) -> str:
    """A ratio such as a speedup: ``2,212×``, ``12.3×``, ``0.500×``,
    ``0.000213×``; ``-`` when not finite or not positive
    (tests/number_format.tsv)."""
    text = format_number3(x)
    return text if text == "-" else f"{text}×"


def format_time(seconds: float) -> str:
    """Seconds with 3 significant digits in s, ms, µs or ns, e.g. ``12.3 ms``;
    ``-`` when not finite (tests/number_format.tsv)."""
    if not math.isfinite(seconds):
        return "-"
    for unit, scale in (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)):
        text = f"{seconds / scale:.3g}"
        if abs(float(text)) < 1000 or unit == "s":
            return f"{text} {unit}"
    raise AssertionError("unreachable")


def median_ci(samples: Sequence[float], level: float = 0.95
              ) -> tuple[float, float, float]:
    """Distribution-free confidence interval of the median from order
    statistics: ``(lo, hi, coverage)``.

    The interval is [x_(j), x_(k+1-j)] with the largest j whose coverage
    P(j <= B < k+1-j), B ~ Binomial(k, 1/2), is at least ``level``.  With
    fewer than 6 samples no such j exists (min-max covers 1 - 2^(1-k) < 95 %):
    then the interval is min-max and ``coverage`` says how much it covers.
    Fewer than 2 samples: ``(nan, nan, nan)``.
    """
    stats = _scipy_stats()
    x = np.sort(np.asarray(samples, dtype=float))
    k = x.size
    if k < 2:
        return math.nan, math.nan, math.nan
    best = 1
    for j in range(1, k // 2 + 1):
        if stats.binom.cdf(k - j, k, 0.5) - stats.binom.cdf(j - 1, k, 0.5) >= level:
            best = j
        else:
            break
    cover = stats.binom.cdf(k - best, k, 0.5) - stats.binom.cdf(best - 1, k, 0.5)
    return float(x[best - 1]), float(x[k - best]), float(cover)


def ratio_ci(base: Sequence[float], new: Sequence[float], level: float = 0.95,
             resamples: int = 999) -> tuple[float, float]:
    """Percentile bootstrap interval of median(base) / median(new) (a speedup
    of ``new`` over ``base``), resampling each side independently with a
    fixed seed so that figures are reproducible.  ``(nan, nan)`` when either
    side has fewer than 2 samples."""
    stats = _scipy_stats()
    a = np.asarray(base, dtype=float)
    b = np.asarray(new, dtype=float)
    if a.size < 2 or b.size < 2:
        return math.nan, math.nan
    if np.ptp(a) == 0 and np.ptp(b) == 0:      # no spread: the ratio is exact
        r = float(a[0] / b[0])
        return r, r

    def ratio(x, y, axis=-1):
        return np.median(x, axis=axis) / np.median(y, axis=axis)

    res = stats.bootstrap((a, b), ratio, vectorized=True, paired=False,
                          confidence_level=level, n_resamples=resamples,
                          method="percentile",
                          random_state=np.random.default_rng(20261129))
    return (float(res.confidence_interval.low),
            float(res.confidence_interval.high))


# --------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------

def _q(value: str) -> str:
    """Quote a cell value for an error message (one line, bounded length)."""
    value = value if len(value) <= 40 else value[:37] + "..."
    return f"'{value}'"  # its invisible characters are escaped and named by visible()


def _read_records(path: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Read a CSV file: header, records, and the line number of each record."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlotError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PlotError(f"{path}: is a directory, not a CSV file") from None
    except PermissionError:
        raise PlotError(f"{path}: permission denied") from None
    except OSError as e:
        raise PlotError(f"{path}: cannot open: {e.strerror or e}") from None
    records, lines = [], []
    with f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader, None)
            for rec in reader:
                if not rec:          # blank line
                    continue
                records.append(rec)
                lines.append(reader.line_num)
        except UnicodeDecodeError:
            raise PlotError(f"{path}: not a UTF-8 text file") from None
        except csv.Error as e:
            raise PlotError(f"{path}: line {reader.line_num}: "
                            f"malformed CSV ({e})") from None
        except OSError as e:
            raise PlotError(f"{path}: cannot read: {e.strerror or e}") from None
    if header is None or not any(h.strip() for h in header):
        raise PlotError(f"{path}: file is empty (no header line)")
    return [h.strip() for h in header], records, lines


def _check_header(path: str, header: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if len(missing) > len(REQUIRED_COLUMNS) // 2:
        shown = ",".join(header)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise PlotError(f"{path}: not a diagbench CSV: header '{shown}' "
                        f"lacks {len(missing)} of the "
                        f"{len(REQUIRED_COLUMNS)} required columns "
                        f"(e.g. {', '.join(missing[:3])})")
    if missing:
        raise PlotError(f"{path}: missing required column"
                        f"{'s' if len(missing) > 1 else ''}: "
                        + ", ".join(missing))
    for c in REQUIRED_COLUMNS:
        if header.count(c) > 1:
            raise PlotError(f"{path}: column {c} appears more than once "
                            "in the header")


def _parse_float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _read_one(path: str) -> pd.DataFrame:
    """Read and validate one CSV; returns typed rows (calibration excluded)."""
    header, records, lines = _read_records(path)
    _check_header(path, header)
    width = len(header)
    for rec, line in zip(records, lines):
        if len(rec) != width:
            raise PlotError(f"{path}: line {line}: expected {width} fields "
                            f"(as in the header), found {len(rec)}")
        if [c.strip() for c in rec] == header:
            raise PlotError(f"{path}: line {line}: repeated header line "
                            "(concatenated CSVs? pass them as separate "
                            "arguments)")
    idx = {c: header.index(c) for c in REQUIRED_COLUMNS}
    idx.update({c: header.index(c) for c in OPTIONAL_COLUMNS if c in header})
    raw = pd.DataFrame({c: [rec[idx[c]].strip() if c in idx else ""
                            for rec in records]
                        for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS},
                       dtype=object)
    raw["source"] = path
    raw["line"] = lines

    def fail(i: int, msg: str) -> None:
        raise PlotError(f"{path}: line {raw['line'].iat[i]}: {msg}")

    for i, s in enumerate(raw["status"]):
        if not s:
            fail(i, "empty status")
    calib = raw[raw["workload"].str.startswith("_")].reset_index(drop=True)
    raw = raw[~raw["workload"].str.startswith("_")].reset_index(drop=True)
    ok = (raw["status"] == "ok").to_numpy()
    out = raw.copy()

    # Cell coordinates: positive integers when given; required in ok rows.
    for col in ("n", "threads"):
        vals = np.full(len(raw), np.nan)
        for i, s in enumerate(raw[col]):
            if s == "":
                if ok[i]:
                    fail(i, f"column {col} is empty in an 'ok' row")
                continue
            v = _parse_float(s)
            if v is None or not math.isfinite(v) or v < 1 or v != int(v):
                fail(i, f"column {col}: {_q(s)} is not a positive integer")
            vals[i] = v
        out[col] = vals
    # threads is an int key; 0 stands for "not recorded" (non-ok rows only).
    out["threads"] = np.nan_to_num(out["threads"].to_numpy(), nan=0.0
                                   ).astype(np.int64)

    for col in TIME_COLUMNS + OTHER_NUMERIC_COLUMNS:
        vals = np.full(len(raw), np.nan)
        for i, s in enumerate(raw[col]):
            if not ok[i]:
                continue  # numeric fields of non-ok rows are empty/ignored
            if s == "":
                if col in TIME_COLUMNS:
                    fail(i, f"column {col} is empty in an 'ok' row")
                continue
            v = _parse_float(s)
            if v is None:
                fail(i, f"column {col}: {_q(s)} is not a number")
            if col in TIME_COLUMNS and not (math.isfinite(v) and v > 0):
                fail(i, f"column {col}: {_q(s)} is not a positive "
                        "finite time")
            vals[i] = v
        out[col] = vals

    ceil = np.full(len(raw), np.nan)
    samples: list = [()] * len(raw)
    for i, (c, s) in enumerate(zip(raw["write_ceiling_s"], raw["samples_s"])):
        if not ok[i]:
            continue
        if c:
            v = _parse_float(c)
            if v is None or not v > 0 or not math.isfinite(v):
                fail(i, f"column write_ceiling_s: {_q(c)} is not a positive "
                        "finite time")
            ceil[i] = v
        if s:
            vals = [_parse_float(x) for x in s.split(";")]
            if any(v is None or not math.isfinite(v) or v <= 0 for v in vals):
                fail(i, f"column samples_s: {_q(s)} is not a ';'-separated "
                        "list of positive finite times")
            samples[i] = tuple(vals)
    out["write_ceiling_s"] = ceil
    out["samples"] = samples
    # The uncertainty band of each ok cell: the median's 95 % CI from the
    # samples when there are any, else the fastest and slowest repetition.
    lo = out["time_min_s"].to_numpy(dtype=float, copy=True)
    hi = out["time_max_s"].to_numpy(dtype=float, copy=True)
    from_samples = np.zeros(len(raw), dtype=bool)
    for i, s in enumerate(samples):
        if len(s) >= 2:
            lo[i], hi[i], _ = median_ci(s)
            from_samples[i] = True
    out["band_lo"], out["band_hi"], out["band_from_samples"] = lo, hi, from_samples
    out.attrs["calibration"] = calib.drop(columns=["samples_s"]).to_dict(
        "records")
    return out


def load_csvs(paths: Sequence[str]) -> pd.DataFrame:
    """Load, validate and concatenate diagbench CSV files.

    Returns one DataFrame with the required columns (``n`` and the numeric
    measurement columns as float, ``threads`` as int, everything else as
    str) plus ``source`` (file) and ``line`` (line number).  Calibration rows
    (workload starting with ``_``) are dropped.  If the same cell (series key
    and n) occurs more than once, the last occurrence wins and
    ``df.attrs["duplicates"]`` counts the rows dropped.

    Raises :class:`PlotError` (one-line message naming the file) for a
    missing/unreadable/empty file, a missing required column, a header that
    is not diagbench's, a malformed row, a bad number in an ``ok`` row, or
    when no ``ok`` rows remain at all.
    """
    if not paths:
        raise PlotError("no CSV files given")
    frames = [_read_one(p) for p in paths]
    calib = [r for f in frames for r in f.attrs.pop("calibration")]
    df = pd.concat(frames, ignore_index=True)
    if not (df["status"] == "ok").any():
        raise PlotError(f"{', '.join(paths)}: no rows with status 'ok' "
                        "(calibration rows excluded); nothing to plot")
    has_n = df["n"].notna()
    dup = has_n & df.duplicated(subset=KEY_COLUMNS + ["n"], keep="last")
    df = df[~dup].reset_index(drop=True)
    df.attrs["duplicates"] = int(dup.sum())
    df.attrs["calibration"] = calib
    df.attrs["sources"] = list(paths)
    return df


# --------------------------------------------------------------------------
# Series helpers
# --------------------------------------------------------------------------

def _rank(order: list[str], value: str) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), value)


class _Context:
    """Orderings, colours and label rules shared by all figures of a run."""

    def __init__(self, df: pd.DataFrame):
        self.workloads = list(dict.fromkeys(df["workload"]))
        self.runs = list(dict.fromkeys(df["run_id"]))
        known = df[df["threads"] > 0]   # threads 0 = not recorded
        self.varying = {c: known[c].nunique() > 1
                        for c in ("run_id", "threads", "proc_bind", "places")}
        cfgs = df[["threads", "proc_bind", "places"]].drop_duplicates()
        self.configs = sorted(((int(t), b, p) for t, b, p in
                               cfgs.itertuples(index=False)))
        #: Number of thread configurations with a recorded thread count.
        self.known_configs = sum(1 for c in self.configs if c[0] > 0)

    def sort_key(self, key: tuple) -> tuple:
        run, wl, op, jac, strat, thr, bind, places = key
        return (_rank(self.workloads, wl), _rank(OPERATOR_ORDER, op),
                _rank(JAC_ORDER, jac), _rank(STRATEGY_ORDER, strat),
                thr, bind, places, _rank(self.runs, run))


def _jac_text(jac: str) -> str:
    return "" if jac in ("none", "") else f" {jac}"


def iter_series(df: pd.DataFrame, ctx: _Context | None = None):
    """Yield ``(key, rows)`` per series in a stable, readable order."""
    ctx = ctx or _Context(df)
    groups = {k: g for k, g in df.groupby(KEY_COLUMNS, sort=False)}
    for key in sorted(groups, key=ctx.sort_key):
        yield key, groups[key]


# --------------------------------------------------------------------------
# Colours and styles: one mapping for every figure and every run
# --------------------------------------------------------------------------

#: One colour per strategy (solve methods included), the same in every figure
#: of every run; strategies not listed get one of EXTRA_COLOURS by a hash of
#: their name, so that they too keep their colour from run to run.
STRATEGY_COLOURS = {
    "materialise": "#1f77b4", "probe": "#ff7f0e", "probe-checked": "#2ca02c",
    "probe-tridiag": "#d62728", "probe-banded": "#9467bd",
    "probe-coloured": "#8c564b", "materialise+lu": "#7f7f7f",
    "materialise+diagonal": "#17becf", "probe+diagonal": "#e377c2",
    "probe-checked+diagonal": "#bcbd22", "probe-tridiag+diagonal": "#ff9896",
    "probe-banded+diagonal": "#c5b0d5", "probe-coloured+diagonal": "#c49c94",
    "probe-tridiag+tridiagonal": "#98df8a",
    "materialise+tridiagonal": "#aec7e8",
}
EXTRA_COLOURS = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
                 "#3182bd", "#e6550d", "#31a354"]

#: Line style and marker of each operator form (operator, jac).
FORM_STYLES = {
    ("jacobian", "fwd"): ("-", "o"), ("jacobian", "bwd"): ("--", "s"),
    ("function", "none"): (":", "^"), ("matrix", "none"): ("-.", "D"),
    ("diagonal", "none"): ((0, (6, 2, 1, 2, 1, 2)), "v"),
    ("tridiagonal", "none"): ((0, (1, 1)), "P"),
}
OTHER_FORM_STYLE = ((0, (3, 1)), "X")

#: The seed's workloads, drawn in the headline figure when present (``remote``
#: is the out-of-process workload).
HEADLINE_WORKLOADS = ["sin", "split", "seqsin", "remote"]
HEADLINE_STYLES = {"sin": ("-", "o"), "split": ("--", "s"),
                   "seqsin": (":", "^"), "remote": ("-.", "D")}
HEADLINE_STRATEGIES = ["materialise", "probe"]

#: Pixel budget: the headline at most 1600 x 1000, the grids fit a screen.
FIG_DPI = 100
HEADLINE_SIZE = (15.0, 6.4)                    # inches at FIG_DPI
GRID_MAX_WIDTH = 16.0


def strategy_colour(strategy: str) -> str:
    colour = STRATEGY_COLOURS.get(strategy)
    if colour is None:
        colour = EXTRA_COLOURS[zlib.crc32(strategy.encode()) % len(EXTRA_COLOURS)]
    return colour


def form_style(op: str, jac: str) -> tuple:
    return FORM_STYLES.get((op, jac), OTHER_FORM_STYLE)


def form_label(op: str, jac: str) -> str:
    return f"{op}{_jac_text(jac)}"


def _form_order(form: tuple) -> tuple:
    return (_rank(OPERATOR_ORDER, form[0]), _rank(JAC_ORDER, form[1]))


def _strategy_order(strategy: str) -> tuple:
    known = list(STRATEGY_COLOURS)
    return _rank(known, strategy)


def main_config(df: pd.DataFrame) -> tuple[int, str, str]:
    """The (threads, proc_bind, places) drawn when the data hold several: the
    largest thread count, then the configuration with the most ok rows."""
    ok = df[df["status"] == "ok"]
    ok = ok if len(ok) else df
    counts = ok.groupby(["threads", "proc_bind", "places"]).size()
    best = sorted(counts.items(), key=lambda kv: (-kv[0][0], -kv[1], kv[0]))
    t, b, p = best[0][0]
    return int(t), b, p


def _in_config(df: pd.DataFrame, cfg: tuple) -> pd.DataFrame:
    return df[(df["threads"] == cfg[0]) & (df["proc_bind"] == cfg[1])
              & (df["places"] == cfg[2])]


def _status_marker(status: str) -> str:
    return STATUS_MARKERS.get(status, OTHER_STATUS_MARKER)


def _status_order(status: str) -> tuple[int, str]:
    return _rank(list(STATUS_MARKERS), status)


def _band_text(df: pd.DataFrame) -> str:
    ok = df[df["status"] == "ok"]
    with_samples = bool(ok["band_from_samples"].any()) if len(ok) else False
    without = bool((~ok["band_from_samples"]).any()) if len(ok) else True
    if with_samples and not without:
        return "band: 95% CI of the median from the samples"
    if with_samples:
        return ("band: 95% CI of the median where samples exist, "
                "else min–max")
    return "band: min–max of the repetitions (no samples: no CI)"


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------

def _draw_panel(ax, panel: pd.DataFrame, ctx: _Context, style, label,
                fit_from: float | None, legend: str | None = "outside") -> dict:
    """Draw every series of ``panel`` on ``ax``.

    ``style(key) -> (colour, marker, linestyle[, filled])``,
    ``label(key) -> str``; ``fit_from`` None means "no slope in the legend".
    ``legend``: "outside" (right of the axes), "inside" or None.  Each ok
    cell is a point at its median with its uncertainty band (``band_lo`` ..
    ``band_hi``); non-ok cells are markers along the bottom, one shape per
    status.  Returns ``{status: count}`` of the non-ok cells in the panel.
    """
    from matplotlib.lines import Line2D

    ax.set_xscale("log")
    ax.set_yscale("log")
    handles, labels = [], []
    bad: dict[str, list] = {}          # status -> [(n, colour)]
    bad_no_n: dict[str, int] = {}      # status -> rows without n
    lo, hi = math.inf, 0.0
    for key, rows in iter_series(panel, ctx):
        colour, marker, ls, *rest = style(key)
        face = colour if not rest or rest[0] else "white"
        text = label(key)
        ok = rows[rows["status"] == "ok"].sort_values("n")
        if len(ok):
            n = ok["n"].to_numpy()
            med = ok["time_median_s"].to_numpy()
            line, = ax.plot(n, med, color=colour, marker=marker, linestyle=ls,
                            markersize=4, linewidth=1.3,
                            markerfacecolor=face)
            blo = ok["band_lo"].to_numpy()
            bhi = ok["band_hi"].to_numpy()
            if len(ok) >= 2:
                ax.fill_between(n, blo, bhi, color=colour, alpha=0.18,
                                linewidth=0)
            else:
                ax.vlines(n, blo, bhi, color=colour, alpha=0.5)
            lo = min(lo, float(np.min(np.minimum(blo, med))))
            hi = max(hi, float(np.max(np.maximum(bhi, med))))
            if fit_from is not None:
                text += ": slope " + slope_text(fit_series(n, med, fit_from))
            handles.append(line)
        else:
            statuses = ", ".join(sorted(set(rows["status"]), key=_status_order))
            handles.append(Line2D([], [], color=colour, marker=marker,
                                  linestyle=ls, markersize=4,
                                  markerfacecolor=face))
            text += f": no ok cells ({statuses})"
        labels.append(text)
        for status, n in zip(rows["status"], rows["n"]):
            if status == "ok":
                continue
            if math.isnan(n):
                bad_no_n[status] = bad_no_n.get(status, 0) + 1
            else:
                bad.setdefault(status, []).append((n, colour))

    statuses = sorted(set(bad) | set(bad_no_n), key=_status_order)
    row_y = {s: 0.035 + 0.065 * i for i, s in enumerate(statuses)}
    xaxis = ax.get_xaxis_transform()   # x in data, y in axes fraction
    for status in statuses:
        points = bad.get(status, [])
        by_colour: dict = {}
        for n, colour in points:
            by_colour.setdefault(colour, []).append(n)
        for colour, ns in by_colour.items():
            ax.plot(ns, [row_y[status]] * len(ns), transform=xaxis,
                    linestyle="none", marker=_status_marker(status),
                    markersize=6, color=colour, clip_on=False)
        count = len(points) + bad_no_n.get(status, 0)
        text = f"{status} ({format_count(count, 'cell')}"
        if bad_no_n.get(status):
            text += f", {bad_no_n[status]} without n, not drawn"
        handles.append(Line2D([], [], linestyle="none", color="0.3",
                              marker=_status_marker(status), markersize=6))
        labels.append(text + ")")

    if hi > 0 and statuses:
        # Leave a strip at the bottom for the status markers.
        bottom_frac = row_y[statuses[-1]] + 0.08
        top_frac = 0.06
        dec = max(math.log10(hi / lo), 0.5)
        total = dec / (1.0 - bottom_frac - top_frac)
        ax.set_ylim(10 ** (math.log10(lo) - bottom_frac * total),
                    10 ** (math.log10(hi) + top_frac * total))
    _log_grid(ax)
    ax.set_xlabel("n")
    ax.set_ylabel("time per extraction (s)")
    if legend == "outside":
        ax.legend(handles, labels, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  fontsize="small", frameon=False)
    elif legend == "inside":
        ax.legend(handles, labels, loc="upper left", fontsize="small",
                  framealpha=0.85)
    return {st: len(bad.get(st, [])) + bad_no_n.get(st, 0) for st in statuses}


def _log_grid(ax) -> None:
    """Major grid lines on both log axes, unlabelled minor ticks (labelling
    them is slow and clutters small panels)."""
    from matplotlib.ticker import LogLocator, NullFormatter
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0),
                                          numticks=12))
        axis.set_minor_formatter(NullFormatter())
        axis.set_major_locator(LogLocator(base=10.0, numticks=8))
    ax.grid(True, which="major", alpha=0.35)


def _machine_text(df: pd.DataFrame) -> str:
    pairs = list(dict.fromkeys(zip(df["cpu_model"], df["host"])))
    names = [f"{cpu or 'unknown CPU'} ({host or 'unknown host'})"
             for cpu, host in pairs]
    machine = "; ".join(names) if len(names) <= 3 else f"{len(names)} machines"
    threads = sorted({int(t) for t in df["threads"] if t > 0})
    tt = ", ".join(map(str, threads)) if threads else "?"
    return f"{machine} · {tt} thread{'' if threads == [1] else 's'}"


def _config_text(cfg: tuple, ctx: _Context) -> str:
    parts = [format_count(cfg[0], "thread") if cfg[0] else "threads ?"]
    if ctx.varying["proc_bind"]:
        parts.append(f"bind={cfg[1] or 'unset'}")
    if ctx.varying["places"]:
        parts.append(f"places={cfg[2] or 'unset'}")
    return " ".join(parts)


def _draw_panels(axes: list, panels: list, ctx: _Context, style) -> dict:
    """Draw ``(title, rows)`` panels on a grid's axes without legends;
    returns ``{status: count}`` of the non-ok cells over all panels."""
    counts: dict[str, int] = {}
    for ax, (name, pdf) in zip(axes, panels):
        for st, k in _draw_panel(ax, pdf, ctx, style, lambda k: "", None,
                                 legend=None).items():
            counts[st] = counts.get(st, 0) + k
        ax.set_title(name, fontsize="small")
    return counts


def _grid_cols(k: int) -> int:
    return k if k <= 4 else 4 if k <= 12 else 5 if k <= 20 else 6


def _outer_labels(axes: list) -> None:
    """Y labels on the first column only (the panels share the quantity)."""
    ncols = _grid_cols(len(axes))
    for i, ax in enumerate(axes):
        if i % ncols:
            ax.set_ylabel("")


def _grid(k: int, title: str):
    """A figure with ``k`` panels in a grid that fits a screen, plus a legend
    column on the right: ``(fig, [axes], legend_axes)``."""
    import matplotlib.pyplot as plt
    ncols = _grid_cols(k)
    nrows = math.ceil(k / ncols)
    legend_w = 2.9
    panel_w = min(3.3, (GRID_MAX_WIDTH - legend_w) / ncols)
    panel_h = 2.6 if nrows <= 3 else max(1.9, 10.0 / nrows)
    fig = plt.figure(figsize=(panel_w * ncols + legend_w,
                              panel_h * nrows + 0.8), layout="constrained")
    gs = fig.add_gridspec(nrows, ncols + 1,
                          width_ratios=[panel_w] * ncols + [legend_w])
    axes = [fig.add_subplot(gs[i // ncols, i % ncols]) for i in range(k)]
    leg = fig.add_subplot(gs[:, ncols])
    leg.axis("off")
    fig.suptitle(title, fontsize="medium")
    return fig, axes, leg


def _legend_column(leg, handles, labels, title=None):
    leg.legend(handles, labels, loc="upper left", fontsize="x-small",
               frameon=False, title=title, title_fontsize="x-small",
               alignment="left", borderaxespad=0.0)


def _strategy_handles(strategies) -> tuple[list, list]:
    from matplotlib.lines import Line2D
    strategies = sorted(set(strategies), key=_strategy_order)
    return ([Line2D([], [], color=strategy_colour(s), linewidth=2.5)
             for s in strategies], list(strategies))


def _form_handles(forms) -> tuple[list, list]:
    from matplotlib.lines import Line2D
    forms = sorted(set(forms), key=_form_order)
    hs = []
    for op, jac in forms:
        ls, marker = form_style(op, jac)
        hs.append(Line2D([], [], color="0.3", linestyle=ls, marker=marker,
                         markersize=4))
    return hs, [form_label(op, jac) for op, jac in forms]


def _status_handles(counts: dict) -> tuple[list, list]:
    from matplotlib.lines import Line2D
    hs, ls = [], []
    for st in sorted(counts, key=_status_order):
        hs.append(Line2D([], [], color="0.3", linestyle="none",
                         marker=_status_marker(st), markersize=6))
        ls.append(f"{st} ({format_count(counts[st], 'cell')})")
    return hs, ls


def _run_handles(ctx: _Context) -> tuple[list, list]:
    from matplotlib.lines import Line2D
    if not ctx.varying["run_id"]:
        return [], []
    hs, ls = [], []
    for i, run in enumerate(ctx.runs):
        hs.append(Line2D([], [], color="0.3", linestyle="none", marker="o",
                         markerfacecolor="0.3" if i == 0 else "white"))
        ls.append(f"run {run}")
    return hs, ls


def _run_filled(ctx: _Context, run: str) -> bool:
    """Markers are filled for the first run, hollow for the others."""
    return not ctx.runs or run == ctx.runs[0]


def family_of(workload: str) -> str:
    """Figure family of a workload: ``diagonal`` for the plain workloads,
    else the prefix of ``solve:W`` / ``newton:W`` (any other prefix makes its
    own family)."""
    return _safe_name(workload.split(":", 1)[0]) if ":" in workload \
        else "diagonal"


FAMILY_TITLES = {
    "diagonal": "diagonal extraction",
    "solve": "solve J x = b (method = strategy+solver)",
    "newton": "Newton's method (method = strategy+solver)",
}


def make_family_figure(df: pd.DataFrame, family: str,
                       ctx: _Context | None = None):
    """Small multiples of time per extraction against n for one family of
    workloads at the main thread configuration: one panel per workload and
    operator group (the Jacobian; the other operator kinds), colour =
    strategy, line style and marker = operator form.  Panels without an ok
    cell are not drawn (the figure's footnote counts their cells).  None
    when nothing of the family is ok."""
    ctx = ctx or _Context(df)
    cfg = main_config(df)
    data = _in_config(df, cfg)
    data = data[[family_of(w) == family for w in data["workload"]]]
    panels, hidden = [], {}
    for wl in ctx.workloads:
        wdf = data[data["workload"] == wl]
        for group, gdf in (("jacobian", wdf[wdf["operator"] == "jacobian"]),
                           ("other operators",
                            wdf[wdf["operator"] != "jacobian"])):
            if gdf.empty:
                continue
            if not (gdf["status"] == "ok").any():
                for st in gdf["status"]:
                    hidden[st] = hidden.get(st, 0) + 1
                continue
            panels.append((f"{wl} · {group}", gdf))
    if not panels:
        return None
    title = (f"diagbench · {FAMILY_TITLES.get(family, family)}: time per "
             f"extraction vs n · {_machine_text(data)}")
    fig, axes, leg = _grid(len(panels), title)

    def style(key):
        run, _, op, jac, strat = key[:5]
        ls, marker = form_style(op, jac)
        return strategy_colour(strat), marker, ls, _run_filled(ctx, run)

    counts = _draw_panels(axes, panels, ctx, style)
    _outer_labels(axes)
    h1, l1 = _strategy_handles(data["strategy"])
    h2, l2 = _form_handles(zip(data["operator"], data["jac"]))
    h3, l3 = _run_handles(ctx)
    h4, l4 = _status_handles(counts)
    note = _band_text(data)
    if hidden:
        note += "\nnot drawn (no ok cell): " + ", ".join(
            f"{format_count(v, 'cell')} {k}" for k, v in
            sorted(hidden.items(), key=lambda kv: _status_order(kv[0])))
    _legend_column(leg, h1 + h2 + h3 + h4, l1 + l2 + l3 + l4,
                   title=f"colour: strategy\nline: operator\n{note}")
    return fig


def make_threads_figure(df: pd.DataFrame, ctx: _Context | None = None):
    """Thread configurations compared, or None when the data hold only one
    (threads, proc_bind, places) configuration, or no panel has two.

    One panel per workload (its first operator form: the forward Jacobian
    when there is one); colour = strategy, line style and marker = thread
    configuration.  Panels where fewer than two configurations have an ok
    cell are not drawn."""
    from matplotlib.lines import Line2D

    ctx = ctx or _Context(df)
    if ctx.known_configs < 2:
        return None
    configs = [c for c in ctx.configs if c[0] > 0]
    panels = []
    for wl in ctx.workloads:
        wdf = df[(df["workload"] == wl) & (df["threads"] > 0)]
        ok = wdf[wdf["status"] == "ok"]
        forms = sorted(set(zip(ok["operator"], ok["jac"])), key=_form_order)
        for form in forms:
            fdf = wdf[(wdf["operator"] == form[0]) & (wdf["jac"] == form[1])]
            fok = fdf[fdf["status"] == "ok"]
            if fok[["threads", "proc_bind", "places"]].drop_duplicates(
                    ).shape[0] >= 2:
                panels.append((f"{wl} · {form_label(*form)}", fdf))
                break
    if not panels:
        return None
    fig, axes, leg = _grid(len(panels), "diagbench · thread configurations: "
                           f"time per extraction vs n · {_machine_text(df)}")

    def style(key):
        run, strat, thr, bind, places = key[0], key[4], key[5], key[6], key[7]
        ci = configs.index((thr, bind, places))
        return (strategy_colour(strat), LINE_MARKERS[ci % len(LINE_MARKERS)],
                LINE_STYLES[ci % len(LINE_STYLES)], _run_filled(ctx, run))

    counts = _draw_panels(axes, panels, ctx, style)
    data = pd.concat([p for _, p in panels])
    _outer_labels(axes)
    h1, l1 = _strategy_handles(data["strategy"])
    h2, l2 = [], []
    for ci, cfg in enumerate(configs):
        h2.append(Line2D([], [], color="0.3",
                         linestyle=LINE_STYLES[ci % len(LINE_STYLES)],
                         marker=LINE_MARKERS[ci % len(LINE_MARKERS)],
                         markersize=4))
        l2.append(_config_text(cfg, ctx))
    h3, l3 = _run_handles(ctx)
    h4, l4 = _status_handles(counts)
    _legend_column(leg, h1 + h2 + h3 + h4, l1 + l2 + l3 + l4,
                   title="colour: strategy\nline: thread configuration\n"
                         + _band_text(data))
    return fig


def baseline_of(strategy: str) -> str:
    """The dense path a strategy is compared with: ``materialise`` for
    diagonal strategies, ``materialise+lu`` for solve methods (``S+solver``,
    the rows of ``solve:W`` / ``newton:W`` workloads)."""
    return "materialise+lu" if "+" in str(strategy) else BASELINE


def speedups(df: pd.DataFrame, with_ci: bool = False) -> pd.DataFrame:
    """Speedup of every non-materialise strategy over materialise (solve
    methods: over materialise+lu, see baseline_of).

    Matches ok rows on run_id, workload, operator, jac, threads, proc_bind,
    places (those of these columns present in ``df``) and n.  Returns one
    row per match with the match columns, ``strategy``, ``n``,
    ``time_materialise_s``, ``time_s``, ``speedup`` =
    time_materialise_s / time_s (> 1 means faster than materialise), and
    ``ci_lo`` / ``ci_hi``: with ``with_ci`` the 95 % bootstrap interval of
    the ratio of medians where both rows have samples (:func:`ratio_ci`),
    else nan.  Sizes where either side is not ok produce no row.
    """
    match = [c for c in MATCH_COLUMNS if c in df.columns] + ["n"]
    ok = df[df["status"] == "ok"]
    if "samples" not in ok.columns:
        ok = ok.assign(samples=[()] * len(ok))
    ok = ok.assign(_baseline=ok["strategy"].map(baseline_of))
    base = ok[ok["strategy"] == ok["_baseline"]][
        match + ["_baseline", "time_median_s", "samples"]]
    base = base.rename(columns={"time_median_s": "time_materialise_s",
                                "samples": "samples_base"})
    other = ok[ok["strategy"] != ok["_baseline"]][
        match + ["_baseline", "strategy", "time_median_s", "samples"]]
    other = other.rename(columns={"time_median_s": "time_s"})
    m = other.merge(base, on=match + ["_baseline"], how="inner")
    m["speedup"] = m["time_materialise_s"] / m["time_s"]
    ci = [ratio_ci(b, s) if with_ci else (math.nan, math.nan)
          for b, s in zip(m["samples_base"], m["samples"])]
    m["ci_lo"] = [c[0] for c in ci]
    m["ci_hi"] = [c[1] for c in ci]
    cols = match[:-1] + ["strategy", "n", "time_materialise_s", "time_s",
                         "speedup", "ci_lo", "ci_hi", "samples_base",
                         "samples"]
    return m[cols].sort_values(match[:-1] + ["strategy", "n"]).reset_index(
        drop=True)


def _draw_speedups(ax, sp: pd.DataFrame, style, label) -> list:
    """Speedup lines (one per strategy/form/run in ``sp``) with their CI
    where there is one; returns the line handles (labelled)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    handles = []
    keys = ["run_id", "operator", "jac", "strategy"]
    for key, g in sp.groupby(keys, sort=False):
        g = g.sort_values("n")
        colour, marker, ls, filled = style(key)
        line, = ax.plot(g["n"], g["speedup"], color=colour, marker=marker,
                        linestyle=ls, markersize=4, linewidth=1.3,
                        markerfacecolor=colour if filled else "white",
                        label=label(key))
        handles.append(line)
        ci = g[g["ci_lo"].notna()]
        if len(ci) >= 2:
            ax.fill_between(ci["n"], ci["ci_lo"], ci["ci_hi"], color=colour,
                            alpha=0.18, linewidth=0)
        elif len(ci) == 1:
            ax.vlines(ci["n"], ci["ci_lo"], ci["ci_hi"], color=colour,
                      alpha=0.5)
    ax.axhline(1.0, color="k", linewidth=0.8, linestyle="--")
    _log_grid(ax)
    ax.set_xlabel("n")
    return handles


def _ci_text(sp: pd.DataFrame) -> str:
    if len(sp) and sp["ci_lo"].notna().all():
        return "band: 95% bootstrap CI of the ratio of medians"
    if len(sp) and sp["ci_lo"].notna().any():
        return "band: 95% bootstrap CI where samples exist (elsewhere no CI)"
    return "no samples: no CI"


def make_speedup_figure(df: pd.DataFrame, ctx: _Context | None = None):
    """Speedup over materialise (materialise+lu for solve methods) against
    n, one panel per workload in a compact grid, at the main thread
    configuration; colour = strategy, line style = operator form; 95 %
    bootstrap CI where the rows have samples.  None if there are no pairs."""
    ctx = ctx or _Context(df)
    cfg = main_config(df)
    sp = speedups(_in_config(df, cfg), with_ci=True)
    if sp.empty:
        return None
    workloads = [w for w in ctx.workloads if (sp["workload"] == w).any()]
    fig, axes, leg = _grid(len(workloads), "diagbench · speedup = baseline "
                           "median / strategy median · "
                           f"{_machine_text(_in_config(df, cfg))}")

    def style(key):
        run, op, jac, strat = key
        ls, marker = form_style(op, jac)
        return strategy_colour(strat), marker, ls, _run_filled(ctx, run)

    for ax, w in zip(axes, workloads):
        wsp = sp[sp["workload"] == w]
        _draw_speedups(ax, wsp, style, lambda k: "")
        base = sorted({baseline_of(s) for s in wsp["strategy"]})
        ax.set_title(f"{w} (vs {', '.join(base)})", fontsize="small")
        ax.set_ylabel("speedup (×)")
    _outer_labels(axes)
    h1, l1 = _strategy_handles(sp["strategy"])
    h2, l2 = _form_handles(zip(sp["operator"], sp["jac"]))
    h3, l3 = _run_handles(ctx)
    _legend_column(leg, h1 + h2 + h3, l1 + l2 + l3,
                   title="colour: strategy\nline: operator\n"
                         f"dashed black: 1× (no gain)\n{_ci_text(sp)}")
    return fig


def headline_data(df: pd.DataFrame):
    """What the headline figure draws: ``(rows, cfg, form, run)`` -- the
    seed's workloads (HEADLINE_WORKLOADS present), materialise and probe, at
    the main thread configuration, the forward Jacobian when there is one,
    the first run -- or None when there is nothing of that kind."""
    ctx = _Context(df)
    sel = df[df["workload"].isin(HEADLINE_WORKLOADS)
             & df["strategy"].isin(HEADLINE_STRATEGIES)]
    sel = sel[sel["run_id"] == ctx.runs[0]]
    if not (sel["status"] == "ok").any():
        return None
    cfg = main_config(sel)
    sel = _in_config(sel, cfg)
    ok = sel[sel["status"] == "ok"]
    forms = sorted(set(zip(ok["operator"], ok["jac"])),
                   key=lambda f: (f[0] != "jacobian", _form_order(f)))
    form = forms[0]
    sel = sel[(sel["operator"] == form[0]) & (sel["jac"] == form[1])]
    return sel, cfg, form, ctx.runs[0]


def make_headline_figure(df: pd.DataFrame, fit_from: float = 1000):
    """The one figure to paste: time per extraction against n for
    materialise and probe on the seed's workloads with uncertainty bands and
    fitted slopes in the legend (left), and the speedup of probe over
    materialise with its CI where there are samples (right); CPU and thread
    count in the title.  None when the data hold none of those workloads."""
    got = headline_data(df)
    if got is None:
        return None
    sel, cfg, form, run = got
    import matplotlib.pyplot as plt
    ctx = _Context(sel)
    fig = plt.figure(figsize=HEADLINE_SIZE, layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    workloads = [w for w in HEADLINE_WORKLOADS if (sel["workload"] == w).any()]

    def style(key):
        ls, marker = HEADLINE_STYLES.get(key[1], OTHER_FORM_STYLE)
        return strategy_colour(key[4]), marker, ls

    _draw_panel(left, sel, ctx, style, lambda k: f"{k[1]} {k[4]}", fit_from,
                legend="inside")
    left.set_title("time per extraction (median; " + _band_text(sel) + ")",
                   fontsize="medium")
    sp = speedups(sel, with_ci=True)
    sp = sp[sp["strategy"] == "probe"]

    def sp_style(key):
        ls, marker = HEADLINE_STYLES.get(key[0], OTHER_FORM_STYLE)
        return strategy_colour("probe"), marker, ls, True

    if len(sp):
        sp = sp.assign(run_id=sp["workload"])   # one line per workload
        sp = sp.sort_values("workload", key=lambda s: s.map(
            lambda w: _rank(HEADLINE_WORKLOADS, w)), kind="stable")
        _draw_speedups(right, sp, sp_style, lambda k: f"{k[0]}")
        right.legend(loc="upper left", fontsize="small", framealpha=0.85)
        right.set_title(f"speedup of probe over materialise ({_ci_text(sp)})",
                        fontsize="medium")
    else:
        right.axis("off")
        right.text(0.5, 0.5, "no size where both materialise and probe "
                   "are ok", ha="center", va="center", color="0.4")
    right.set_ylabel("speedup (×)")
    cpus = ", ".join(dict.fromkeys(c or "unknown CPU" for c in sel["cpu_model"]))
    fig.suptitle(f"diagbench · materialise vs probe · {', '.join(workloads)}"
                 f" · {form_label(*form)} · {cpus} · {_config_text(cfg, ctx)}"
                 + (f" · run {run}" if len(set(df["run_id"])) > 1 else ""),
                 fontsize="large")
    return fig


def _safe_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._")
    return safe or "figure"


def output_stem(path: str) -> str:
    """First CSV's basename without a ``.csv`` suffix."""
    base = os.path.basename(path)
    return base[:-4] if base.lower().endswith(".csv") and len(base) > 4 else base


LABEL_MAX = 80  # characters of a CSV value shown in a figure (labels, titles, legends)
LABEL_COLUMNS = ("host", "cpu_model", "compiler", "workload", "operator", "strategy",
                 "solver", "proc_bind", "places", "worker")


def short_label(value: str, limit: int = LABEL_MAX) -> str:
    """A CSV value cut to fit a figure: its start, an ellipsis and a short hash of the whole
    (two long values that share their start stay two labels); the report's tables keep the
    full text."""
    if not isinstance(value, str) or len(value) <= limit:
        return value
    import hashlib
    digest = hashlib.sha1(value.encode("utf-8", "replace")).hexdigest()[:6]
    return f"{value[:limit - 8]}…#{digest}"


def _figure_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The rows with every label column cut to LABEL_MAX characters (a 2,000-character host
    overflowed matplotlib's rasteriser)."""
    cols = [c for c in LABEL_COLUMNS if c in df.columns]
    if not any(df[c].astype(str).str.len().max() > LABEL_MAX for c in cols if len(df)):
        return df
    out = df.copy()
    for c in cols:
        out[c] = out[c].map(short_label)
    return out


def render_figures(df: pd.DataFrame, fit_from: float = 1000):
    """Yield ``(name, title, figure)`` for every figure the data hold, in
    the order the report shows them: headline, the families (diagonal,
    solve, newton, ...), speedup, threads.  The caller closes each figure."""
    df = _figure_frame(df)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "diagbench"   # reproducible SVG ids
    ctx = _Context(df)
    with plt.rc_context({"font.size": 10}):
        fig = make_headline_figure(df, fit_from)
    if fig is not None:
        yield "headline", "materialise vs probe on the seed's workloads", fig
    with plt.rc_context({"font.size": 8.5}):
        families = list(dict.fromkeys(family_of(w) for w in ctx.workloads))
        for fam in families:
            fig = make_family_figure(df, fam, ctx)
            if fig is not None:
                yield fam, FAMILY_TITLES.get(fam, fam), fig
        fig = make_speedup_figure(df, ctx)
        if fig is not None:
            yield "speedup", "speedup over the dense baseline", fig
        fig = make_threads_figure(df, ctx)
        if fig is not None:
            yield "threads", "thread configurations", fig


def save_figure(fig, path: str, fmt: str) -> None:
    kw = {"dpi": FIG_DPI} if fmt == "png" else {}
    if fmt in ("svg", "pdf"):
        kw["metadata"] = {"Date": None}
    try:
        fig.savefig(path, format=fmt, **kw)
    except OSError as e:
        raise PlotError(f"{path}: cannot write: {e.strerror or e}") from None


def _makedirs(outdir: str) -> None:
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as e:
        raise PlotError(f"{outdir}: cannot create output directory: "
                        f"{e.strerror or e}") from None


def write_figures(df: pd.DataFrame, outdir: str, stem: str,
                  formats: Sequence[str] = ("png",),
                  fit_from: float = 1000, keep: list | None = None
                  ) -> list[str]:
    """Write all figures as ``<outdir>/<stem>_<name>.<fmt>``; returns the
    files written.  With ``keep`` (a list), appends ``(name, title,
    png_bytes)`` for each figure (the report embeds them)."""
    if formats:
        _makedirs(outdir)
    written: list[str] = []
    try:
        _write_each(df, outdir, stem, formats, fit_from, keep, written)
    except BaseException:
        for path in written:  # never a half-written set of figures left as if complete
            try:
                os.unlink(path)
            except OSError:
                pass
        raise
    return written


def _write_each(df, outdir, stem, formats, fit_from, keep, written) -> None:
    import matplotlib.pyplot as plt
    for name, title, fig in render_figures(df, fit_from):
        try:
            png = None
            if keep is not None:       # rendered once, written and embedded
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=FIG_DPI)
                png = buf.getvalue()
                keep.append((name, title, png))
            for fmt in formats:
                path = os.path.join(outdir, f"{stem}_{name}.{fmt}")
                if png is not None and fmt == "png":
                    try:
                        with open(path, "wb") as f:
                            f.write(png)
                    except OSError as e:
                        raise PlotError(f"{path}: cannot write: "
                                        f"{e.strerror or e}") from None
                else:
                    save_figure(fig, path, fmt)
                written.append(path)
        finally:
            plt.close(fig)


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------

def _md(cell: str) -> str:
    """Text from a CSV in a Markdown table cell: Markdown's punctuation
    backslash-escaped, ``<``, ``>``, ``&`` as entities (as ``diagbench
    compare`` writes them), so that nothing opens a code span, a link or raw
    HTML, or shifts the table."""
    out = []
    for ch in str(cell):
        if ch in "<>&":
            out.append({"<": "&lt;", ">": "&gt;", "&": "&amp;"}[ch])
        elif ch in "\\`*_[]|#!~":
            out.append("\\" + ch)
        else:
            out.append(" " if ch in "\r\n" else ch)
    return "".join(out)


def _md_plain(text: str) -> str:
    """Markdown text (escapes and entities, as _md and ``diagbench compare``
    write them) back to the plain text it shows; code spans lose their
    fences."""
    text = re.sub(r"(`+) ?(.*?) ?\1", lambda m: m.group(2), text)
    text = re.sub(r"\\([\\`*_\[\]|#!~])", r"\1", text)
    return html.unescape(text)


SPEEDUP_HEAD = "speedup vs baseline (largest n both ran)"


def summary_rows(df: pd.DataFrame, fit_from: float = 1000
                 ) -> tuple[list[str], list[list[str]]]:
    """The summary table: ``(head, rows)`` of strings, one row per series,
    numbers in the one number format (tests/number_format.tsv).

    ``run_id``, ``proc_bind`` and ``places`` columns are added only when the
    data hold more than one value of them.  The speedup at n_max carries its
    95 % bootstrap CI when both rows have samples.
    """
    ctx = _Context(df)
    sp = speedups(df)
    # the speedup at the largest n where both the series and its baseline ran ok (the probe's
    # own n_max may be one where materialise was skipped_memory)
    sp_index = {}
    for r in sp.to_dict("records"):
        k = tuple(r[c] for c in MATCH_COLUMNS + ["strategy"])
        if k not in sp_index or r["n"] > sp_index[k]["n"]:
            sp_index[k] = r
    extra_front = ["run_id"] if ctx.varying["run_id"] else []
    extra_mid = [c for c in ("proc_bind", "places") if ctx.varying[c]]
    head = (extra_front + ["workload", "operator", "jac", "strategy",
                           "threads"] + extra_mid +
            ["slope (±95%)", "n_max", "median time at n_max",
             SPEEDUP_HEAD])
    out = []
    for key, rows in iter_series(df, ctx):
        run, wl, op, jac, strat, thr, bind, places = key
        ok = rows[rows["status"] == "ok"].sort_values("n")
        if len(ok):
            fit = fit_series(ok["n"].to_numpy(),
                             ok["time_median_s"].to_numpy(), fit_from)
            slope = slope_text(fit)
            nmax = float(ok["n"].iat[-1])
            nmax_s = f"{int(nmax)}"
            t_s = format_time(float(ok["time_median_s"].iat[-1]))
            r = sp_index.get((run, wl, op, jac, thr, bind, places, strat))
            sp_s = "-"
            if r is not None:
                sp_s = format_ratio(r["speedup"])
                lo, hi = ratio_ci(r["samples_base"], r["samples"])
                if math.isfinite(lo):
                    sp_s += f" ({format_ratio(lo)}–{format_ratio(hi)})"
                sp_s += f" at n={int(r['n'])}"
        else:
            statuses = ", ".join(sorted(set(rows["status"]),
                                        key=_status_order))
            slope = format_slope(math.nan, math.nan, 0)
            nmax_s, t_s, sp_s = "-", f"- ({statuses})", "-"
        cells = ([run] if extra_front else []) + [
            wl, op, jac, strat, str(thr) if thr else "?"]
        cells += [{"proc_bind": bind, "places": places}[c] or "unset"
                  for c in extra_mid]
        cells += [slope, nmax_s, t_s, sp_s]
        out.append(cells)
    return head, out


def summary_markdown(df: pd.DataFrame, fit_from: float = 1000) -> str:
    """Markdown table, one row per series (see ``--help`` for the columns)."""
    head, rows = summary_rows(df, fit_from)
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in cells) + " |"
              for cells in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# HTML report
# --------------------------------------------------------------------------

REPORT_NAME = "report.html"
#: The binary whose ``compare`` the report embeds (``--diagbench``).
DEFAULT_DIAGBENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "build", "diagbench")

REPORT_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1650px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em;
  border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure { margin: 1em 0; } figcaption { color: #555; }
.warn { color: #a00; } .note { color: #555; } code, pre { font-size: 12px; }
"""

#: Writes what rendered into #render-check once the page has loaded: how many
#: images decoded with a width, and how many tables (the browser test reads it).
REPORT_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.images, decoded = 0;
  for (var i = 0; i < imgs.length; i++)
    if (imgs[i].complete && imgs[i].naturalWidth > 0) decoded++;
  var text = 'images ' + imgs.length + ' decoded ' + decoded + ' tables ' +
             document.getElementsByTagName('table').length;
  document.getElementById('render-check').textContent = text;
  console.log('diagbench report rendered: ' + text);
});
"""


def _h(text) -> str:
    return html.escape(str(text), quote=True)


def html_table(head: Sequence[str], rows: Sequence[Sequence[str]],
               numeric: Sequence[bool] | None = None) -> str:
    numeric = numeric or [False] * len(head)
    out = ["<table><thead><tr>"]
    out += [f"<th>{_h(c)}</th>" for c in head]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(
            f"<td class=\"num\">{_h(c)}</td>" if num else f"<td>{_h(c)}</td>"
            for c, num in zip(r, numeric)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def markdown_to_html(text: str) -> str:
    """The Markdown ``diagbench compare --format md`` prints, as HTML: pipe
    tables become tables, ``#`` lines headings, other lines paragraphs (all
    text escaped)."""
    out, table = [], []

    def flush():
        if not table:
            return
        # cells split at the pipes that are not escaped ('\\|' is text), then
        # shown as the plain text they stand for (escaped again by _h)
        cells = [[_md_plain(c.strip()) for c in
                  re.split(r"(?<!\\)\|", line.strip()[1:-1]
                           if line.strip().endswith("|") else line.strip()[1:])]
                 for line in table]
        body = [c for c in cells[1:]
                if not all(re.fullmatch(r":?-{1,}:?", x) for x in c if x)]
        out.append(html_table(cells[0], body))
        table.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        flush()
        s = line.strip()
        if not s:
            continue
        m = re.match(r"(#{1,6})\s+(.*)", s)
        if m:
            out.append(f"<h3>{_h(_md_plain(m.group(2)))}</h3>")
        else:
            out.append(f"<p>{_h(_md_plain(s))}</p>")
    flush()
    return "\n".join(out)


def read_compare_md(path: str) -> str:
    """``--compare-md FILE``: a Markdown report ``diagbench compare`` wrote
    (e.g. ``build/ab/compare.md`` of ``scripts/ab.sh --adaptive``, with its
    per-cell sequential decisions); a regular file of at most 16 MiB."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > (16 << 20):
            raise PlotError(f"--compare-md {path}: expected a regular file of "
                            "at most 16 MiB (a compare Markdown report)")
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise PlotError(f"--compare-md {path}: cannot read: "
                        f"{getattr(e, 'strerror', None) or e}") from None


def compare_section(csvs: Sequence[str], diagbench: str,
                    compare_md: tuple[str, str] | None = None
                    ) -> tuple[str, str]:
    """``(status, html)``: the verdicts of ``diagbench compare BASE NEW
    --format md`` when exactly two CSVs are given and ``DIAGBENCH compare
    --help`` exits 0; otherwise a sentence saying why there are none. With
    ``compare_md`` (``(path, text)`` from ``--compare-md``) that report is
    shown instead, as it is (several runs per side, an adaptive A/B)."""
    if compare_md is not None:
        return "ok", (f"<p class=\"note\">compare report "
                      f"<code>{_h(compare_md[0])}</code></p>"
                      + markdown_to_html(compare_md[1]))
    if len(csvs) != 2:
        return "not applicable", (
            "<p class=\"note\">compare: give exactly two CSVs (BASE NEW) to "
            f"get verdicts; this report has {format_count(len(csvs), 'file')}."
            "</p>")
    try:
        probe = subprocess.run([diagbench, "compare", "--help"],
                               capture_output=True, text=True, timeout=60)
        available = probe.returncode == 0
    except (OSError, subprocess.SubprocessError):
        available = False
    if not available:
        return "not available", (
            f"<p class=\"note\">compare not available: <code>{_h(diagbench)} "
            "compare --help</code> did not exit 0 (build diagbench, or point "
            "--diagbench at a binary that has <code>compare</code>).</p>")
    try:
        r = subprocess.run([diagbench, "compare", csvs[0], csvs[1],
                            "--format", "md"], capture_output=True, text=True,
                           timeout=600)
    except (OSError, subprocess.SubprocessError) as e:
        return "failed", (f"<p class=\"warn\">compare failed: {_h(e)}</p>")
    # exit 1 = a regression beyond --fail-on-regression: verdicts still printed
    if r.returncode not in (0, 1) or not r.stdout.strip():
        err = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return "failed", (f"<p class=\"warn\">compare failed (exit "
                          f"{r.returncode}): {_h(err)}</p>")
    return "ok", (f"<p class=\"note\"><code>diagbench compare {_h(csvs[0])} "
                  f"{_h(csvs[1])} --format md</code></p>"
                  + markdown_to_html(r.stdout))


def ceiling_rows(df: pd.DataFrame, fit_from: float = 1000
                 ) -> tuple[list[str], list[list[str]]]:
    """Materialise against the machine's write ceiling, per ok row of n >=
    ``fit_from`` that has ``write_ceiling_s`` (the sizes the terminal summary
    judges): ceiling / fastest repetition (best against best, as the summary
    does), so 1.00 = at the ceiling; above 1 the ceiling was mismeasured."""
    rows = df[(df["status"] == "ok") & (df["write_ceiling_s"] > 0)
              & (df["n"] >= fit_from)]
    ctx = _Context(df)
    head = ["workload", "operator", "jac", "strategy", "threads", "n",
            "write path", "ceiling", "materialise (best)", "ceiling / best"]
    out = []
    for key, g in iter_series(rows, ctx):
        for r in g.sort_values("n").to_dict("records"):
            ratio = r["write_ceiling_s"] / r["time_min_s"]
            gbs = 8.0 * r["n"] ** 2 / r["write_ceiling_s"] * 1e-9
            out.append([r["workload"], r["operator"], r["jac"], r["strategy"],
                        str(r["threads"]), f"{int(r['n'])}",
                        r.get("write_path", "") or "-",
                        f"{gbs:.1f} GB/s ({format_time(r['write_ceiling_s'])})",
                        format_time(r["time_min_s"]),
                        f"{ratio:.2f}" + (" [!] ceiling mismeasured"
                                          if ratio > 1 else "")])
    return head, out


def calibration_rows(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The calibration rows (``workload=_calibrate``): the machine's loops."""
    head = ["kernel", "threads", "n (elements touched)", "median time",
            "per element", "status"]
    out = []
    for r in df.attrs.get("calibration", []):
        t = _parse_float(r["time_median_s"]) or math.nan
        n = _parse_float(r["n"]) or math.nan
        out.append([r["strategy"], r["threads"] or "?", r["n"] or "-",
                    format_time(t),
                    format_time(t / n) if n and math.isfinite(n) else "-",
                    r["status"]])
    return head, out


def _calibration_per_element(df: pd.DataFrame, kernel: str, threads: int,
                             run: str) -> float:
    """Best repetition per element of a calibration loop (nan if absent)."""
    for r in df.attrs.get("calibration", []):
        if (r["strategy"] == kernel and r["run_id"] == run
                and r["threads"] == str(threads) and r["status"] == "ok"):
            t, n = _parse_float(r["time_min_s"]), _parse_float(r["n"])
            if t and n:
                return t / n
    return math.nan


def probe_loop_rows(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Probe on sin and split against the bare libm loop of the same run and
    thread count, as the terminal summary judges it: best repetition per
    element at the largest n >= 100000, over ``cos_loop`` (sin) or the mean of
    ``sin_loop`` and ``cos_loop`` (split), and for sin over ``cos_jvp_loop``
    (the loop reading a tangent, as a JVP must)."""
    head = ["workload", "jac", "threads", "n", "probe (best)", "bare loop",
            "probe / bare loop", "probe / cos(x)·v loop"]
    out = []
    ok = df[(df["status"] == "ok") & (df["operator"] == "jacobian")
            & (df["strategy"] == "probe") & df["workload"].isin(["sin", "split"])
            & (df["n"] >= 100000)]
    for key, g in iter_series(ok):
        r = g.sort_values("n").iloc[-1]
        run, wl, thr = key[0], key[1], key[5]
        loop = _calibration_per_element(df, "cos_loop", thr, run)
        if wl == "split":
            loop = 0.5 * (loop + _calibration_per_element(df, "sin_loop", thr,
                                                          run))
        if not math.isfinite(loop):
            continue
        per = r["time_min_s"] / r["n"]
        jvp = _calibration_per_element(df, "cos_jvp_loop", thr, run)
        out.append([wl, key[3], str(thr), f"{int(r['n'])}",
                    f"{per * 1e9:.3f} ns/el", f"{loop * 1e9:.3f} ns/el",
                    f"{per / loop:.2f}",
                    f"{per / jvp:.2f}" if wl == "sin" and math.isfinite(jvp)
                    else "-"])
    return head, out


def provenance_rows(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """One row per run and distinct provenance: the source file, run_id and
    the provenance columns the files have."""
    cols = ["source", "run_id"] + [c for c in PROVENANCE_COLUMNS
                                   if c in df.columns]
    prov = df[cols].astype(str).drop_duplicates()
    return cols, prov.values.tolist()


def build_report(df: pd.DataFrame, csvs: Sequence[str], figures: list,
                 fit_from: float, diagbench: str,
                 compare_md: tuple[str, str] | None = None) -> str:
    """The self-contained report: figures as base64 data: URIs, CSS and one
    small script inline, no network resource."""
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>diagbench report</title>",
             f"<style>{REPORT_CSS}</style></head><body>",
             "<h1>diagbench report</h1>",
             "<p class=\"note\">From " + ", ".join(
                 f"<code>{_h(p)}</code>" for p in csvs) + f" · "
             f"{_h(_machine_text(df))} · "
             f"{format_count(len(df), 'cell')} "
             f"({format_count(int((df['status'] == 'ok').sum()), 'ok cell')})"
             "</p>", "<p id=\"render-check\" hidden></p>"]

    def figure(name, title, png):
        data = base64.b64encode(png).decode("ascii")
        return (f"<figure id=\"fig-{_h(name)}\"><img alt=\"{_h(title)}\" "
                f"src=\"data:image/png;base64,{data}\">"
                f"<figcaption>{_h(title)}</figcaption></figure>")

    head = [f for f in figures if f[0] == "headline"]
    rest = [f for f in figures if f[0] != "headline"]
    parts.append("<h2>Headline</h2>")
    parts.append(figure(*head[0]) if head else
                 "<p class=\"note\">no headline figure: the data hold no ok "
                 "materialise or probe cell of " + ", ".join(HEADLINE_WORKLOADS)
                 + ".</p>")
    parts.append("<h2>Summary</h2>")
    parts.append("<p class=\"note\">One row per series; slopes fitted on "
                 f"n ≥ {fit_from:g} (the number of sizes in brackets); "
                 "baseline = materialise (materialise+lu for solve methods); "
                 "95% bootstrap CI of the speedup where samples exist.</p>")
    sh, sr = summary_rows(df, fit_from)
    numeric = [c in ("threads", "n_max", "median time at n_max") for c in sh]
    parts.append(html_table(sh, sr, numeric))
    parts.append("<h2>The machine's ceilings</h2>")
    ch, cr = calibration_rows(df)
    parts.append(html_table(ch, cr) if cr else
                 "<p class=\"note\">no calibration rows (workload "
                 "<code>_calibrate</code>) in these files.</p>")
    parts.append("<h3>How close materialise came to the write ceiling</h3>")
    eh, er = ceiling_rows(df, fit_from)
    parts.append("<p class=\"note\">Each materialise cell's ceiling is the "
                 "time to write the same 8n² bytes at the machine's best "
                 "store rate, timed around the cell (column "
                 "<code>write_ceiling_s</code>); ceiling / best repetition, "
                 f"1.00 = at the ceiling; sizes n ≥ {fit_from:g}.</p>")
    parts.append(html_table(eh, er) if er else
                 "<p class=\"note\">no row carries a write ceiling "
                 "(<code>write_ceiling_s</code>).</p>")
    parts.append("<h3>How close probe came to the bare loop</h3>")
    bh, br = probe_loop_rows(df)
    parts.append(html_table(bh, br) if br else
                 "<p class=\"note\">no probe row of sin or split at n ≥ "
                 "100000 with a calibration loop of the same run.</p>")
    parts.append("<h2>Figures</h2>")
    parts += [figure(*f) for f in rest] or [
        "<p class=\"note\">no other figure.</p>"]
    parts.append("<h2>Compare</h2>")
    parts.append(compare_section(csvs, diagbench, compare_md)[1])
    parts.append("<h2>Provenance</h2>")
    ph, pr = provenance_rows(df)
    parts.append(html_table(ph, pr))
    parts.append(f"<script>{REPORT_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def write_report(df: pd.DataFrame, csvs: Sequence[str], outdir: str,
                 figures: list, fit_from: float, diagbench: str,
                 compare_md: tuple[str, str] | None = None) -> str:
    _makedirs(outdir)
    path = os.path.join(outdir, REPORT_NAME)
    text = build_report(df, csvs, figures, fit_from, diagbench, compare_md)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise PlotError(f"{path}: cannot write: {e.strerror or e}") from None
    return path


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

HELP_EPILOG = """\
input:
  diagbench CSV files (one header line, RFC 4180).  The 26 columns of the
  diagbench schema (run_id ... git_rev) are required, in any order; later
  columns are read when present (samples_s, write_ceiling_s, write_path,
  matrix_id, ...) and unknown extra columns are ignored.  Several files are
  concatenated; when they hold more than one run_id, later runs are drawn
  with hollow markers and the run_id is a summary column.  Rows whose
  workload starts with '_' (calibration) are left out of the figures and
  the summary; the report lists them as the machine's ceilings.  If the
  same cell appears twice, the later row wins (a warning is printed).

figures (PNG at 100 dpi; SVG with --svg; --format png,svg,pdf), log-log,
<stem> = first CSV's name without .csv.  One colour per strategy in every
figure; panels with no ok cell are not drawn (the legend counts them):
  <stem>_headline     the figure to paste (<= 1600x1000 px): time per
                      extraction vs n for materialise and probe on sin,
                      split, seqsin (and remote) with uncertainty bands and
                      fitted slopes in the legend; beside it the speedup of
                      probe over materialise with its 95% CI where samples
                      exist; CPU and thread count in the title.  Drawn at
                      the largest thread count, forward Jacobian, first run.
  <stem>_diagonal     small multiples, one panel per workload and operator
                      group (jacobian; other operators): median time vs n,
                      colour = strategy, line = operator/jac; unsupported,
                      skipped_memory, skipped_budget, error (or any other
                      non-ok status) cells are markers along the bottom.
  <stem>_solve, <stem>_newton
                      the same for solve:W and newton:W (method =
                      strategy+solver).
  <stem>_speedup      compact grid, one panel per workload: baseline median
                      / strategy median vs n (baseline materialise, or
                      materialise+lu for solve methods), 1x dashed; only
                      sizes where both are ok in the same run and threads.
  <stem>_threads      only if several thread counts / proc_bind / places
                      occur: one panel per workload (its first operator
                      form), line style = thread configuration.
  The family and speedup figures show the largest thread count.  Bands: the
  95% CI of the median from the samples_s column (distribution-free, from
  order statistics; min-max when fewer than 6 samples), else the fastest and
  slowest repetition.  Speedup CI: percentile bootstrap of the ratio of
  medians (999 resamples, fixed seed).  Written file names are listed on
  stderr, one per line.

slopes:
  OLS of log(time_median_s) on log(n) over ok sizes n >= --fit-from
  (scipy.stats.linregress); if fewer than two sizes qualify, all ok sizes
  are used and '[all n]' is shown.  Format: '1.98 ± 0.03 (5 sizes)' (95%
  interval from the Student t quantile with k-2 degrees of freedom),
  '1.00 (2 sizes, no CI)', '- (1 size)'.

--summary:
  prints a Markdown table to stdout, one row per series: workload | operator
  | jac | strategy | threads | slope (+-95%) | n_max | median time at n_max
  | speedup vs baseline (largest n both ran): at the largest n where both the
  series and its baseline are ok, with its 95% bootstrap CI when both rows
  have samples, e.g. '4,712× (4,650×–4,790×) at n=8000'; '-' when no size
  has both.  run_id /
  proc_bind / places columns are added when they vary.  Numbers follow
  tests/number_format.tsv ('2,212×', '12.3 ms').  With --summary, figures
  are written only if -o is given.

--report:
  also writes DIR/report.html: one self-contained page (figures inline as
  data: URIs, no network resource) with the headline figure, the summary
  table, the machine's ceilings (calibration rows) and how close each
  materialise cell came to its write ceiling (write_ceiling_s) and probe to
  the bare libm loop (sin, split at n >= 100000), the other
  figures, the compare verdicts and the provenance (git_rev, matrix_id,
  cpu_model, host, compiler, OpenMP settings).  Compare: with exactly two
  CSVs and when 'DIAGBENCH compare --help' exits 0 (--diagbench, default
  build/diagbench beside plot.py), the report embeds 'DIAGBENCH compare
  BASE NEW --format md'; otherwise it says 'compare not available'.
  --compare-md FILE embeds that compare Markdown report instead (e.g.
  build/ab/compare.md of scripts/ab.sh, with --adaptive its per-cell runs,
  verdicts, CIs and deciding rules).

exit status:
  0 on success; 2 on a usage error or bad input (missing, unreadable or
  empty file, missing column, not a diagbench header, malformed row,
  non-numeric or non-positive value in an ok row, malformed samples_s, no
  ok rows at all), with one line 'plot.py: error: FILE: problem' on stderr.

examples:
  /usr/bin/python3 plot.py results/latest.csv -o results --summary
  /usr/bin/python3 plot.py --report base.csv new.csv -o report/
"""


def _positive_number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: '{text}'") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: '{text}'")
    return v


class _Parser(argparse.ArgumentParser):
    """argparse, its error line made visible() as every other error line of plot.py."""

    def error(self, message: str):  # type: ignore[override]
        super().error(visible(message))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Plot diagbench results: a headline figure (materialise "
                    "vs probe with the\nspeedup), small multiples per "
                    "family of workloads, a speedup grid, a\nthread "
                    "comparison, a Markdown summary and a self-contained "
                    "HTML report.\nUses matplotlib's Agg backend (no "
                    "display).",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="+", metavar="CSV",
                   help="diagbench result file(s)")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help="output directory for figures (created if missing; "
                        "default: directory of the first CSV)")
    p.add_argument("--format", default=DEFAULT_FORMATS, metavar="FMT[,FMT]",
                   help="comma-separated figure formats from "
                        f"{', '.join(ALLOWED_FORMATS)} (default: "
                        f"{DEFAULT_FORMATS})")
    p.add_argument("--svg", action="store_true",
                   help="also write each figure as SVG")
    p.add_argument("--fit-from", type=_positive_number, default=1000.0,
                   metavar="N",
                   help="fit slopes over sizes n >= N only (default: 1000; "
                        "falls back to all sizes if fewer than 2 qualify)")
    p.add_argument("--summary", action="store_true",
                   help="print a Markdown summary table to stdout; figures "
                        "are then written only if -o is given")
    p.add_argument("--report", action="store_true",
                   help="also write DIR/report.html, a self-contained HTML "
                        "report (see below)")
    p.add_argument("--compare-md", metavar="FILE",
                   help="with --report: embed this compare Markdown report "
                        "(e.g. build/ab/compare.md of scripts/ab.sh) instead "
                        "of running compare on two CSVs")
    p.add_argument("--diagbench", metavar="PATH", default=DEFAULT_DIAGBENCH,
                   help="the diagbench binary whose 'compare' the report "
                        "embeds (default: build/diagbench beside plot.py)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ALLOWED_FORMATS]
    if not formats or bad:
        parser.error(f"argument --format: unsupported format "
                     f"{','.join(bad) or repr(args.format)} (choose from "
                     f"{', '.join(ALLOWED_FORMATS)})")
    if args.svg:
        formats.append("svg")
    formats = list(dict.fromkeys(formats))
    if args.compare_md is not None and not args.report:
        parser.error("argument --compare-md: needs --report")
    try:
        cmd = None
        if args.compare_md is not None:
            cmd = (args.compare_md, read_compare_md(args.compare_md))
        df = load_csvs(args.csv)
        if df.attrs.get("duplicates"):
            print(f"{PROG}: warning: {df.attrs['duplicates']} duplicate "
                  "cell(s) (same series and n); kept the last occurrence",
                  file=sys.stderr)
        outdir = args.out if args.out is not None else (
            os.path.dirname(args.csv[0]) or ".")
        figures: list | None = [] if args.report else None
        if not args.summary or args.out is not None or args.report:
            fmts = formats if (not args.summary or args.out is not None) \
                else []
            for path in write_figures(df, outdir, output_stem(args.csv[0]),
                                      fmts, args.fit_from, keep=figures):
                print(path, file=sys.stderr)
        if args.report:
            print(write_report(df, args.csv, outdir, figures, args.fit_from,
                               args.diagbench, cmd), file=sys.stderr)
        if args.summary:
            sys.stdout.write(summary_markdown(df, args.fit_from))
            sys.stdout.flush()
    except PlotError as e:
        print(f"{PROG}: error: {visible(str(e))}", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError, MemoryError, KeyError, TypeError) as e:
        # a failure of ours or of matplotlib's: one line, no traceback, nothing half-written
        # (write_figures removed the figures of this run)
        msg = visible(f"{type(e).__name__}: {e}"[:300])
        print(f"{PROG}: error: cannot draw the figures: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # e.g. `plot.py --summary x.csv | head`: not an error of ours.
        _drop_stdout()
        return 0
    except OSError as e:
        # e.g. `plot.py --summary x.csv > /dev/full`: the summary was not written.
        _drop_stdout()
        print(f"{PROG}: error: writing the summary to standard output: "
              f"{e.strerror or e}", file=sys.stderr)
        return 2
    return 0


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush of what could not be
    written raises nothing more."""
    try:
        sys.stdout = open(os.devnull, "w")
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
