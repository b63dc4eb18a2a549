"""The report of a calibration drift study: one self-contained HTML page and a CSV table.

:func:`write_report` reads a study's results (the HDF5 file written by the study runner,
opened with :func:`qsense.calibration.open_results`, or the opened object itself) and
writes

* ``<output>.html``: a single page that needs nothing but a browser (no network, no
  external style sheet, script or font; the plots are PNG images embedded as base64
  ``data:`` URIs). It holds a header (study name and title, date, qsense and dependency
  versions, seed, number of cases, the sensors and the resolved configuration), the
  verdict table (per criterion: the quantum sensor's value with its Monte Carlo spread,
  the classical fallback's, the threshold with its units, pass/fail of each, the margin
  and the gain), the integration cost set against the measured gain, the Allan
  deviations of both sensors with error bars (every case faint, the median over cases
  bold), their amplitude spectral densities and their drift fits over the decimated
  series, every axis labelled in the sensors' display units;
* ``<output stem>_verdicts.csv`` beside it: the same verdict table, one row per
  criterion, numbers at full precision.

Both files are written atomically (a temporary file in the destination folder renamed
over the target with :func:`os.replace`), so a crash never leaves a half page. Every
text that comes from the study (names, titles, configuration values) is HTML-escaped.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as _dt
import html
import io
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from qsense import __version__
from qsense import _report_plots as plots
from qsense._validate import warn
from qsense.io import replacing

__all__ = ["FUSED_COLUMNS", "PLOT_CASES", "VERDICT_COLUMNS", "write_report"]

#: Columns of the verdict CSV, in order (numbers in the criterion's display units).
VERDICT_COLUMNS = (
    "criterion",
    "description",
    "units",
    "comparison",
    "threshold",
    "quantum",
    "quantum_lo",
    "quantum_hi",
    "quantum_pass",
    "classical",
    "classical_lo",
    "classical_hi",
    "classical_pass",
    "margin",
    "gain",
)
_NUMBERS = ("threshold", "quantum", "quantum_lo", "quantum_hi", "classical", "classical_lo")
_NUMBERS += ("classical_hi", "margin", "gain")
_FUSED_NUMBERS = ("fused", "fused_lo", "fused_hi")
#: Columns the CSV adds, after :data:`VERDICT_COLUMNS`, for a study with processing.fuse.
FUSED_COLUMNS = ("fused", "fused_lo", "fused_hi", "fused_pass")
#: Most cases drawn in the plots (faint lines and the median over them); a study with
#: more has this many evenly spaced ones drawn, and the page says so.
PLOT_CASES = 200
_INTERFACE = ("path", "config", "attrs", "cases", "sensors", "case", "verdicts")
_ROLES = ("quantum", "classical")

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:1.5em auto;max-width:1100px;padding:0 1em;color:#1a1a1a;line-height:1.4}
h1{margin-bottom:.1em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
.subtitle{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.pass{background:#c8e6c9;color:#1b5e20;font-weight:600;text-align:center}
td.fail{background:#ffcdd2;color:#b71c1c;font-weight:600;text-align:center}
td.na{background:#eee;color:#555;text-align:center}
.spread{color:#555;font-size:.88em}.wide{overflow-x:auto}
table.verdicts td:first-child{min-width:10em}
img{max-width:100%;height:auto;display:block;margin:.5em 0}
.notice{background:#fff3cd;border:1px solid #e0c36c;padding:.8em 1em}
table.config td:first-child{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
footer{margin-top:2em;color:#777;font-size:.85em}
"""


# ---------------------------------------------------------------- input
def _open(results: Any) -> Any:
    """The StudyResults behind ``results`` (a path is opened; an object is checked)."""
    if isinstance(results, str | os.PathLike):
        path = Path(results)
        if str(results) == "":
            raise ValueError("results must be the path of a study results file, got ''")
        if not path.exists():
            raise FileNotFoundError(f"results: no such study results file {str(path)!r}")
        if path.is_dir():
            raise IsADirectoryError(
                f"results must be a study results file (HDF5), got the folder {str(path)!r}"
            )
        from qsense.calibration.results import open_results

        return open_results(path)
    missing = [name for name in _INTERFACE if not hasattr(results, name)]
    if missing:
        raise TypeError(
            "results must be the path of a study results file (str or os.PathLike) or the "
            "StudyResults that qsense.calibration.open_results returns, got "
            f"{type(results).__name__} (without {', '.join(missing)})"
        )
    return results


def _output(output: Any, results: Any) -> Path:
    """The HTML path: ``output``, or the results file's path with suffix ``.html``."""
    if output is None:
        if results.path is None:
            raise ValueError("output must be given when the results have no file (path None)")
        return Path(results.path).with_suffix(".html")
    if not isinstance(output, str | os.PathLike):
        raise TypeError(
            f"output must be a file path (str or os.PathLike) or None, got "
            f"{type(output).__name__} {output!r}"
        )
    path = Path(output)
    if str(output) == "" or path.name == "":
        raise ValueError(f"output must be a file path, got {str(output)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"output must be a file path, got the folder {str(path)!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output: folder {str(path.parent)!r} does not exist")
    return path


def _check_verdicts(verdicts: Any, where: str) -> xr.Dataset:
    if not isinstance(verdicts, xr.Dataset):
        raise TypeError(
            f"{where}: verdicts() must return an xarray.Dataset, got {type(verdicts).__name__}"
        )
    missing = [v for v in (*_NUMBERS, "quantum_pass", "classical_pass") if v not in verdicts]
    missing += [c for c in ("description", "units", "comparison") if c not in verdicts]
    if "criterion" not in verdicts.dims or missing:
        raise ValueError(
            f"{where}: the verdict table must be on dimension 'criterion' with "
            f"{', '.join(VERDICT_COLUMNS[1:])}; missing {missing or ['criterion']}"
        )
    return verdicts


# ---------------------------------------------------------------- formatting
def _e(value: Any) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
    """A number with 4 significant digits; NaN as 'n/a'."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if not math.isfinite(x):
        return "n/a" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.4g}"


def _units(units: Any) -> str:
    """Escaped units after a number (' nm s-2'); nothing for dimensionless ('1')."""
    text = str(units).strip()
    return "" if text in ("", "1") else f" {_e(text)}"


def _passed(flag: Any, value: Any = 0.0) -> str | None:
    """'pass', 'fail' or None (undecided: a NaN flag, or no value to judge)."""
    x = float(flag)
    if math.isnan(x) or math.isnan(float(value)):
        return None
    return "pass" if x >= 0.5 else "fail"


def _cell_pass(flag: Any, value: Any) -> str:
    word = _passed(flag, value)
    if word is None:
        return '<td class="na">n/a</td>'
    return f'<td class="{word}">{word.upper()}</td>'


def _scalar(ds: xr.Dataset, name: str, k: int) -> Any:
    value = ds[name].values[k]
    return value.item() if isinstance(value, np.generic) else value


def _flatten(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as dotted keys; lists of mappings indexed (``sensors[0].model``)."""
    if isinstance(config, Mapping):
        out = []
        for key, value in config.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out or [(prefix, "{}")]
    if isinstance(config, list | tuple) and any(isinstance(v, Mapping) for v in config):
        out = []
        for k, value in enumerate(config):
            out += _flatten(value, f"{prefix}[{k}]")
        return out
    if isinstance(config, list | tuple | np.ndarray):
        return [(prefix, "[" + ", ".join(str(v) for v in np.asarray(config).tolist()) + "]")]
    return [(prefix, config)]


def _img(data: bytes, alt: str, ident: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img id="{ident}" alt="{_e(alt)}" src="data:image/png;base64,{encoded}">'


# ---------------------------------------------------------------- sections
def _header(results: Any, n_done: int) -> str:
    attrs = dict(results.attrs)
    name = attrs.get("name", Path(str(results.path or "study")).stem)
    title = attrs.get("title", "")
    rows = [
        ("study", name),
        ("results file", results.path),
        ("created", attrs.get("created", "unknown")),
        ("seed", attrs.get("seed", "unknown")),
        ("cases finished", f"{n_done} of {attrs.get('n_cases', '?')}"),
        ("qsense", attrs.get("qsense_version", "unknown")),
    ]
    versions = attrs.get("versions", {})
    if isinstance(versions, Mapping):
        text = ", ".join(f"{k} {v}" for k, v in versions.items())
    else:
        text = str(versions)
    rows.append(("dependencies", text or "not recorded"))
    meta = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    sensors = "".join(
        f"<tr><td>{_e(role)}</td><td>{_e(info.get('label', ''))}</td>"
        f"<td>{_e(info.get('model', ''))}</td><td>{_e(info.get('quantity', ''))}</td>"
        f"<td>{_e(info.get('units', ''))}</td><td>{_e(info.get('display_units', ''))}</td></tr>"
        for role, info in results.sensors.items()
    )
    return (
        f"<header><h1>{_e(title or name)}</h1>"
        f'<p class="subtitle">calibration drift study <b>{_e(name)}</b>: quantum sensor '
        "against its classical fallback</p>"
        f'<table class="meta">{meta}</table>'
        '<table class="sensors"><tr><th>role</th><th>sensor</th><th>model</th>'
        f"<th>quantity</th><th>SI units</th><th>display units</th></tr>{sensors}</table>"
        "</header>"
    )


def _verdict_roles(v: xr.Dataset) -> tuple[str, ...]:
    """The roles of the verdict table: both sensors, and the fused series of a study
    with ``processing.fuse``."""
    return (*_ROLES, "fused") if "fused" in v.data_vars else _ROLES


def _verdict_table(v: xr.Dataset, n_done: int) -> str:
    spread = (
        f"the median over the {n_done} finished cases with, in brackets, their 16th and "
        "84th percentiles"
        if n_done > 1
        else "the one finished case (no Monte Carlo spread: the brackets repeat the value)"
    )
    roles = _verdict_roles(v)
    fused = "<th>fused (quantum + classical)</th><th>verdict</th>" if "fused" in roles else ""
    head = (
        "<tr><th>criterion</th><th>threshold</th><th>quantum sensor</th><th>verdict</th>"
        f"<th>classical fallback</th><th>verdict</th>{fused}"
        '<th>margin<br><span class="spread">&gt; 1: quantum passes</span></th>'
        '<th>gain<br><span class="spread">&gt; 1: quantum better</span></th></tr>'
    )
    rows = []
    for k, criterion in enumerate(v["criterion"].values.tolist()):
        units = _units(_scalar(v, "units", k))
        comparison = _scalar(v, "comparison", k)
        cells = [
            f'<td><b class="criterion">{_e(criterion)}</b><br>'
            f'<span class="spread">{_e(_scalar(v, "description", k))}</span></td>',
            f'<td class="num">{_e(comparison)} {_num(_scalar(v, "threshold", k))}{units}</td>',
        ]
        for role in roles:
            value = _num(_scalar(v, role, k))
            lo, hi = _num(_scalar(v, f"{role}_lo", k)), _num(_scalar(v, f"{role}_hi", k))
            cells.append(
                f'<td class="num">{value}{units}<br><span class="spread">[{lo}, {hi}]</span></td>'
            )
            cells.append(_cell_pass(_scalar(v, f"{role}_pass", k), _scalar(v, role, k)))
        cells.append(f'<td class="num">{_num(_scalar(v, "margin", k))}</td>')
        cells.append(f'<td class="num">{_num(_scalar(v, "gain", k))}</td>')
        rows.append(f'<tr data-criterion="{_e(criterion)}">{"".join(cells)}</tr>')
    return (
        '<section id="verdicts"><h2>Verdicts</h2>'
        f'<div class="wide"><table class="verdicts" id="verdict-table">{head}{"".join(rows)}'
        "</table></div>"
        f"<p>Each sensor's value is {spread}, in the criterion's display units; a verdict "
        "compares that value with the threshold. The same table is written as CSV beside "
        "this page.</p></section>"
    )


def _cost_section(v: xr.Dataset) -> str:
    """The integration cost of each sensor (``verdicts().attrs``) against the gain."""
    a = v.attrs
    gains = np.asarray(v["gain"].values, dtype=float)
    criteria = [str(c) for c in v["criterion"].values.tolist()]
    ratio = None
    if "cost_quantum" in a and "cost_classical" in a:
        currency = _e(a.get("cost_currency", ""))
        years = _num(a.get("cost_years", float("nan")))
        rows = [
            (
                f"cost over {years} years (capital + operating, {currency})",
                _num(a["cost_quantum"]),
                _num(a["cost_classical"]),
                _num(a.get("cost_ratio", float("nan"))),
            ),
            (
                "calibration downtime (days per year)",
                _num(a.get("downtime_quantum", float("nan"))),
                _num(a.get("downtime_classical", float("nan"))),
                "",
            ),
            (
                "availability",
                _num(a.get("availability_quantum", float("nan"))),
                _num(a.get("availability_classical", float("nan"))),
                "",
            ),
        ]
        body = "".join(
            f'<tr><td>{what}</td><td class="num">{q}</td><td class="num">{c}</td>'
            f'<td class="num">{r}</td></tr>'
            for what, q, c, r in rows
        )
        with contextlib.suppress(TypeError, ValueError):
            ratio = float(a["cost_ratio"])
        per_cost = _num(a.get("gain_per_cost", float("nan")))
        table = (
            '<table class="cost" id="cost-table"><tr><th></th><th>quantum sensor</th>'
            f"<th>classical fallback</th><th>quantum / classical</th></tr>{body}</table>"
            f"<p>Measured gain, geometric mean over the criteria: "
            f"<b>{_num(a.get('gain_geomean', float('nan')))}</b> for a cost ratio of "
            f"<b>{_num(a.get('cost_ratio', float('nan')))}</b>: gain per unit cost "
            f'<b id="gain-per-cost">{per_cost}</b> (&gt; 1: the quantum sensor gains more '
            "than it costs).</p>"
        )
    else:
        table = "<p>The study states no integration-cost inputs (no <code>[cost]</code>).</p>"
    fig = plots.gain_figure(criteria, gains, ratio)
    figure = None if fig is None else plots.png(fig)
    gain_text = ", ".join(f"{_e(c)} {_num(g)}" for c, g in zip(criteria, gains, strict=True))
    return (
        '<section id="cost"><h2>Integration cost against the measured gain</h2>'
        f"{table}<p>Gain of the quantum sensor per criterion (&gt; 1: better than the "
        f"classical fallback): {gain_text}.</p>"
        + (_img(figure, "gain per criterion against the cost ratio", "plot-gain") if figure else "")
        + "</section>"
    )


def _config_section(config: Any) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(val)}</td></tr>" for k, val in _flatten(config))
    return (
        '<section id="configuration"><h2>Configuration (resolved; quantities in SI)</h2>'
        f'<table class="config"><tr><th>key</th><th>value</th></tr>{rows}</table></section>'
    )


def _plot_sections(results: Any, cases: list[int]) -> str:
    note = ""
    if len(cases) > PLOT_CASES:  # reading a case costs ~0.1 s: sample them evenly
        picks = np.unique(np.round(np.linspace(0, len(cases) - 1, PLOT_CASES)).astype(int))
        note = (
            f'<p class="notice" id="plot-cases">The plots show {len(picks)} of the '
            f"{len(cases)} finished cases, evenly spaced (cases {cases[0]} to {cases[-1]}); "
            "the verdict table uses every case.</p>"
        )
        cases = [cases[k] for k in picks]
    data = [results.case(i) for i in cases]
    roles = [r for r in _ROLES if r in results.sensors and f"{r}_adev" in data[0]]
    sensors = dict(results.sensors)
    if "fused_adev" in data[0] and "quantum" in sensors:  # processing.fuse: a third series
        method = data[0].attrs.get("fuse", "")
        sensors["fused"] = {**sensors["quantum"], "label": f"{method} fusion of both".strip()}
        roles.append("fused")
    criteria = results.config.get("criteria") if isinstance(results.config, Mapping) else None
    criteria = [c for c in criteria if isinstance(c, Mapping)] if isinstance(criteria, list) else []
    adev = plots.png(plots.adev_figure(data, sensors, roles, criteria))
    asd = plots.png(plots.asd_figure(data, sensors, roles))
    drift = plots.png(plots.drift_figure(data, sensors, roles, cases))
    return (
        f'<section id="stability"><h2>Allan deviations</h2>{note}'
        + _img(adev, "Allan deviations of both sensors with error bars", "plot-adev")
        + '</section><section id="spectra"><h2>Amplitude spectral densities</h2>'
        + _img(asd, "amplitude spectral densities of both sensors", "plot-asd")
        + '</section><section id="drift"><h2>Drift fits</h2>'
        + _img(drift, "drift fits over the decimated series", "plot-drift")
        + "</section>"
    )


# ---------------------------------------------------------------- files
def _atomic_write(path: Path, text: str, newline: str | None = None) -> None:
    """Write ``text`` to ``path`` atomically (:func:`qsense.io.replacing`)."""
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline=newline) as f:
        f.write(text)


def _csv_text(v: xr.Dataset | None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = VERDICT_COLUMNS
    if v is not None and "fused" in _verdict_roles(v):
        columns += FUSED_COLUMNS
    writer.writerow(columns)
    if v is not None:
        for k, criterion in enumerate(v["criterion"].values.tolist()):
            row: list[Any] = [criterion]
            for col in columns[1:]:
                value = _scalar(v, col, k)
                if col.endswith("_pass"):
                    row.append(_passed(value, _scalar(v, col[: -len("_pass")], k)) or "")
                elif col in _NUMBERS + _FUSED_NUMBERS:
                    row.append(repr(float(value)))
                else:
                    row.append(str(value))
            writer.writerow(row)
    return buf.getvalue()


def write_report(results: Any, output: str | os.PathLike | None = None) -> Path:
    """Write the study report: one self-contained HTML page and the verdict table as CSV.

    Parameters
    ----------
    results : str, os.PathLike or StudyResults
        The study's HDF5 results file, or the object
        :func:`qsense.calibration.open_results` returns for it.
    output : str or os.PathLike, optional
        The HTML file to write (replaced if it exists; its folder must exist). Default:
        the results file with suffix ``.html``. The CSV goes beside it as
        ``<output stem>_verdicts.csv``.

    Returns
    -------
    pathlib.Path
        The HTML file written.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        ``results`` (a path) does not exist or is a folder; the folder of ``output``
        does not exist, or ``output`` is a folder.
    TypeError
        ``results`` is neither a path nor a StudyResults; ``output`` is not a path.
    ValueError
        The results file is not a study results file (raised by ``open_results``,
        naming the file), or its verdict table lacks a column; ``output`` (or its CSV)
        is the results file itself.

    Warns
    -----
    UserWarning
        The study has no finished case: the page says so (header and configuration
        only, no plots) and the CSV holds the header row only.

    Notes
    -----
    The verdict table shows, per criterion, the median over the Monte Carlo cases and
    their 16th and 84th percentiles, for the quantum sensor and the classical fallback,
    in the criterion's display units, with ``margin`` (> 1: the quantum sensor passes)
    and ``gain`` (> 1: the quantum sensor is better). Plots: the Allan deviation of
    every case (faint) and the median over cases (bold, with the median of the cases'
    confidence bounds as error bars), the amplitude spectral densities likewise, and
    the first case's decimated series with its drift fit (the other cases' fits
    faint), in the sensors' display units; each criterion on the Allan deviation at one
    tau is marked at its threshold. A study of more than :data:`PLOT_CASES` finished
    cases has that many, evenly spaced, drawn (the page says so; the verdicts use them
    all). Figures are drawn on matplotlib's Agg canvas without pyplot, so no backend is
    chosen and no window opens.

    Examples
    --------
    >>> from qsense.report import write_report
    >>> page = write_report("study.h5")  # doctest: +SKIP
    >>> page.with_name(page.stem + "_verdicts.csv").exists()  # doctest: +SKIP
    True
    """
    study = _open(results)
    html_path = _output(output, study)
    csv_path = html_path.with_name(f"{html_path.stem}_verdicts.csv")
    for target in (html_path, csv_path):
        if study.path is not None and target.resolve() == Path(study.path).resolve():
            raise ValueError(
                f"output {str(output)!r} would overwrite the results file {str(study.path)!r}; "
                "give another file name (e.g. with suffix .html)"
            )
    where = f"results {str(study.path)!r}"
    try:
        cases = sorted(int(i) for i in study.cases)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: cases must be the finished case numbers (integers), got {study.cases!r}"
        ) from None
    attrs = dict(study.attrs)
    name = attrs.get("name", html_path.stem)
    parts = [_header(study, len(cases))]
    verdicts = None
    if not cases:
        warn(
            f"{where} has no finished case (0 of {attrs.get('n_cases', '?')}): the report "
            "says so and has no verdicts or plots; run or resume the study first"
        )
        parts.append(
            '<section id="verdicts"><h2>Verdicts</h2><p class="notice" id="no-cases">'
            f"No finished case: 0 of {_e(attrs.get('n_cases', '?'))} cases of this study have "
            "finished, so there is nothing to report yet. Run the study (or resume it with "
            "<code>qsense study FILE --resume</code>) and write the report again.</p></section>"
        )
    else:
        verdicts = _check_verdicts(study.verdicts(), where)
        parts.append(_verdict_table(verdicts, len(cases)))
        parts.append(_cost_section(verdicts))
        parts.append(_plot_sections(study, cases))
    parts.append(_config_section(study.config))
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(attrs.get('title') or name)}: qsense study report</title>"
        f"<style>{_CSS}</style></head><body>\n"
        + "\n".join(parts)
        + f"\n<footer>Written by qsense {_e(__version__)} on {now}; verdict table as CSV: "
        f"{_e(csv_path.name)}.</footer>\n</body></html>\n"
    )
    _atomic_write(csv_path, _csv_text(verdicts), newline="")
    _atomic_write(html_path, page)
    return html_path
