#!/usr/bin/python3
"""plot.py -- turn diagbench CSV results into figures and a Markdown summary.

Usage::

    /usr/bin/python3 plot.py CSV [CSV ...] [-o DIR] [--format png,svg]
                             [--fit-from N] [--summary]

Input is one or more CSV files written by ``build/diagbench`` (one header
line, one row per benchmark cell; the columns are those ``diagbench --schema``
prints, read from ``harness/io/schema.tsv`` beside this file).  The required
columns must be present (in any order); extra columns are ignored.
Several files are concatenated.  Rows whose ``workload`` starts with ``_``
(e.g. ``_calibrate``) are calibration rows and are left out of everything.

A *series* is one (run_id, workload, operator, jac, strategy, threads,
proc_bind, places) combination; its points are the benchmarked sizes ``n``.

Outputs (``<stem>`` is the first CSV's file name without ``.csv``):

``<stem>_<workload>.<fmt>``
    One figure per workload, one log-log panel per operator: median time per
    extraction vs n for every series (line + markers), min-max band shaded,
    fitted slope with 95 % confidence interval in the legend.  Cells whose
    status is not ``ok`` are drawn as markers along the bottom of the panel,
    one marker shape per status (counted in the legend).
``<stem>_speedup.<fmt>``
    materialise median / other-strategy median vs n (same run, workload,
    operator, jac, threads, binding, places, n; both ``ok``), one panel per
    workload, with a reference line at 1x.
``<stem>_threads.<fmt>``
    Only when the data hold several thread counts / bindings / places: one
    column of panels per strategy (one row per workload), time vs n with
    one colour per thread configuration.

Slopes are ordinary least squares fits of log(time_median) against log(n)
over the ``ok`` sizes ``n >= --fit-from``; when fewer than two sizes qualify
all ``ok`` sizes are used and the slope is marked ``(all n)``.  The 95 %
interval uses the Student t quantile (computed here; no SciPy needed).  With
exactly two sizes the slope is exact and no interval exists ("no CI").

``--summary`` prints a Markdown table (one row per series: slope, largest
ok n, median time there, speedup vs materialise there) to stdout; with
``--summary`` figures are written only if ``-o`` is given explicitly.

Bad input (missing/unreadable/empty file, missing column, foreign header,
malformed row, non-numeric value in an ok row, no ok rows) gives one line
``plot.py: error: FILE: problem`` on stderr and exit status 2.

The module is importable; the main entry points are :func:`load_csvs`,
:func:`fit_slope`, :func:`fit_series`, :func:`speedups`,
:func:`summary_markdown`, :func:`write_figures` and :func:`main`.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import sys
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

PROG = "plot.py"


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
        print(f"{PROG}: error: {_e}", file=sys.stderr)
        sys.exit(2)
    raise

#: Kind of each column: text, integer or number.
COLUMN_KIND = {name: kind for name, kind, _ in SCHEMA}

#: Columns every diagbench CSV must have: the schema's first columns, up to
#: ``git_rev`` (the later ones were appended over time; plot.py ignores them).
REQUIRED_COLUMNS = [name for name, _, _ in SCHEMA]
REQUIRED_COLUMNS = REQUIRED_COLUMNS[:REQUIRED_COLUMNS.index("git_rev") + 1]

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
DEFAULT_FORMATS = "png,svg"
ALLOWED_FORMATS = ("png", "svg", "pdf")
PNG_DPI = 150


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10001):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
           + a * math.log(x) + b * math.log1p(-x))
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Cumulative distribution function of Student's t with ``df`` dof."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    x = df / (df + t * t)
    tail = 0.5 * _betainc(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile (inverse CDF) of Student's t, by bisection on :func:`t_cdf`.

    Accurate to ~1e-10 relative; ``t_quantile(0.975, 1) == 12.7062...``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 2.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


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
    x = np.asarray(list(n), dtype=float)
    y = np.asarray(list(t), dtype=float)
    if x.shape != y.shape:
        raise ValueError("n and t must have the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("n and t must be finite")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("n and t must be positive for a log-log fit")
    k = x.size
    if k < 2:
        return math.nan, math.nan
    lx, ly = np.log(x), np.log(y)
    dx = lx - lx.mean()
    sxx = float(np.dot(dx, dx))
    if sxx <= 0.0:
        return math.nan, math.nan
    slope = float(np.dot(dx, ly - ly.mean()) / sxx)
    if k == 2:
        return slope, math.nan
    resid = ly - (ly.mean() + slope * dx)
    s2 = float(np.dot(resid, resid)) / (k - 2)
    se = math.sqrt(s2 / sxx)
    return slope, t_quantile(0.5 + level / 2.0, k - 2) * se


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
            "points": int(sel.sum())}


def format_slope(fit: dict) -> str:
    """Human form of a :func:`fit_series` result, e.g. ``1.02 ± 0.05``."""
    if math.isnan(fit["slope"]):
        return "n/a ({} ok size{})".format(fit["points"],
                                           "" if fit["points"] == 1 else "s")
    text = f"{fit['slope']:.2f}"
    hw = fit["halfwidth"]
    if math.isnan(hw):
        text += " (2 sizes, no CI)"
    elif hw >= 0.005 or hw == 0:
        text += f" ± {hw:.2f}"
    else:
        text += f" ± {hw:.1g}"
    if fit["all_n"]:
        text += " (all n)"
    return text


# --------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------

def _q(value: str) -> str:
    """Quote a cell value for an error message (one line, bounded length)."""
    value = value if len(value) <= 40 else value[:37] + "..."
    return repr(value)


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
        raise PlotError(f"{path}: not a diagbench CSV: header {shown!r} "
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
    raw = pd.DataFrame({c: [rec[idx[c]].strip() for rec in records]
                        for c in REQUIRED_COLUMNS}, dtype=object)
    raw["source"] = path
    raw["line"] = lines

    def fail(i: int, msg: str) -> None:
        raise PlotError(f"{path}: line {raw['line'].iat[i]}: {msg}")

    for i, s in enumerate(raw["status"]):
        if not s:
            fail(i, "empty status")
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
    df = pd.concat(frames, ignore_index=True)
    if not (df["status"] == "ok").any():
        raise PlotError(f"{', '.join(paths)}: no rows with status 'ok' "
                        "(calibration rows excluded); nothing to plot")
    has_n = df["n"].notna()
    dup = has_n & df.duplicated(subset=KEY_COLUMNS + ["n"], keep="last")
    df = df[~dup].reset_index(drop=True)
    df.attrs["duplicates"] = int(dup.sum())
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
        strat = sorted(set(zip(df["strategy"], df["jac"])),
                       key=lambda s: (_rank(STRATEGY_ORDER, s[0]),
                                      _rank(JAC_ORDER, s[1])))
        self.strategy_jac = strat

    def sort_key(self, key: tuple) -> tuple:
        run, wl, op, jac, strat, thr, bind, places = key
        return (_rank(self.workloads, wl), _rank(OPERATOR_ORDER, op),
                _rank(JAC_ORDER, jac), _rank(STRATEGY_ORDER, strat),
                thr, bind, places, _rank(self.runs, run))

    def extras(self, key: tuple, always_threads: bool = False,
               with_run: bool = True) -> str:
        """Label parts for the dimensions that vary in the data."""
        run, _, _, _, _, thr, bind, places = key
        parts = []
        if self.varying["threads"] or always_threads:
            parts.append(f"t={thr if thr else '?'}")
        if self.varying["proc_bind"]:
            parts.append(f"bind={bind or 'unset'}")
        if self.varying["places"]:
            parts.append(f"places={places or 'unset'}")
        if self.varying["run_id"] and with_run:
            parts.append(f"[{run}]")
        return " ".join(parts)

    def style_index(self, key: tuple) -> int:
        """Line style index for the non-strategy dimensions of a series."""
        run, _, _, _, _, thr, bind, places = key
        cfg = self.configs.index((thr, bind, places))
        return cfg + len(self.configs) * self.runs.index(run)


def _jac_text(jac: str) -> str:
    return "" if jac in ("none", "") else f" {jac}"


def iter_series(df: pd.DataFrame, ctx: _Context | None = None):
    """Yield ``(key, rows)`` per series in a stable, readable order."""
    ctx = ctx or _Context(df)
    groups = {k: g for k, g in df.groupby(KEY_COLUMNS, sort=False)}
    for key in sorted(groups, key=ctx.sort_key):
        yield key, groups[key]


def _colour(i: int):
    """Colour number ``i``: tab10, then the light tab20 shades, cycling."""
    import matplotlib
    i %= 20
    if i < 10:
        return matplotlib.colormaps["tab10"](i)
    return matplotlib.colormaps["tab20"](2 * (i - 10) + 1)


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------

def _status_marker(status: str) -> str:
    return STATUS_MARKERS.get(status, OTHER_STATUS_MARKER)


def _status_order(status: str) -> tuple[int, str]:
    return _rank(list(STATUS_MARKERS), status)


def _draw_panel(ax, panel: pd.DataFrame, ctx: _Context, style, label,
                fit_from: float | None, legend: bool = True) -> dict:
    """Draw every series of ``panel`` on ``ax``.

    ``style(key) -> (colour, marker, linestyle)``, ``label(key) -> str``;
    ``fit_from`` None means "no slope in the legend".  With ``legend`` the
    axes get a legend outside on the right (series labels, then one entry
    per non-ok status with its cell count).  Returns ``{status: count}`` of
    the non-ok cells in the panel.
    """
    from matplotlib.lines import Line2D

    ax.set_xscale("log")
    ax.set_yscale("log")
    handles, labels = [], []
    bad: dict[str, list] = {}          # status -> [(n, colour)]
    bad_no_n: dict[str, int] = {}      # status -> rows without n
    lo, hi = math.inf, 0.0
    for key, rows in iter_series(panel, ctx):
        colour, marker, ls = style(key)
        text = label(key)
        ok = rows[rows["status"] == "ok"].sort_values("n")
        if len(ok):
            n = ok["n"].to_numpy()
            line, = ax.plot(n, ok["time_median_s"], color=colour,
                            marker=marker, linestyle=ls, markersize=4,
                            linewidth=1.3)
            tmin, tmax = ok["time_min_s"].to_numpy(), ok["time_max_s"].to_numpy()
            if len(ok) >= 2:
                ax.fill_between(n, tmin, tmax, color=colour, alpha=0.15,
                                linewidth=0)
            else:
                ax.vlines(n, tmin, tmax, color=colour, alpha=0.5)
            lo = min(lo, float(np.min(np.minimum(tmin, ok["time_median_s"]))))
            hi = max(hi, float(np.max(np.maximum(tmax, ok["time_median_s"]))))
            if fit_from is not None:
                fit = fit_series(n, ok["time_median_s"].to_numpy(), fit_from)
                text += ": slope " + format_slope(fit)
            handles.append(line)
        else:
            statuses = ", ".join(sorted(set(rows["status"]), key=_status_order))
            handles.append(Line2D([], [], color=colour, marker=marker,
                                  linestyle=ls, markersize=4))
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
                    markersize=7, color=colour, clip_on=False)
        count = len(points) + bad_no_n.get(status, 0)
        text = f"{status} ({count} cell{'s' if count != 1 else ''}"
        if bad_no_n.get(status):
            text += f", {bad_no_n[status]} without n, not drawn"
        handles.append(Line2D([], [], linestyle="none", color="0.3",
                              marker=_status_marker(status), markersize=7))
        labels.append(text + ")")

    if hi > 0:
        if statuses:
            # Leave a strip at the bottom for the status markers.
            bottom_frac = row_y[statuses[-1]] + 0.08
            top_frac = 0.06
            dec = max(math.log10(hi / lo), 0.5)
            total = dec / (1.0 - bottom_frac - top_frac)
            ax.set_ylim(10 ** (math.log10(lo) - bottom_frac * total),
                        10 ** (math.log10(hi) + top_frac * total))
    else:
        ax.set_ylim(1e-9, 1.0)
        ax.text(0.5, 0.5, "no ok cells", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    ax.set_xlabel("n (elements)")
    ax.set_ylabel("time per extraction (s)")
    if legend:
        ax.legend(handles, labels, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  fontsize="small", frameon=False)
    return {st: len(bad.get(st, [])) + bad_no_n.get(st, 0) for st in statuses}


def _machine_text(df: pd.DataFrame) -> str:
    pairs = list(dict.fromkeys(zip(df["cpu_model"], df["host"])))
    names = [f"{cpu or 'unknown CPU'} ({host or 'unknown host'})"
             for cpu, host in pairs]
    machine = "; ".join(names) if len(names) <= 3 else f"{len(names)} machines"
    threads = sorted({int(t) for t in df["threads"] if t > 0})
    tt = ", ".join(map(str, threads)) if threads else "?"
    return f"{machine} — {tt} thread{'' if threads == [1] else 's'}"


def _panel_height(entries: int) -> float:
    return max(3.0, 0.19 * entries + 0.8)


def _new_figure(heights: list[float], width: float = 12.5):
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(width, sum(heights) + 0.9), layout="constrained")
    axes = fig.subplots(len(heights), 1, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    return fig, axes


def _entries(panel: pd.DataFrame) -> int:
    nseries = panel[KEY_COLUMNS].drop_duplicates().shape[0]
    return nseries + panel.loc[panel["status"] != "ok", "status"].nunique()


def make_workload_figure(df: pd.DataFrame, workload: str, fit_from: float,
                         ctx: _Context | None = None):
    """Time-vs-n figure for one workload, one panel per operator."""
    ctx = ctx or _Context(df)
    wdf = df[df["workload"] == workload]
    ops = sorted(wdf["operator"].unique(), key=lambda o: _rank(OPERATOR_ORDER, o))
    panels = [wdf[wdf["operator"] == op] for op in ops]
    fig, axes = _new_figure([_panel_height(_entries(p)) for p in panels])

    def style(key):
        si = ctx.strategy_jac.index((key[4], key[3]))
        return (_colour(si), LINE_MARKERS[si % len(LINE_MARKERS)],
                LINE_STYLES[ctx.style_index(key) % len(LINE_STYLES)])

    def label(key):
        ex = ctx.extras(key)
        return f"{key[4]}{_jac_text(key[3])}" + (f" {ex}" if ex else "")

    for ax, op, panel in zip(axes, ops, panels):
        _draw_panel(ax, panel, ctx, style, label, fit_from)
        ax.set_title(f"operator: {op}", fontsize="medium")
    fig.suptitle(f"diagbench · workload {workload}\n{_machine_text(wdf)}")
    return fig


def make_threads_figure(df: pd.DataFrame, ctx: _Context | None = None):
    """Thread-comparison figure, or None when the data hold only one
    (threads, proc_bind, places) configuration.

    One column of panels per strategy, one row per workload; in each panel
    time vs n per configuration (colour), operator/jac (marker) and run
    (line style), with one shared, factorised legend.
    """
    from matplotlib.lines import Line2D

    ctx = ctx or _Context(df)
    if ctx.known_configs < 2:
        return None
    strategies = sorted(df["strategy"].unique(),
                        key=lambda s: _rank(STRATEGY_ORDER, s))
    combos = sorted(set(zip(df["operator"], df["jac"])),
                    key=lambda c: (_rank(OPERATOR_ORDER, c[0]),
                                   _rank(JAC_ORDER, c[1])))
    import matplotlib.pyplot as plt
    nrow, ncol = len(ctx.workloads), len(strategies)
    fig = plt.figure(figsize=(4.3 * ncol + 3.2, 3.1 * nrow + 0.9),
                     layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False, sharex=True)

    def style(key):
        run, _, op, jac, _, thr, bind, places = key
        mi = combos.index((op, jac))
        return (_colour(ctx.configs.index((thr, bind, places))),
                LINE_MARKERS[mi % len(LINE_MARKERS)],
                LINE_STYLES[ctx.runs.index(run) % len(LINE_STYLES)])

    counts: dict[str, int] = {}
    for r, wl in enumerate(ctx.workloads):
        for c, strat in enumerate(strategies):
            ax = axes[r, c]
            panel = df[(df["workload"] == wl) & (df["strategy"] == strat)]
            if panel.empty:
                ax.set_xscale("log")
                ax.text(0.5, 0.5, "not run", transform=ax.transAxes,
                        ha="center", va="center", color="0.4")
                ax.set_yticks([])
            else:
                for st, k in _draw_panel(ax, panel, ctx, style, lambda k: "",
                                         None, legend=False).items():
                    counts[st] = counts.get(st, 0) + k
            ax.set_title(f"{wl} · {strat}", fontsize="medium")
            if r < nrow - 1:
                ax.set_xlabel("")
            if c > 0:
                ax.set_ylabel("")

    handles, labels = [], []
    for cfg in ctx.configs:
        handles.append(Line2D([], [], color=_colour(ctx.configs.index(cfg)),
                              linewidth=2))
        labels.append(ctx.extras(("",) * 5 + cfg, always_threads=True,
                                 with_run=False))
    for i, (op, jac) in enumerate(combos):
        handles.append(Line2D([], [], color="0.3", linestyle="none",
                              marker=LINE_MARKERS[i % len(LINE_MARKERS)]))
        labels.append(f"{op}{_jac_text(jac)}")
    if ctx.varying["run_id"]:
        for i, run in enumerate(ctx.runs):
            handles.append(Line2D([], [], color="0.3",
                                  linestyle=LINE_STYLES[i % len(LINE_STYLES)]))
            labels.append(f"run {run}")
    for st in sorted(counts, key=_status_order):
        handles.append(Line2D([], [], color="0.3", linestyle="none",
                              marker=_status_marker(st), markersize=7))
        labels.append(f"{st} ({counts[st]} cell{'s' if counts[st] != 1 else ''})")
    axes[0, -1].legend(handles, labels, loc="upper left",
                       bbox_to_anchor=(1.03, 1.0), borderaxespad=0.0,
                       fontsize="small", frameon=False,
                       title="colour: threads/binding\nmarker: operator/jac"
                             + ("\nline: run" if ctx.varying["run_id"]
                                else ""),
                       title_fontsize="small", alignment="left")
    fig.suptitle("diagbench · thread configurations per workload and "
                 f"strategy\n{_machine_text(df)}")
    return fig


def baseline_of(strategy: str) -> str:
    """The dense path a strategy is compared with: ``materialise`` for
    diagonal strategies, ``materialise+lu`` for solve methods (``S+solver``,
    the rows of ``solve:W`` / ``newton:W`` workloads)."""
    return "materialise+lu" if "+" in str(strategy) else BASELINE


def speedups(df: pd.DataFrame) -> pd.DataFrame:
    """Speedup of every non-materialise strategy over materialise (solve
    methods: over materialise+lu, see baseline_of).

    Matches ok rows on run_id, workload, operator, jac, threads, proc_bind,
    places (those of these columns present in ``df``) and n.  Returns one
    row per match with the match columns, ``strategy``, ``n``,
    ``time_materialise_s``, ``time_s`` and ``speedup`` =
    time_materialise_s / time_s (> 1 means faster than materialise).
    Sizes where either side is not ok produce no row.
    """
    match = [c for c in MATCH_COLUMNS if c in df.columns] + ["n"]
    ok = df[df["status"] == "ok"]
    ok = ok.assign(_baseline=ok["strategy"].map(baseline_of))
    base = ok[ok["strategy"] == ok["_baseline"]][match + ["_baseline",
                                                           "time_median_s"]]
    base = base.rename(columns={"time_median_s": "time_materialise_s"})
    other = ok[ok["strategy"] != ok["_baseline"]][match + ["_baseline",
                                                           "strategy",
                                                           "time_median_s"]]
    other = other.rename(columns={"time_median_s": "time_s"})
    m = other.merge(base, on=match + ["_baseline"], how="inner")
    m["speedup"] = m["time_materialise_s"] / m["time_s"]
    cols = match[:-1] + ["strategy", "n", "time_materialise_s", "time_s",
                         "speedup"]
    return m[cols].sort_values(match[:-1] + ["strategy", "n"]).reset_index(
        drop=True)


def make_speedup_figure(df: pd.DataFrame, ctx: _Context | None = None):
    """Speedup-vs-n figure, one panel per workload; None if no pairs."""
    ctx = ctx or _Context(df)
    sp = speedups(df)
    if sp.empty:
        return None
    workloads = [w for w in ctx.workloads if (sp["workload"] == w).any()]
    heights = []
    for w in workloads:
        k = sp.loc[sp["workload"] == w, MATCH_COLUMNS + ["strategy"]]
        heights.append(_panel_height(k.drop_duplicates().shape[0] + 1))
    fig, axes = _new_figure(heights)
    for ax, w in zip(axes, workloads):
        wsp = sp[sp["workload"] == w]
        ax.set_xscale("log")
        ax.set_yscale("log")
        groups = {k: g for k, g in wsp.groupby(
            ["run_id", "workload", "operator", "jac", "strategy", "threads",
             "proc_bind", "places"], sort=False)}
        for i, key in enumerate(sorted(groups, key=ctx.sort_key)):
            g = groups[key].sort_values("n")
            ex = ctx.extras(key)
            ax.plot(g["n"], g["speedup"], color=_colour(i),
                    marker=LINE_MARKERS[i % len(LINE_MARKERS)],
                    linestyle=LINE_STYLES[(i // 10) % len(LINE_STYLES)],
                    markersize=4, linewidth=1.3,
                    label=f"{key[2]}{_jac_text(key[3])}: {key[4]}"
                          + (f" {ex}" if ex else ""))
        ax.axhline(1.0, color="k", linewidth=0.9, linestyle="--",
                   label="1× (same as materialise)")
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
        ax.set_title(f"workload: {w}", fontsize="medium")
        ax.set_xlabel("n (elements)")
        ax.set_ylabel("speedup vs materialise (×)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, fontsize="small", frameon=False)
    fig.suptitle("diagbench · speedup = materialise median / strategy median"
                 f"\n{_machine_text(df)}")
    return fig


def _safe_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._")
    return safe or "workload"


def output_stem(path: str) -> str:
    """First CSV's basename without a ``.csv`` suffix."""
    base = os.path.basename(path)
    return base[:-4] if base.lower().endswith(".csv") and len(base) > 4 else base


def write_figures(df: pd.DataFrame, outdir: str, stem: str,
                  formats: Sequence[str] = ("png", "svg"),
                  fit_from: float = 1000) -> list[str]:
    """Write all figures; returns the list of files written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "diagbench"   # reproducible SVG ids

    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as e:
        raise PlotError(f"{outdir}: cannot create output directory: "
                        f"{e.strerror or e}") from None
    ctx = _Context(df)
    written: list[str] = []
    used = {"speedup", "threads"}

    def save(fig, name):
        try:
            for fmt in formats:
                path = os.path.join(outdir, f"{stem}_{name}.{fmt}")
                kw = {"dpi": PNG_DPI} if fmt == "png" else {}
                if fmt in ("svg", "pdf"):
                    kw["metadata"] = {"Date": None}
                try:
                    fig.savefig(path, format=fmt, **kw)
                except OSError as e:
                    raise PlotError(f"{path}: cannot write: "
                                    f"{e.strerror or e}") from None
                written.append(path)
        finally:
            plt.close(fig)

    for w in ctx.workloads:
        name = _safe_name(w)
        base, k = name, 2
        while name in used:
            name, k = f"{base}-{k}", k + 1
        used.add(name)
        save(make_workload_figure(df, w, fit_from, ctx), name)
    fig = make_speedup_figure(df, ctx)
    if fig is not None:
        save(fig, "speedup")
    fig = make_threads_figure(df, ctx)
    if fig is not None:
        save(fig, "threads")
    return written


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------

def format_time(seconds: float) -> str:
    """Seconds in an SI unit with 3 significant digits, e.g. ``12.3 µs``."""
    if not math.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_speedup(x: float) -> str:
    if x >= 100:
        return f"{x:.0f}×"
    if x >= 10:
        return f"{x:.1f}×"
    return f"{x:.2f}×"


def _md(cell: str) -> str:
    return str(cell).replace("|", "\\|")


def summary_markdown(df: pd.DataFrame, fit_from: float = 1000) -> str:
    """Markdown table, one row per series (see ``--help`` for the columns).

    ``run_id``, ``proc_bind`` and ``places`` columns are added only when the
    data hold more than one value of them.
    """
    ctx = _Context(df)
    sp = speedups(df)
    sp_index = {tuple(r[c] for c in MATCH_COLUMNS + ["strategy", "n"]):
                r["speedup"] for r in sp.to_dict("records")}
    extra_front = ["run_id"] if ctx.varying["run_id"] else []
    extra_mid = [c for c in ("proc_bind", "places") if ctx.varying[c]]
    head = (extra_front + ["workload", "operator", "jac", "strategy",
                           "threads"] + extra_mid +
            ["slope (±95%)", "n_max", "median time at n_max",
             "speedup vs materialise at n_max"])
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" for _ in head) + "|"]
    for key, rows in iter_series(df, ctx):
        run, wl, op, jac, strat, thr, bind, places = key
        ok = rows[rows["status"] == "ok"].sort_values("n")
        if len(ok):
            fit = fit_series(ok["n"].to_numpy(),
                             ok["time_median_s"].to_numpy(), fit_from)
            slope = format_slope(fit)
            nmax = float(ok["n"].iat[-1])
            nmax_s = f"{int(nmax)}"
            t_s = format_time(float(ok["time_median_s"].iat[-1]))
            sx = sp_index.get((run, wl, op, jac, thr, bind, places, strat,
                               nmax))
            sp_s = format_speedup(sx) if sx is not None else "—"
        else:
            statuses = ", ".join(sorted(set(rows["status"]),
                                        key=_status_order))
            slope, nmax_s, t_s, sp_s = "n/a", "—", f"— ({statuses})", "—"
        cells = ([run] if extra_front else []) + [
            wl, op, jac, strat, str(thr) if thr else "?"]
        cells += [{"proc_bind": bind, "places": places}[c] or "unset"
                  for c in extra_mid]
        cells += [slope, nmax_s, t_s, sp_s]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

HELP_EPILOG = """\
input:
  diagbench CSV files (one header line, RFC 4180).  The 26 columns of the
  diagbench schema (run_id ... git_rev) are required, in any order; extra
  columns are ignored.  Several files are concatenated; when they hold more
  than one run_id, the run_id appears in legend labels and as a summary
  column.  Rows whose workload starts with '_' (calibration) are ignored.
  If the same cell appears twice, the later row wins (a warning is printed).

figures (PNG at 150 dpi and/or SVG/PDF, log-log), <stem> = first CSV's name
without .csv, workload names sanitised for file names (':' -> '_'):
  <stem>_<workload>   one panel per operator: median time vs n per series
                      (strategy x jac, plus threads/binding/run when those
                      vary), min-max band, fitted slope +-95% CI in the
                      legend; cells with status unsupported, skipped_memory,
                      skipped_budget, error (or any other non-ok status) are
                      markers along the bottom, one shape per status.
  <stem>_speedup      materialise median / strategy median vs n, per
                      workload (lines per operator, jac, strategy), line at
                      1x; only sizes where both are ok in the same run,
                      threads and binding.  Not written if there are none.
  <stem>_threads      only if several thread counts / proc_bind / places
                      occur: one column of panels per strategy, one row per
                      workload; time vs n, colour = thread configuration,
                      marker = operator/jac.
  Written file names are listed on stderr, one per line.

slopes:
  OLS of log(time_median_s) on log(n) over ok sizes n >= --fit-from; if
  fewer than two sizes qualify, all ok sizes are used and '(all n)' is shown.
  95% interval from the Student t quantile with k-2 degrees of freedom; with
  exactly two sizes the slope is shown with '(2 sizes, no CI)'.

--summary:
  prints a Markdown table to stdout, one row per series: workload | operator
  | jac | strategy | threads | slope (+-95%) | n_max | median time at n_max
  | speedup vs materialise at n_max (non-materialise strategies with an ok
  materialise row at the same n, workload, operator, jac, threads, binding
  and run; otherwise '—').  run_id / proc_bind / places columns are added
  when they vary.  With --summary, figures are written only if -o is given.

exit status:
  0 on success; 2 on a usage error or bad input (missing, unreadable or
  empty file, missing column, not a diagbench header, malformed row,
  non-numeric or non-positive value in an ok row, no ok rows at all), with
  one line 'plot.py: error: FILE: problem' on stderr.

example:
  /usr/bin/python3 plot.py results/latest.csv -o results --summary
"""


def _positive_number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Plot diagbench results: log-log time-vs-n figures per "
                    "workload with fitted\nslopes, a speedup figure, a "
                    "thread-comparison figure, and an optional\nMarkdown "
                    "summary.  Uses matplotlib's Agg backend (no display).",
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
    p.add_argument("--fit-from", type=_positive_number, default=1000.0,
                   metavar="N",
                   help="fit slopes over sizes n >= N only (default: 1000; "
                        "falls back to all sizes if fewer than 2 qualify)")
    p.add_argument("--summary", action="store_true",
                   help="print a Markdown summary table to stdout; figures "
                        "are then written only if -o is given")
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
    formats = list(dict.fromkeys(formats))
    try:
        df = load_csvs(args.csv)
        if df.attrs.get("duplicates"):
            print(f"{PROG}: warning: {df.attrs['duplicates']} duplicate "
                  "cell(s) (same series and n); kept the last occurrence",
                  file=sys.stderr)
        if not args.summary or args.out is not None:
            outdir = args.out if args.out is not None else (
                os.path.dirname(args.csv[0]) or ".")
            for path in write_figures(df, outdir, output_stem(args.csv[0]),
                                      formats, args.fit_from):
                print(path, file=sys.stderr)
        if args.summary:
            sys.stdout.write(summary_markdown(df, args.fit_from))
            sys.stdout.flush()
    except PlotError as e:
        msg = " ".join(str(e).split("\n"))
        print(f"{PROG}: error: {msg}", file=sys.stderr)
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
