"""Why two specialised TWFE fits exist beside the package's one TWFE implementation (``estimate/twfe.py``):
each is timed against the shared path doing the same job, in the same run, and reported as a ratio.

1. The wild cluster bootstrap (``inference.wild_cluster_bootstrap``: ``_Absorber`` / ``_build_design``) demeans the
   design once and then draws ``B`` bootstrap t-statistics by linear algebra on ``G`` cluster sums. The shared path
   would refit the TWFE model on every bootstrap outcome: here the cheapest shared refit,
   :meth:`clusterpolicy.estimate.twfe.TwfeRefit.with_outcome` (preparation done once, one demeaning per draw).
2. The placebo-in-space loop (``few_treated.twfe_matrix``) fits the static TWFE on a balanced ``N x T`` matrix by
   double demeaning; the shared path is :func:`clusterpolicy.estimate.api.estimate` with ``estimator="twfe"``.

Usage::

    python benchmarks/bench_twfe_paths.py [--units 200] [--periods 12] [--draws 999] [--repeat 3]
                                          [--json benchmarks/results/twfe_paths.json]

The panel is **simulated** (unit and period effects, staggered cohorts, normal noise). Both paths of each pair
run interleaved in one process (best of ``--repeat``), so machine load hits them alike; the ratios are the result,
the seconds are noisy on a shared machine. The shared bootstrap path is timed on ``--shared-draws`` refits and
scaled to ``--draws`` (its cost is linear in the draws).
"""

from __future__ import annotations

import datetime as _dt
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cs import interleaved, machine_note, panel_parser, report  # noqa: E402


def simulate(units: int, periods: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([0, 0, periods // 2, periods // 2 + 2]), units).astype(float)
    unit = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(1, periods + 1), units)
    gg = g[unit]
    d = ((gg > 0) & (t >= gg)).astype(float)
    y = rng.normal(size=units)[unit] + 0.05 * t + 0.2 * d + rng.normal(size=unit.size)
    return pd.DataFrame({"id": unit, "t": t, "g": gg, "d": d, "y": y})


def main() -> None:
    parser = panel_parser(__doc__)
    # a small panel by default: the shared bootstrap path refits once per draw
    parser.set_defaults(units=200, periods=12, repeat=3)
    parser.add_argument("--draws", type=int, default=999)
    parser.add_argument("--shared-draws", type=int, default=99)
    args = parser.parse_args()

    from clusterpolicy.estimate.api import BoundEstimate, estimate
    from clusterpolicy.estimate.few_treated import twfe_matrix
    from clusterpolicy.estimate.inference import wild_cluster_bootstrap

    data = simulate(args.units, args.periods, seed=args.seed)
    roles = {"unit": "id", "time": "t", "cohort": "g", "outcome": "y"}
    warnings.simplefilter("ignore")

    # 1. wild cluster bootstrap: specialised (demean once) vs one shared TWFE refit per draw
    refitter = BoundEstimate(estimator="twfe", single_treated_rule=False, quiet=True, **roles).refitter(data)
    assert refitter is not None
    rng = np.random.default_rng(2)
    y = data["y"].to_numpy()
    cl = data["id"].to_numpy()
    weights = rng.choice([-1.0, 1.0], size=(args.shared_draws, args.units))

    def shared_bootstrap() -> list[float]:
        # wild bootstrap outcomes (Rademacher by cluster around the data: the refit count is what is timed)
        return [refitter.with_outcome(y * w[cl]).estimate for w in weights]  # type: ignore[union-attr]

    def special_bootstrap() -> float:
        return wild_cluster_bootstrap(data, outcome="y", term="d", cluster="id", fixed_effects=("id", "t"),
                                      n_boot=args.draws, seed=1, conf_level=None).p_value

    boot_best, _ = interleaved({"specialised": special_bootstrap, "shared": shared_bootstrap}, args.repeat)
    shared_full = boot_best["shared"] * args.draws / args.shared_draws

    # 2. static TWFE on the balanced matrix (the placebo loop's unit of work)
    wide_y = data.pivot(index="id", columns="t", values="y").to_numpy()
    wide_d = data.pivot(index="id", columns="t", values="d").to_numpy()

    def special_fit() -> float:
        return float(twfe_matrix(wide_y, wide_d).estimate)

    def shared_fit() -> float:
        return estimate(data, estimator="twfe", single_treated_rule=False, **roles).estimate

    fit_best, fit_out = interleaved({"specialised": special_fit, "shared": shared_fit}, args.repeat)
    same = abs(float(fit_out["specialised"]) - float(fit_out["shared"])) < 1e-8  # type: ignore[arg-type]

    summary = {
        "when": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_note(),
        "panel": {"units": args.units, "periods": args.periods, "simulated": True},
        "wild_bootstrap": {"draws": args.draws, "specialised_s": boot_best["specialised"],
                           "shared_s_scaled": shared_full, "shared_draws_timed": args.shared_draws,
                           "ratio_shared_over_specialised": shared_full / boot_best["specialised"]},
        "static_twfe_fit": {"specialised_s": fit_best["specialised"], "shared_s": fit_best["shared"],
                            "ratio_shared_over_specialised": fit_best["shared"] / fit_best["specialised"],
                            "same_estimate": same},
    }

    def to_markdown(s: dict) -> str:
        wb, fit = s["wild_bootstrap"], s["static_twfe_fit"]
        return "\n".join([
            "# Specialised TWFE paths versus the shared TWFE fit (SIMULATED panel)", "",
            f"{s['when']}; {s['machine']}; {s['panel']['units']} units x {s['panel']['periods']} periods.", "",
            "| task | specialised (s) | shared (s) | shared / specialised |", "|---|---|---|---|",
            f"| wild cluster bootstrap, {wb['draws']} draws | {wb['specialised_s']:.3g} | "
            f"{wb['shared_s_scaled']:.3g} (from {wb['shared_draws_timed']} refits) | "
            f"{wb['ratio_shared_over_specialised']:.3g} |",
            f"| one static TWFE fit (placebo loop) | {fit['specialised_s']:.3g} | {fit['shared_s']:.3g} | "
            f"{fit['ratio_shared_over_specialised']:.3g} |", "",
            f"Same static estimate from both paths: {fit['same_estimate']}.", ""])

    md = args.md or (args.json.with_suffix(".md") if args.json else None)
    report(summary, args.json, md, to_markdown)


if __name__ == "__main__":
    main()
