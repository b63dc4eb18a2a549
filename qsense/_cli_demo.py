"""``qsense demo``: simulate a clock, store it, analyse it, compare with theory.

The end-to-end path of the package on its own data: a named clock, one of the cited
presets of qsense.sensors.classical.Oscillator (its power-law noise streamed, drift
set to zero so that the Allan deviation is the h_alpha's alone) -> HDF5 file (atomic
write) -> read back -> overlapping Allan deviation with confidence intervals and noise
identification -> the analytic Allan deviation of the same h_alpha coefficients
(the sampled model), side by side, and a plot.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

#: The demo's clocks: name -> preset of :class:`qsense.sensors.classical.Oscillator`
#: (each preset cites the datasheet or table its h_alpha come from).
CLOCKS: dict[str, str] = {"cesium": "cs-5071a", "maser": "h-maser", "ocxo": "ocxo"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="simulate a clock's power-law noise and compare its Allan deviation with theory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--clock", choices=sorted(CLOCKS), default="cesium", help="clock to simulate")
    p.add_argument("--n", type=int, default=2**18, help="number of 1 s samples (default 2**18)")
    p.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    p.add_argument("-o", "--output", type=Path, help="HDF5 file for the simulation and result")
    p.add_argument("--plot", type=Path, help="PNG file for the log-log plot")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``qsense demo``; prints the comparison table and returns 0."""
    import xarray as xr

    from qsense.io import load, save
    from qsense.noise import adev_from_h
    from qsense.sensors.classical import Oscillator
    from qsense.stability import oadev

    oscillator = Oscillator.preset(CLOCKS[args.clock], drift=0.0)
    h, rate = oscillator.h, oscillator.rate
    sim = oscillator.simulate(args.n / rate, seed=args.seed)
    y = sim["freq"].assign_attrs(
        {k: v for k, v in sim.attrs.items() if k in ("model", "model_params", "seed")}
    )
    y.name = "y"
    with tempfile.TemporaryDirectory() as tmp:
        path = args.output if args.output is not None else Path(tmp) / "demo.h5"
        save(y.to_dataset(), path, overwrite=True)
        y_back = load(path)["y"]
        res = oadev(y_back, data_type="freq", taus="octave")
        theory = adev_from_h(h, res.tau.values, rate, model="sampled")
        if args.output is not None:
            both = xr.Dataset({"y": y_back}).merge(
                res.rename({v: f"oadev_{v}" for v in res.data_vars})
            )
            both["oadev_theory"] = ("tau", theory)
            save(both, path, overwrite=True)

    terms = ", ".join(f"h[{a}]={v:.2g}" for a, v in sorted(h.items()))
    print(
        f"qsense demo: {args.clock} clock (Oscillator preset {CLOCKS[args.clock]!r}), "
        f"{args.n} samples at {rate:g} Hz, seed {args.seed}"
    )
    print(f"S_y(f) coefficients: {terms} (f_h = {rate / 2:g} Hz)")
    print(
        f"{'tau (s)':>10} {'n':>8} {'alpha':>5} {'OADEV lo':>11} {'OADEV':>11} "
        f"{'OADEV hi':>11} {'theory':>11} {'ratio':>6}"
    )
    inside = 0
    for k in range(res.sizes["tau"]):
        r = res.isel(tau=k)
        ok = float(r.dev_lo) <= theory[k] <= float(r.dev_hi)
        inside += ok
        print(
            f"{float(r.tau):10.0f} {int(r.n):8d} {int(r.alpha):5d} {float(r.dev_lo):11.3e} "
            f"{float(r.dev):11.3e} {float(r.dev_hi):11.3e} {theory[k]:11.3e} "
            f"{float(r.dev) / theory[k]:6.3f}{'' if ok else ' *'}"
        )
    print(
        f"theory inside the {res.attrs['ci']:.1%} interval at {inside} of {res.sizes['tau']} taus "
        "(* marks the others)"
    )
    if args.output is not None:
        print(f"simulation and result written to {args.output}")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from qsense.plot import stability

        ax = stability(res, labels="simulated OADEV")
        ax.loglog(res.tau, theory, "k--", label="analytic ADEV")
        ax.legend()
        ax.figure.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")
    return 0
