"""Alpine benchmark study (``clusterpolicy.study.alpine``): published keys, partner set, classification,
intraregional indicator."""

from __future__ import annotations

import dataclasses

import pytest

from clusterpolicy.data.loaders import load_h2020_countries, load_h2020_italy, load_rd_panel
from clusterpolicy.data.policy import interreg_exposure
from clusterpolicy.study import alpine


@pytest.fixture(scope="module")
def study():
    return alpine.alpine_study(rd=load_rd_panel(), countries=load_h2020_countries(), italy=load_h2020_italy())


def test_fields_are_the_published_keys(study):
    published = {f.name for f in dataclasses.fields(study) if f.metadata.get("publish", True)}
    assert {"italian_above_median", "italian_below_all", "latest_year", "n_regions",
            "intraregional_share_pct"} <= published
    for name in published:
        assert isinstance(getattr(study, name), (int, float, str, bool)), name
    assert all(k.endswith("_rel") for k in study.relative)


def test_partner_set_comes_from_interreg_exposure(study):
    exp = interreg_exposure()
    codes = set(exp.loc[exp["programme"] == "s3_4alpclusters", "nuts2"])
    assert study.n_partner_codes == len(codes)
    assert set(study.partners["nuts2"]) == codes - {"DE"}
    assert study.n_regions == len(codes) - 1


def test_every_italian_partner_is_classified_once(study):
    above = {s for s in study.italian_above_median.split(", ") if s != "none"}
    below = {s for s in study.italian_below_all.split(", ") if s != "none"}
    assert not above & below
    assert len(above | below) == len([c for c in study.italian if c in study.latest["region"].str[-5:-1].values])


def test_intraregional_indicator_for_italian_partners(study):
    intra = study.h2020[study.h2020["level"].str.contains("same-region")]
    anyp = study.h2020[study.h2020["level"].str.contains("any partner")]
    assert len(intra) == len(study.italian) == len(anyp)
    # a same-region project is also a project with a partner anywhere
    assert (intra["projects/yr"].to_numpy() <= anyp["projects/yr"].to_numpy()).all()
    assert 0 < study.intraregional_share_pct < 100
