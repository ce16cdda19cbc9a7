"""Tests of the raw -> derived builders, the loaders of the committed derived data and the `data build` CLI.

Tests that need the raw sources resolve them as ``<project root>/../shared/data/raw`` (or the environment variable
``CLUSTERPOLICY_RAW``) and are skipped, with the reason, when that folder is absent. The geocoding, partner-count
and full-data (CORDIS layout) tests run everywhere: they use a small synthetic geography, hand-built participations
and the committed fixture ``tests/fixtures/cordis/h2020`` (derived from the real 2021 Horizon Dashboard sample by
``tests/fixtures/cordis/make_fixture.py``).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterpolicy.cli.main import run_cli
from clusterpolicy.data import loaders
from clusterpolicy.data.build import DERIVED_TABLES, MANIFEST_NAME, BuildReport, build_derived, build_full
from clusterpolicy.data.build._common import format_table, read_raw_csv
from clusterpolicy.data.build.cordis_full import read_exports
from clusterpolicy.data.build.geo import load_comune_index, match_city, normalise_name
from clusterpolicy.data.build.h2020 import PARTNERS_TABLE, UNPLACED, build_partner_table
from clusterpolicy.errors import DataValidationError, UserInputError

ROOT = Path(__file__).resolve().parents[1]
# CLUSTERPOLICY_RAW points a checkout that is not beside shared/ (a git worktree) at the raw folder.
RAW = Path(os.environ.get("CLUSTERPOLICY_RAW") or ROOT.parent / "shared" / "data" / "raw")
DERIVED = ROOT / "data" / "derived"
FIXTURE = Path(__file__).parent / "fixtures" / "cordis"
needs_raw = pytest.mark.skipif(not RAW.is_dir(), reason=f"raw data folder {RAW} not present (shared data not mounted; "
                               "set CLUSTERPOLICY_RAW to its path)")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> BuildReport:
    """One rebuild of the derived data from the raw folder into a temporary folder (shared by the module)."""
    return build_derived(RAW, tmp_path_factory.mktemp("derived"))


# ---------------------------------------------------------------------------------------------------------------
# rebuild and committed files


@needs_raw
def test_rebuild_is_byte_identical_to_committed_files(rebuilt: BuildReport) -> None:
    names = [t.filename for t in DERIVED_TABLES] + ["CODEBOOK.md", MANIFEST_NAME]
    for name in names:
        assert (rebuilt.out_dir / name).read_bytes() == (DERIVED / name).read_bytes(), f"{name} differs"


@needs_raw
def test_build_is_fast_enough(rebuilt: BuildReport) -> None:
    assert rebuilt.seconds < 60
    assert rebuilt.rows["h2020_italy_nuts2.csv"] == 21 * 8


def test_manifest_covers_every_committed_derived_file() -> None:
    listed = {line.split()[1] for line in (DERIVED / MANIFEST_NAME).read_text().splitlines()}
    present = {p.name for p in DERIVED.iterdir() if p.name != MANIFEST_NAME}
    assert listed == present


def test_derived_files_use_unix_newlines_and_no_bom() -> None:
    for path in DERIVED.glob("*.csv"):
        data = path.read_bytes()
        assert b"\r" not in data, path
        assert not data.startswith(b"\xef\xbb\xbf"), path


# ---------------------------------------------------------------------------------------------------------------
# content of the committed panels


def test_italy_panel_is_balanced_and_internally_consistent() -> None:
    panel = loaders.load_h2020_italy()
    assert len(panel) == 21 * 8
    assert panel.groupby("nuts2").size().eq(8).all()
    # Regional located participations add up to the national located count, year by year (exact).
    sums = panel.groupby("year")["participations_located"].sum()
    national = panel.groupby("year")["participations_it_located"].first()
    pd.testing.assert_series_equal(sums, national, check_names=False)
    # Counts are nested: PRC + KI = all co-participations; intra-regional <= all co-participation projects.
    assert (panel["coparticipations_located_prc"] + panel["coparticipations_located_ki"]
            == panel["coparticipations_located"]).all()
    assert (panel["coparticipation_projects_intraregional"] <= panel["coparticipation_projects"]).all()
    # The 2017-list variant can only lose projects.
    assert (panel["coparticipation_projects_org2017"] <= panel["coparticipation_projects"]).all()


def test_italy_coverage_matches_documented_range() -> None:
    # data/README.md of the shared data: about 86 % of Italian participations in 2015-16 and 66-72 % in
    # 2017-2020 are placeable. Our matcher is allowed to do better, not worse (tolerance: 5 points below).
    cov = loaders.load_h2020_italy_coverage().set_index("year")
    assert (cov.loc[[2015, 2016], "coverage_national"] >= 0.86 - 0.05).all()
    assert cov.loc[2017:2020, "coverage_national"].between(0.66 - 0.05, 0.80).all()
    # Within the fixed 2017 population only city-matching failures remain: near-constant, above 99 %.
    assert (cov.loc[2015:2020, "coverage_national_org2017"] > 0.99).all()
    check = pd.read_csv(DERIVED / "h2020_italy_geocode_check.csv", keep_default_na=False, na_values=[""])
    national = check.set_index("nuts2").loc["IT"]
    assert national["accuracy_2021sample"] >= 0.95  # the chain puts located organisations in the right region


def test_country_panel_agrees_with_italian_totals() -> None:
    countries = loaders.load_h2020_countries()
    italy = countries[countries["country"] == "IT"].set_index("year")["participations"]
    cov = loaders.load_h2020_italy_coverage().set_index("year")["participations_it"]
    pd.testing.assert_series_equal(italy, cov, check_names=False)
    assert "NA" in set(countries["country"])  # Namibia is a country code, not a missing value


def test_partner_table_agrees_with_the_italian_panel() -> None:
    partners = loaders.load_h2020_italy_partners()
    assert not partners.duplicated(["nuts2", "partner_level", "partner"]).any()
    assert (partners["projects"] > 0).all()
    assert (partners["projects_firm_institute"] <= partners["projects"]).all()
    assert (partners["projects"] <= partners["partner_participations"]).all()
    # Italian partners are split by region with nothing lost: the nuts2 rows (unplaced included) add up to the
    # country row IT, region by region.
    by_region = partners[partners["partner_level"] == "nuts2"].groupby("nuts2")["partner_participations"].sum()
    italy = partners[(partners["partner_level"] == "country") & (partners["partner"] == "IT")]
    pd.testing.assert_series_equal(by_region, italy.set_index("nuts2")["partner_participations"], check_names=False)
    # Two organisations of a region in one project make a project "within the region" in the panel whenever one
    # is a firm and the other an institute; the partner table's firm-institute self-pairs are those projects.
    panel = loaders.load_h2020_italy()
    intra = panel[panel["year_complete"] == 1].groupby("nuts2")["coparticipation_projects_intraregional"].sum()
    self_rows = partners[partners["nuts2"] == partners["partner"]].set_index("nuts2")["projects_firm_institute"]
    pd.testing.assert_series_equal(self_rows.reindex(intra.index, fill_value=0), intra, check_names=False)


def _participations(rows: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rcn", "pic", "type", "country", "year"])


def test_partner_counts_on_a_hand_built_project() -> None:
    # Project 1: a Lombardy firm, a Piedmont institute, a German research centre, an Italian firm the geocoding
    # cannot place and an Italian public body (not a firm or institute). Project 2: two Lombardy firms. Project 3
    # starts in 2021 (partial year): left out.
    parts = _participations([
        ("1", "lom_firm", "PRC", "IT", 2016), ("1", "pie_uni", "HES", "IT", 2016), ("1", "de_rec", "REC", "DE", 2016),
        ("1", "it_unknown", "PRC", "IT", 2016), ("1", "it_pub", "PUB", "IT", 2016),
        ("2", "lom_firm", "PRC", "IT", 2018), ("2", "lom_firm2", "PRC", "IT", 2018),
        ("3", "lom_firm", "PRC", "IT", 2021), ("3", "de_rec", "REC", "DE", 2021),
    ])
    pic_region = pd.Series({"lom_firm": "ITC4", "lom_firm2": "ITC4", "pie_uni": "ITC1", "it_pub": "ITC1"})
    out = build_partner_table(parts, pic_region, {"ITC4": "Lombardia", "ITC1": "Piemonte"})
    got = {(r.nuts2, r.partner_level, r.partner): (r.projects, r.projects_firm_institute, r.partner_participations)
           for r in out.itertuples()}
    assert got == {
        # Lombardy (firms): Germany and Piedmont are institutes (firm-institute pairs); the unplaced Italian and
        # the two Lombardy firms of project 2 are each other's partners; Italy counts both projects.
        ("ITC4", "country", "DE"): (1, 1, 1),
        ("ITC4", "country", "IT"): (2, 1, 4),
        ("ITC4", "nuts2", "ITC1"): (1, 1, 1),
        ("ITC4", "nuts2", "ITC4"): (1, 0, 2),
        ("ITC4", "nuts2", UNPLACED): (1, 0, 1),
        # Piedmont (an institute): the German institute is a partner but not a firm-institute pair.
        ("ITC1", "country", "DE"): (1, 0, 1),
        ("ITC1", "country", "IT"): (1, 1, 2),
        ("ITC1", "nuts2", "ITC4"): (1, 1, 1),
        ("ITC1", "nuts2", UNPLACED): (1, 1, 1),
    }
    # Through the same writer as every derived file: codebook order, sorted by the key.
    text = format_table(out, PARTNERS_TABLE)
    assert text.splitlines()[0] == ",".join(c.name for c in PARTNERS_TABLE.columns)
    assert text.splitlines()[1].startswith("ITC1,Piemonte,country,DE,,1,0,1")
    assert "ITC4,Lombardia,nuts2,unplaced,not placed in a region,1,0,1" in text


def test_rd_panel_derived_population_and_gdp() -> None:
    rd = loaders.load_rd_panel()
    row = rd[(rd["nuts2"] == "ITC4") & (rd["year"] == 2017)].iloc[0]
    np.testing.assert_allclose(row["population"], row["gerd_total_mio_eur"] * 1e6 / row["gerd_total_eur_hab"],
                               atol=0.5)
    np.testing.assert_allclose(row["gdp_mio_eur"], row["gerd_total_mio_eur"] / (row["gerd_total_pc_gdp"] / 100),
                               atol=0.05)
    # Lombardy had about 10.0 million inhabitants in 2017 (ISTAT); EUR-per-inhabitant rounding allows ~1 %.
    np.testing.assert_allclose(row["population"], 10.0e6, rtol=0.02)
    assert rd["year"].min() <= 1990 and rd["year"].max() == 2020
    assert not rd.duplicated(["nuts2", "year"]).any()
    assert (rd["nuts2"].str.len() == 4).all()


def test_loader_rejects_an_edited_file(tmp_path: Path) -> None:
    folder = tmp_path / "derived"
    shutil.copytree(DERIVED, folder)
    path = folder / "h2020_italy_nuts2.csv"
    path.write_text(path.read_text().replace("Piemonte", "Piedmont", 1))
    with pytest.raises(DataValidationError, match=r"h2020_italy_nuts2.csv was modified: sha256 .* rebuild it"):
        loaders.load_h2020_italy(folder=folder)
    assert len(loaders.load_h2020_countries(folder=folder)) > 0  # untouched files still load


def test_loader_reports_missing_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "derived"
    shutil.copytree(DERIVED, folder)
    (folder / MANIFEST_NAME).unlink()
    with pytest.raises(DataValidationError, match="checksum manifest .* is missing"):
        loaders.load_rd_panel(folder=folder)


# ---------------------------------------------------------------------------------------------------------------
# geocoding on a small synthetic geography (no raw data needed)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw") / "italy_geography_keys"
    folder.mkdir()
    nuts = [("ITC4", "ITC4C", "Milano", "Lombardia"), ("ITC1", "ITC17", "Asti", "Piemonte"),
            ("ITF6", "ITF61", "Cosenza", "Calabria"), ("ITH3", "ITH35", "Venezia", "Veneto"),
            ("ITH1", "ITH10", "Bolzano-Bozen", "Provincia Autonoma di Bolzano/Bozen"),
            ("ITH2", "ITH20", "Trento", "Provincia Autonoma di Trento"),
            ("ITI1", "ITI14", "Firenze", "Toscana"), ("ITH5", "ITH53", "Reggio nell’Emilia", "Emilia-Romagna"),
            ("ITH5", "ITH58", "Forlì-Cesena", "Emilia-Romagna")]
    with (folder / "NUTS_IT.csv").open("w", encoding="utf-8-sig") as fh:
        fh.write("nuts1;nuts2;nuts3;provincia;regione;ripartizione\n")
        fh.writelines(f"{n2[:3]};{n2};{n3};{p};{r};x\n" for n2, n3, p, r in nuts)
    comuni = [("Milano", "MI", "Milano"), ("Segrate", "MI", "Milano"), ("Rende", "CS", "Cosenza"),
              ("Venezia", "VE", "Venezia"), ("Badia", "BZ", "Bolzano/Bozen"), ("Bolzano", "BZ", "Bolzano/Bozen"),
              ("Scandicci", "FI", "Firenze"), ("Calliano", "AT", "Asti"), ("Calliano", "TN", "Trento"),
              ("Reggio nell'Emilia", "RE", "Reggio nell'Emilia"), ("Forlì", "FC", "Forlì-Cesena")]
    records = [{"nome": n, "sigla": s, "provincia": {"nome": p}} for n, s, p in comuni]
    (folder / "comuni.json").write_text(json.dumps(records), encoding="utf-8")
    return load_comune_index(folder.parent)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Forlì", "FORLI"), ("L'Aquila", "L AQUILA"), ("Valle d’Aosta/Vallée d’Aoste", "VALLE D AOSTA VALLEE D AOSTE"),
     ("  rozzano-MILAN ", "ROZZANO MILAN"), ("MILAN0", "MILANO"), (None, "")],
)
def test_normalise_name(text, expected) -> None:
    assert normalise_name(text) == expected


@pytest.mark.parametrize(
    ("city", "nuts2", "method"),
    [
        ("MILANO", "ITC4", "exact"),
        ("Milan", "ITC4", "alias"),
        ("Segrate (MI)", "ITC4", "exact"),
        ("SEGRATE - MILANO", "ITC4", "leading_words"),
        ("SERGATE MI", "ITC4", "close_spelling"),
        ("ARCAVACATA DI RENDE", "ITF6", "trailing_words"),
        ("VENEZIA MESTRE", "ITH3", "leading_words"),
        ("BADIA A SETTIMO", "ITI1", "alias"),  # a frazione of Scandicci, not the comune Badia in South Tyrol
        ("CALLIANO", None, "ambiguous"),  # two comuni in different regions
        ("CALLIANO TN", "ITH2", "exact_without_province"),
        ("REGGIO EMILIA", "ITH5", "alias"),
        ("FORLI FO", "ITH5", "exact_without_province"),  # old province abbreviation
        ("POGLIANO MI", "ITC4", "province_only"),
        ("", None, "empty"),
        ("ATLANTIS", None, "unmatched"),
    ],
)
def test_match_city(small_index, city, nuts2, method) -> None:
    match = match_city(city, small_index)
    assert (match.nuts2, match.method) == (nuts2, method)


# ---------------------------------------------------------------------------------------------------------------
# full-data builder on the CORDIS-layout fixture


def _expected_from_fixture() -> dict[tuple[str, int], dict[str, int]]:
    """Independent plain-Python count over the fixture (no pandas), to check the builder against."""
    with (FIXTURE / "h2020" / "project.csv").open(encoding="utf-8") as fh:
        start = {r["id"]: int(r["startDate"][:4]) for r in csv.DictReader(fh, delimiter=";")}
    with (FIXTURE / "h2020" / "organization.csv").open(encoding="utf-8") as fh:
        orgs = list(csv.DictReader(fh, delimiter=";"))
    types = defaultdict(set)
    for r in orgs:
        types[r["projectID"]].add(r["activityType"])
    copart = {p for p, t in types.items() if "PRC" in t and t & {"HES", "REC"}}
    out: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    region_types = defaultdict(set)
    projects = defaultdict(set)
    for r in orgs:
        if len(r["nutsCode"]) < 4:
            continue
        key = (r["nutsCode"][:4], start[r["projectID"]])
        out[key]["participations"] += 1
        projects[key].add(r["projectID"])
        if r["projectID"] in copart:
            region_types[(key, r["projectID"])].add(r["activityType"])
            if r["activityType"] in {"PRC", "HES", "REC"}:
                out[key]["coparticipations"] += 1
    for key, projs in projects.items():
        out[key]["projects"] = len(projs)
        out[key]["coparticipation_projects"] = len(projs & copart)
    for (key, _p), t in region_types.items():
        if "PRC" in t and t & {"HES", "REC"}:
            out[key]["coparticipation_projects_intraregional"] += 1
    return out


def test_full_build_matches_independent_count(tmp_path: Path) -> None:
    report = build_full(FIXTURE, tmp_path)
    panel = pd.read_csv(tmp_path / "cordis_nuts2_year.csv")
    expected = _expected_from_fixture()
    cols = ["projects", "participations", "coparticipation_projects", "coparticipation_projects_intraregional",
            "coparticipations"]
    for row in panel.itertuples(index=False):
        exp = expected.get((row.nuts2, row.year), {})
        assert [getattr(row, c) for c in cols] == [exp.get(c, 0) for c in cols], (row.nuts2, row.year)
    assert panel["participations"].sum() == sum(v["participations"] for v in expected.values())
    # Hand-checked facts of the fixture: 84 participations in 9 projects, one Italian participation without a
    # NUTS code, one project (Emilia-Romagna) joining a local firm and a local knowledge institute.
    assert panel["participations"].sum() == 83
    ith5 = panel.set_index(["nuts2", "year"]).loc[("ITH5", 2021)]
    assert ith5["coparticipation_projects_intraregional"] == 1
    cov = pd.read_csv(tmp_path / "cordis_nuts_coverage.csv", keep_default_na=False).set_index(["country", "year"])
    assert cov.loc[("IT", 2021), "participations"] == 55
    np.testing.assert_allclose(cov.loc[("IT", 2021), "coverage"], 54 / 55, atol=5e-5)
    assert report.rows["cordis_nuts2_year.csv"] == len(panel)


def test_full_build_reads_official_zip_identically(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "cordis-h2020projects-csv.zip", "w") as zf:
        for name in ("project.csv", "organization.csv"):
            zf.write(FIXTURE / "h2020" / name, arcname=name)
    build_full(tmp_path, tmp_path / "from_zip")
    build_full(FIXTURE, tmp_path / "from_folder")
    for name in ("cordis_nuts2_year.csv", "cordis_nuts_coverage.csv", MANIFEST_NAME):
        assert (tmp_path / "from_zip" / name).read_bytes() == (tmp_path / "from_folder" / name).read_bytes()


def test_full_build_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no CORDIS export found in .*run `clusterpolicy data fetch`"):
        read_exports(tmp_path)
    bad = tmp_path / "h2020"
    bad.mkdir()
    (bad / "project.csv").write_text("id;startDate\n1;2020-01-01\n")
    (bad / "organization.csv").write_text("projectID;organisationID;activityType;country\n1;2;PRC;IT\n")
    with pytest.raises(UserInputError, match=r"organization.csv lacks column\(s\) nutsCode"):
        read_exports(tmp_path)
    (tmp_path / "cordis-fp7projects-csv.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UserInputError, match="truncated or corrupt zip"):
        read_exports(tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# user errors: raw folder and files


def test_truncated_gzip_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "h2020.csv.gz"
    payload = gzip.compress(b"a,b\n" + b"1,2\n" * 5000)
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(UserInputError, match=r"h2020.csv.gz is a truncated or corrupt gzip archive") as err:
        read_raw_csv(path, "restore it")
    assert "\n" not in str(err.value)


def test_cli_missing_raw_dir(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "build", "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: raw data folder") and "--raw" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def _mirror_raw(dest: Path, skip: set[str] = frozenset()) -> Path:
    """Symlink every raw file into ``dest`` (same layout) except the relative paths in ``skip``."""
    for path in RAW.rglob("*"):
        rel = path.relative_to(RAW)
        if path.is_file() and str(rel) not in skip:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).symlink_to(path)
    return dest


@needs_raw
def test_cli_missing_one_raw_file(tmp_path: Path, capsys) -> None:
    missing = "cordis_h2020_organisations_2017/Stacked_by_activityType.csv"
    raw = _mirror_raw(tmp_path / "raw", {missing})
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "build", "--raw", str(raw), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"raw file {raw / missing} is missing" in err and "PROVENANCE" in err
    assert err.count("\n") == 1


@needs_raw
def test_cli_truncated_raw_gzip(tmp_path: Path, capsys) -> None:
    rel = "cordis_h2020_participations/h2020.csv.gz"
    raw = _mirror_raw(tmp_path / "raw", {rel})
    data = (RAW / rel).read_bytes()
    (raw / rel).write_bytes(data[: len(data) // 3])
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "build", "--raw", str(raw), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "h2020.csv.gz is a truncated or corrupt gzip archive" in err and "download it again" in err
    assert not (tmp_path / "out" / MANIFEST_NAME).exists()  # no manifest for a failed build


def test_cli_full_build_on_fixture(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "build", "--full", str(FIXTURE), "--out", str(tmp_path)])
    assert exit_info.value.code == 0
    assert "cordis_nuts2_year.csv:" in capsys.readouterr().out
    assert (tmp_path / "CODEBOOK.md").is_file()
