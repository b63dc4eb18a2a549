"""The statistic registry, the package layout it allows, alpha=, docstrings, short records.

- Every module reads its statistic facts from ``qsense.stability._registry`` (names,
  stop ratios, EDF/bias/noise rules, labels), and the registry is light (no numpy).
- No import cycle among the module-level imports of qsense.stability (parsed with ast).
- ``alpha=`` imposes the noise exponent exactly as identification would have given it.
- Docstrings are written out: no ``{params}``, every parameter of every public function
  documented, visible in ``help()``.
- A record too short for any tau warns and returns an empty result.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pydoc
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import qsense
import qsense.stability as S
from qsense.stability import _bias, _edf, _taus
from qsense.stability._registry import PUBLIC, SINGLE, SPECS, STATISTICS

PKG = Path(S.__file__).resolve().parent
noise_id = importlib.import_module("qsense.stability.noise_id")  # the module, not S.noise_id
STAT_FUNCS = sorted(n for n in SPECS)


def test_registry_is_the_one_list_of_names():
    assert set(STATISTICS) <= set(SPECS)
    assert set(STATISTICS) == {s.name for s in SPECS.values() if s.edf != "none"}
    assert set(SINGLE) == set(SPECS) - {"gcodev"}
    assert set(S.__all__) == set(PUBLIC)
    assert set(qsense._STATISTICS) == set(PUBLIC) - {"noise_id"}
    assert _taus.STOP_RATIO == {k: s.stop_ratio for k, s in SPECS.items() if s.stop_ratio}
    for name, spec in SPECS.items():
        func = getattr(S, name)
        assert func is spec.function() and func.__name__ == name
        if spec.raw:
            assert callable(spec.estimator())


def test_input_kind_of_each_estimator():
    """``reads``: HTOT counts windows of the M = N - 1 frequencies, MTOT of N phases."""
    assert [k for k, s in SPECS.items() if s.reads == "freq"] == ["htotdev"]
    x = np.cumsum(np.random.default_rng(8).normal(size=200))
    for name in ("mtotdev", "htotdev"):
        spec = SPECS[name]
        n_points = 200 - (spec.reads == "freq")
        ds = getattr(S, name)(x, 1.0, taus=[2.0, 8.0], bias_correction=False)
        assert ds.n.values.tolist() == [n_points - 3 * m + 1 for m in (2, 8)]


def test_every_module_reads_the_registry():
    """A made-up spec change shows up in the EDF, bias, noise-ID and plot lookups."""
    from qsense import plot

    for name, spec in SPECS.items():
        assert plot._LABEL[name] == spec.label
        if name in STATISTICS:
            assert _edf.edf(name, 0, 4, 1001) == _edf.edf(name, 0, 4, 1001)  # known name
            assert noise_id._dmax(name) == (3 if spec.noise == "hadamard" else 2)
            assert noise_id._n_terms(name, 1001, 4) == spec.b1_terms(1001, 4)
            assert _bias.bias_factor(name, 0, 4, 1001, 1.0) > 0


def test_registry_module_is_light():
    code = (
        "import sys, qsense, qsense.stability, qsense.stability._registry;"
        "print(sorted(m for m in ('numpy', 'numba', 'xarray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _module_imports(path: Path) -> set[str]:
    """qsense.stability modules imported at module level (not inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("qsense.stability.")}


def test_no_import_cycle_in_the_stability_package():
    modules = {f"qsense.stability.{p.stem}": p for p in PKG.glob("*.py") if p.stem != "__init__"}
    graph = {name: _module_imports(path) & set(modules) for name, path in modules.items()}

    def visit(node, stack):
        if node in stack:
            raise AssertionError(f"import cycle: {' -> '.join([*stack, node])}")
        for nxt in graph[node]:
            visit(nxt, [*stack, node])

    for name in graph:
        visit(name, [])
    init = _module_imports(PKG / "__init__.py")
    assert {m for m in init if not m.startswith("qsense.stability._registry")} == set()


def test_no_test_hook_in_production_code():
    for path in PKG.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "monkeypatch" not in text and "has been replaced" not in text, path.name


# --------------------------------------------------------------------------- alpha=


@pytest.mark.parametrize("stat", ["oadev", "mdev", "hdev", "totdev", "mtotdev", "theo1"])
def test_alpha_override_equals_identified(stat):
    x = np.cumsum(np.random.default_rng(3).normal(size=1200)) * 1e-9
    ref = getattr(S, stat)(x, 1.0)
    got = getattr(S, stat)(x, 1.0, alpha=ref.alpha.values)
    for v in ("dev", "dev_lo", "dev_hi", "edf", "alpha", "n"):
        np.testing.assert_array_equal(got[v].values, ref[v].values)
    assert got.attrs["alpha_given"] == 1 and ref.attrs["alpha_given"] == 0


def test_alpha_override_changes_bias_and_edf():
    x = np.cumsum(np.random.default_rng(4).normal(size=1000)) * 1e-9
    a = S.totdev(x, 1.0, taus=[100.0], alpha=-2)
    b = S.totdev(x, 1.0, taus=[100.0], alpha=0)
    raw = S.totdev(x, 1.0, taus=[100.0], bias_correction=False)
    assert a.alpha.values.tolist() == [-2] and b.alpha.values.tolist() == [0]
    assert float(b.dev[0]) == float(raw.dev[0])
    assert float(a.dev[0]) == pytest.approx(float(raw.dev[0]) / np.sqrt(1 - 0.75 * 100 / 1000))
    assert float(a.edf[0]) != float(b.edf[0])


@pytest.mark.parametrize(
    ("alpha", "error"),
    [(3, ValueError), (-3, ValueError), (True, TypeError), ("0", TypeError), (0.5, TypeError),
     ([0, 0.5], ValueError), ([[0]], TypeError), ([0, 0], ValueError)],
)  # fmt: skip
def test_bad_alpha(alpha, error):
    y = np.random.default_rng(0).normal(size=300)
    with pytest.raises(error, match="alpha"):
        S.oadev(y, 1.0, "freq", [1.0, 2.0, 4.0], alpha=alpha)


# ------------------------------------------------------------------------ docstrings


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring_is_written_out_and_documents_every_parameter(name):
    func = getattr(S, name)
    doc = inspect.getdoc(func)
    assert "{params}" not in doc and "{units}" not in doc
    assert "{params}" not in inspect.getsource(func)
    documented = set()
    for line in doc.splitlines():
        head = line.split(" : ")[0]
        if " : " in line and not line.startswith(" "):
            documented |= {p.strip() for p in head.split(",")}
    for param in inspect.signature(func).parameters:
        assert param in documented, f"{name}: parameter {param!r} not documented"
    text = pydoc.render_doc(func, renderer=pydoc.plaintext)
    assert "Parameters" in text and "Returns" in text


def test_no_params_placeholder_anywhere_in_the_package():
    for path in PKG.glob("*.py"):
        assert "{params}" not in path.read_text(encoding="utf-8"), path.name


# ---------------------------------------------------------------------- short records


@pytest.mark.parametrize("name", sorted(set(SINGLE) - {"theobr"}))
@pytest.mark.parametrize("n", [2, 3])
def test_too_short_record_warns_and_returns_empty(name, n):
    x = np.arange(float(n))
    with pytest.warns(UserWarning, match="too short"):
        ds = getattr(S, name)(x, 1.0)
    assert ds.sizes["tau"] == 0 and set(ds.data_vars) >= {"dev", "n", "alpha"}


def test_theobr_needs_90_phase_points():
    with pytest.raises(ValueError, match="data must have at least 90 phase points"):
        S.theobr(np.arange(2.0), 1.0)
    with pytest.raises(ValueError, match="data must have at least 90 phase points"):
        S.theobr(np.arange(50.0), 1.0)
    x = np.random.default_rng(2).normal(size=60)
    # TheoH below 90 points has ADEV rows only, which need no TheoBR ratio
    assert S.theoh(x, 1.0, bias_correction=False).part.values.tolist() == [0] * 4


def test_too_short_record_warns_for_gcodev_and_noise_id():
    with pytest.warns(UserWarning, match="too short"):
        assert S.gcodev(np.arange(3.0), np.arange(3.0), 1.0).sizes["tau"] == 0
    with pytest.warns(UserWarning, match="too short"):
        assert S.noise_id(np.arange(3.0), 1.0).sizes["tau"] == 0


def test_record_long_enough_does_not_warn():
    x = np.random.default_rng(1).normal(size=256)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in SINGLE:
            if name in ("theobr", "theoh"):
                continue  # need 90 phase points: fine, but slower
            assert getattr(S, name)(x, 1.0).sizes["tau"] > 0
