"""Specification grids: every combination of a set of choices, minus the indefensible ones, run through any picklable
function serially, on a local process pool, or on a Dask cluster, returned as one tidy frame in the order of the
specifications (whatever the order of completion).

Generic machinery only: the Italian specification curve that runs on it (its choices, rules and estimates) is
:mod:`clusterpolicy.study.specification_curve`.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Literal

import pandas as pd

from clusterpolicy.errors import UserInputError

GridExecutor = Literal["local", "dask"]
SpecFn = Callable[[dict[str, Any]], Mapping[str, Any]]

# ================================================================================================================
# Grid: build and run
# ================================================================================================================
def parse_window(window: str) -> tuple[int, int]:
    """``"2007-2019"`` -> ``(2007, 2019)``."""
    try:
        lo, hi = (int(part) for part in str(window).split("-"))
    except ValueError as err:
        raise UserInputError(f"window={window!r} is not of the form 'YYYY-YYYY' (e.g. '2007-2019').") from err
    if lo >= hi:
        raise UserInputError(f"window={window!r} must start before it ends.")
    return lo, hi


def build_specs(
    choices: Mapping[str, Sequence[Any]],
    *,
    rule: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> list[dict[str, Any]]:
    """Every combination of ``choices`` (in the order of the keys and of each list), minus indefensible ones.

    Parameters
    ----------
    choices
        ``{choice name: list of options}``, e.g. ``{"outcome": [...], "estimator": ["cs", "twfe"]}``.
    rule
        ``rule(spec) -> reason | None``; specs with a reason are dropped. ``None`` keeps every combination.

    Returns
    -------
    list of dict
        The specifications, in deterministic order (the first key varies slowest).

    Raises
    ------
    UserInputError
        If ``choices`` is empty or a choice has no options or repeated options.

    Examples
    --------
    >>> build_specs({"a": [1, 2], "b": ["x", "y"]}, rule=None)
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    if not choices:
        raise UserInputError("choices is empty; give at least one choice with a list of options.")
    names = list(choices)
    for name in names:
        opts = choices[name]
        if isinstance(opts, (str, bytes)) or not isinstance(opts, Sequence) or len(opts) == 0:
            raise UserInputError(f"choice {name!r} must be a non-empty list of options, got {opts!r}.")
        if len({repr(o) for o in opts}) != len(opts):
            raise UserInputError(f"choice {name!r} lists an option twice ({list(opts)!r}); list each option once.")
    specs = []
    for combo in itertools.product(*(choices[n] for n in names)):
        spec = dict(zip(names, combo))
        if rule is None or rule(spec) is None:
            specs.append(spec)
    return specs


def _check_row(row: Any, index: int) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise UserInputError(f"the grid function returned {type(row).__name__} for specification {index}; it must "
                             "return a mapping (a tidy row).")
    return dict(row)


def _run_local(specs: list[dict[str, Any]], fn: SpecFn, jobs: int | None) -> list[Any]:
    if not jobs or jobs == 1 or len(specs) <= 1:
        return [fn(spec) for spec in specs]
    # "spawn": workers start clean (no threads inherited from a notebook kernel); map() keeps the input order.
    context = multiprocessing.get_context("spawn")
    chunk = max(1, len(specs) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        return list(pool.map(fn, specs, chunksize=chunk))


def _apply_batch(batch: list[dict[str, Any]], fn: SpecFn) -> list[Any]:
    return [fn(spec) for spec in batch]


def _run_dask(specs: list[dict[str, Any]], fn: SpecFn, jobs: int | None, scheduler: str | None) -> list[Any]:
    from distributed import Client, LocalCluster

    def gather(client: Any) -> list[Any]:
        # Batches, not one task per spec: a spec takes tens of milliseconds, about what the scheduler spends per
        # task, and on a small machine the scheduler shares the cores with the workers.
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (jobs or 1))
        size = max(1, math.ceil(len(specs) / (n_workers * 8)))
        batches = [specs[i:i + size] for i in range(0, len(specs), size)]
        futures = client.map(_apply_batch, batches, fn=fn, pure=False)
        return [row for batch in client.gather(futures) for row in batch]

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise UserInputError(
                f"cannot reach the Dask scheduler at {scheduler} ({type(err).__name__}); start one with "
                "'dask scheduler' and 'dask worker ADDR', or use executor='local'."
            ) from err
        with client:
            return gather(client)
    with LocalCluster(n_workers=jobs or 2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        return gather(client)


def run_grid(
    specs: Sequence[Mapping[str, Any]],
    fn: SpecFn,
    *,
    executor: GridExecutor = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run ``fn`` on every specification and return one tidy frame, one row per specification.

    Parameters
    ----------
    specs
        Specifications (dicts of choices), e.g. from :func:`build_specs`.
    fn
        ``fn(spec) -> mapping`` returning the row's results; must be picklable (a module-level function) for the
        process pool and Dask.
    executor
        ``"local"``: serially when ``jobs`` is ``None`` or 1, else on a process pool of ``jobs`` workers;
        ``"dask"``: ``distributed.Client(scheduler).map``; with ``scheduler=None`` a temporary local cluster of
        ``jobs`` single-threaded worker processes is started and closed.
    jobs
        Worker processes (local pool, or the temporary Dask cluster).
    scheduler
        Address of a running Dask scheduler (``tcp://host:port``); only with ``executor="dask"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``spec_id``, the spec's choices, then ``fn``'s keys; rows in the order of ``specs`` (so the
        result is the same whatever the executor, the number of workers or the order of completion).

    Raises
    ------
    UserInputError
        For an unknown executor, a bad ``jobs`` value, a scheduler given to the local executor, an unreachable
        scheduler, or ``fn`` returning something that is not a mapping.
    """
    if executor not in ("local", "dask"):
        raise UserInputError(f"executor={executor!r} is not valid; use 'local' or 'dask'.")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise UserInputError(f"jobs={jobs!r} must be a positive integer (or None).")
    if executor == "local" and scheduler:
        raise UserInputError("scheduler is only used with executor='dask'; drop it or set executor='dask'.")
    spec_list = [dict(s) for s in specs]
    if not spec_list:
        return pd.DataFrame(columns=["spec_id"])
    raw = _run_local(spec_list, fn, jobs) if executor == "local" else _run_dask(spec_list, fn, jobs, scheduler)
    rows = []
    for i, (spec, out) in enumerate(zip(spec_list, raw)):
        result = _check_row(out, i)
        rows.append({"spec_id": i, **spec, **{k: v for k, v in result.items() if k not in spec}})
    return pd.DataFrame(rows)


__all__ = ["build_specs", "parse_window", "run_grid"]
