"""The frozen dataclasses that replace dict-driven published keys: the Alpine partners' relative positions
(``AlpineRelative``) and the synthetic-control page's per-method keys (``MethodValues``)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from clusterpolicy.errors import UserInputError
from clusterpolicy.study.alpine import AlpineRelative, relative_values
from clusterpolicy.study.synthetic import METHOD_NAMES, POOLS, method_keys
from clusterpolicy.study.synthetic_methods import MethodValues, method_values


def test_relative_values_keep_every_key_and_value():
    some = {"ITC4_bes_rd_intensity_rel": 91.5, "AT32_rd_personnel_per_1000_rel": 120.0}
    v = relative_values(SimpleNamespace(relative=some))
    assert isinstance(v, AlpineRelative)
    assert v.ITC4_bes_rd_intensity_rel == 91.5 and v.AT32_rd_personnel_per_1000_rel == 120.0
    assert v.ITH3_bes_rd_intensity_rel is None  # not in the study: published as missing, not invented


def test_relative_values_name_an_undeclared_partner():
    with pytest.raises(UserInputError, match="XX9_bes_rd_intensity_rel"):
        relative_values(SimpleNamespace(relative={"XX9_bes_rd_intensity_rel": 1.0}))


def test_method_values_declare_every_method_and_pool():
    keys = method_keys(())  # no estimate computed: every key present, with its "not computed" value
    v = method_values(keys)
    assert isinstance(v, MethodValues)
    assert {f.name for f in dataclasses.fields(v)} == set(keys)
    assert len(keys) == 8 * len(METHOD_NAMES) * len(POOLS)
    assert v.sc_eu_similar_verdict == "not computed" and v.did_centre_north_estimate is None


def test_method_values_reject_a_mismatch():
    keys = method_keys(())
    with pytest.raises(UserInputError, match="undeclared"):
        method_values({**keys, "sc_new_pool_estimate": 1.0})
    keys.pop("sc_centre_north_estimate")
    with pytest.raises(UserInputError, match="missing"):
        method_values(keys)
