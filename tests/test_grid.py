"""Tests of the generic specification grid (``clusterpolicy.estimate.grid``): building and running specifications
serially, on a process pool and on Dask, with results in specification order (exact equality: same function, same
inputs)."""

from __future__ import annotations

import pandas as pd
import pytest

from clusterpolicy.errors import UserInputError
from clusterpolicy.estimate.grid import build_specs, parse_window, run_grid

SMALL_SPECS = [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y")]


def square_row(spec: dict) -> dict:
    """A picklable grid function (module level) whose output depends on the whole spec."""
    return {"value": spec["a"] ** 2, "label": f"{spec['b']}{spec['a']}"}


def test_build_specs_enumerates_in_key_order() -> None:
    specs = build_specs({"a": [1, 2], "b": ["x", "y", "z"]}, rule=None)
    assert len(specs) == 6
    assert specs[0] == {"a": 1, "b": "x"} and specs[1] == {"a": 1, "b": "y"} and specs[-1] == {"a": 2, "b": "z"}


def test_build_specs_applies_the_rule() -> None:
    specs = build_specs({"a": [1, 2], "b": ["x", "y"]}, rule=lambda s: "no" if s["a"] == 2 and s["b"] == "y" else None)
    assert specs == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}]


@pytest.mark.parametrize(("choices", "match"), [
    ({}, "choices is empty"),
    ({"a": []}, "non-empty list"),
    ({"a": "xy"}, "non-empty list"),
    ({"a": [1, 1]}, "lists an option twice"),
])
def test_build_specs_rejects_bad_choices(choices, match) -> None:
    with pytest.raises(UserInputError, match=match):
        build_specs(choices)


def test_parse_window() -> None:
    assert parse_window("2015-2020") == (2015, 2020)
    with pytest.raises(UserInputError, match="YYYY-YYYY"):
        parse_window("2015")
    with pytest.raises(UserInputError, match="start before it ends"):
        parse_window("2020-2015")


def test_run_grid_serial_rows_follow_specs() -> None:
    frame = run_grid(SMALL_SPECS, square_row)
    assert frame["spec_id"].tolist() == [0, 1, 2, 3]
    assert frame["value"].tolist() == [1, 1, 4, 4]
    assert frame["label"].tolist() == ["x1", "y1", "x2", "y2"]


def test_run_grid_process_pool_is_deterministic() -> None:
    pd.testing.assert_frame_equal(run_grid(SMALL_SPECS, square_row),
                                  run_grid(SMALL_SPECS, square_row, executor="local", jobs=2))


@pytest.mark.slow
def test_run_grid_on_dask_local_cluster_matches_serial() -> None:
    distributed = pytest.importorskip("distributed")
    serial = run_grid(SMALL_SPECS, square_row)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        on_dask = run_grid(SMALL_SPECS, square_row, executor="dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(serial, on_dask)
    own = run_grid(SMALL_SPECS[:2], square_row, executor="dask", jobs=2)
    pd.testing.assert_frame_equal(serial.iloc[:2], own)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"executor": "spark"}, "executor='spark' is not valid"),
    ({"jobs": 0}, "jobs=0 must be a positive integer"),
    ({"scheduler": "tcp://127.0.0.1:1"}, "scheduler is only used with executor='dask'"),
])
def test_run_grid_rejects_bad_options(kwargs, match) -> None:
    with pytest.raises(UserInputError, match=match):
        run_grid([{"a": 1}], dict, **kwargs)


def test_run_grid_requires_mapping_rows() -> None:
    with pytest.raises(UserInputError, match="must return a mapping"):
        run_grid([{"a": 1}], lambda spec: 3.0)
