"""Run a study: its Monte Carlo cases over dask.distributed, each saved as it finishes.

Case ``i`` runs :func:`qsense.calibration._cases.run_case` with child ``i`` of
``SeedSequence(seed)``, so its bits do not depend on the number of workers or the
order in which cases finish. Every finished case is added to the study's HDF5 file
copy-on-write (:func:`qsense.calibration.results.add_case`: a new file beside the old
one, flushed, renamed over it), so a crash or SIGKILL at any instant loses no finished
case and never leaves a damaged file; ``resume=True`` then computes only the missing
cases, after checking that the file was made by the same configuration.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qsense import __version__
from qsense.calibration._cases import run_case
from qsense.calibration.results import (
    add_case,
    open_results,
    set_attrs,
    write_results,
)
from qsense.calibration.study import Study, StudyError, load_study

__all__ = ["results_path", "run_study"]

_PACKAGES = ("numpy", "scipy", "numba", "xarray", "h5py", "h5netcdf", "dask", "distributed")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "absent"
    return out


def results_path(study: Study, output: str | os.PathLike | None = None) -> Path:
    """The results file of ``study``: ``<output>/<name>.h5`` (default folder ``results``)."""
    folder = Path("results") if output is None else Path(output)
    return folder / f"{study.name}.h5"


def _as_study(study: Any) -> Study:
    if isinstance(study, Study):
        return study
    if isinstance(study, str | os.PathLike):
        return load_study(Path(study))
    raise TypeError(f"study must be a Study or a study file path, got {type(study).__name__}")


def _check_workers(workers: Any) -> int | None:
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1 or None, got {workers!r}")
    return workers


def _start(study: Study, path: Path, resume: bool) -> tuple[set[int], int]:
    """Check the file to resume; (finished cases, number of this run: 1 for a new file)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed run
        with contextlib.suppress(OSError):
            stale.unlink()
    if resume and path.exists():
        res = open_results(path)
        if res.root.get("config_hash") != study.config_hash():
            raise StudyError(
                f"{path}: resume: the file was made by a different study configuration "
                "(its config_hash differs from this study's); run without resume or choose "
                "another output folder"
            )
        run = int(res.root.get("runs", 0)) + 1
        attrs = {"runs": run}
        if res.attrs["n_cases"] != study.cases:
            attrs["n_cases"] = study.cases
        set_attrs(path, attrs)
        return set(res.cases), run
    return set(), 1


def _create(study: Study, path: Path, index: int, case: Any) -> None:
    """Write a new results file holding its first finished case (atomically)."""
    write_results(
        path,
        config=study.config,
        attrs={
            "name": study.name,
            "title": study.config["title"],
            "qsense_version": __version__,
            "versions": _versions(),
            "seed": study.config["seed"],
            "n_cases": study.cases,
        },
        sensors={
            role: {
                k: entry[k]
                for k in ("label", "model", "quantity", "units", "display_units", "scale")
            }
            for role, entry in study.config["sensors"].items()
        },
        extra={
            "config_hash": study.config_hash(),
            "source": study.source,
            "source_path": "" if study.path is None else str(study.path),
            "runs": 1,
        },
        cases={index: case},
    )


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _results(config: dict, pending: list[int], workers: int, scheduler: str | None):
    """Yield (index, Dataset) as cases finish."""
    if scheduler is None and workers == 1:
        for i in pending:
            yield i, run_case(config, i)
        return
    from distributed import as_completed

    with _client(scheduler, workers) as client:
        futures = {client.submit(run_case, config, i, pure=False): i for i in pending}
        for future in as_completed(futures):
            yield futures[future], future.result()


def run_study(
    study: Study | str | os.PathLike,
    *,
    output: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> Path:
    """Run every case of a study and write its results file.

    Parameters
    ----------
    study : Study, str or os.PathLike
        A validated study, or the path of its TOML file (validated first, completely).
    output : str or os.PathLike, optional
        Folder of the results file ``<name>.h5`` (created if missing); default
        ``results`` in the working folder.
    workers : int, optional
        Worker processes of the LocalCluster; default ``min(cpu count, cases to run)``.
        1 runs the cases in this process (the same bits).
    scheduler : str, optional
        Address of an existing dask.distributed scheduler (then ``workers`` is unused).
    resume : bool
        Keep the finished cases of an existing file made by the same configuration and
        compute only the others. False starts a new file, which replaces an existing
        one (atomically) when the first case has finished: a study that fails in its
        first case leaves no file (or the old one) behind.
    progress : bool, optional
        Show a tqdm progress bar; default when standard error is a terminal.

    Returns
    -------
    pathlib.Path
        The results file (read it with :func:`qsense.calibration.open_results`).

    Raises
    ------
    StudyError
        The study file is invalid, or ``resume`` meets a file of another configuration.
    """
    study = _as_study(study)
    workers = _check_workers(workers)
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string, got {scheduler!r}")
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be True or False, got {resume!r}")
    path = results_path(study, output)
    path.parent.mkdir(parents=True, exist_ok=True)
    done, run = _start(study, path, resume)
    pending = [i for i in range(study.cases) if i not in done]
    if not pending:
        return path
    if workers is None:
        workers = max(1, min(os.cpu_count() or 1, len(pending)))
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    with tqdm(
        total=study.cases,
        initial=study.cases - len(pending),
        disable=not show,
        desc=f"study {study.name}",
        unit="case",
    ) as bar:
        for index, case in _results(study.config, pending, workers, scheduler):
            case.attrs["run"] = run
            if run == 1 and not done:  # a new file, written with its first case
                _create(study, path, index, case)
                done = {index}
            else:
                add_case(path, index, case)
            bar.update(1)
    return path
