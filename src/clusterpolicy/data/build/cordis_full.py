"""Full-data mode: the EU-wide NUTS2 x year firm-knowledge-institute co-participation panel from the official
CORDIS open-data exports (FP7, Horizon 2020, Horizon Europe), which give every participating organisation's
``nutsCode``.

Input layout (what ``clusterpolicy data fetch`` downloads): a folder holding, for each framework programme, either
the official zip (``cordis-fp7projects-csv.zip``, ``cordis-h2020projects-csv.zip``,
``cordis-HORIZONprojects-csv.zip``) or a sub-folder (``fp7/``, ``h2020/``, ``horizon/``) with the extracted
``project.csv`` and ``organization.csv``. Both files are ``;``-separated with a header row; the builder needs
``organization.csv``: ``projectID, organisationID, activityType, country, nutsCode`` and ``project.csv``:
``id, startDate``. Other columns are ignored.
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from clusterpolicy.data.build._common import Column, DerivedTable
from clusterpolicy.errors import UserInputError

logger = logging.getLogger("clusterpolicy.data.build")

#: Programme key -> official zip file name (the sub-folder alternative is the key itself).
PROGRAMME_ZIPS = {
    "fp7": "cordis-fp7projects-csv.zip",
    "h2020": "cordis-h2020projects-csv.zip",
    "horizon": "cordis-HORIZONprojects-csv.zip",
}
ORG_COLUMNS = ("projectID", "organisationID", "activityType", "country", "nutsCode")
PROJECT_COLUMNS = ("id", "startDate")
FIRM_TYPES = ("PRC",)
KI_TYPES = ("HES", "REC")

PANEL_TABLE = DerivedTable(
    filename="cordis_nuts2_year.csv",
    description=(
        "NUTS2 region x project start year panel of firm-knowledge-institute co-participation in EU Framework "
        "Programme projects (FP7, Horizon 2020, Horizon Europe: whichever exports were given), from the official "
        "CORDIS exports. A participation is placed by the first four characters of its organisation's nutsCode "
        "(CORDIS uses the NUTS version current at export time, 2016 or 2021; harmonise before merging with "
        "older data). Balanced over the regions and years present, zeros included."
    ),
    sources=(
        "CORDIS open data, European Commission: cordis-fp7projects-csv.zip, cordis-h2020projects-csv.zip, "
        "cordis-HORIZONprojects-csv.zip (https://cordis.europa.eu/data/; reuse under Commission Decision "
        "2011/833/EU, CC BY 4.0 on data.europa.eu). Attribute: Source: CORDIS, European Commission.",
    ),
    columns=(
        Column("nuts2", "NUTS code (level 2)", "First four characters of the organisation's nutsCode."),
        Column("country", "country code", "First two characters of the NUTS code."),
        Column("year", "calendar year", "Project start year (project.csv startDate)."),
        Column("projects", "count of projects", "Projects with at least one participant in the region."),
        Column("participations", "count of participations", "Participations of organisations in the region."),
        Column("coparticipation_projects", "count of projects", (
            "Co-participation projects (>= 1 PRC and >= 1 HES/REC participant, anywhere) with at least one "
            "participant in the region."
        )),
        Column("coparticipation_projects_intraregional", "count of projects",
               "Co-participation projects with a firm AND a knowledge institute both in the region."),
        Column("coparticipations", "count of participations",
               "Participations of the region's PRC, HES or REC organisations in co-participation projects."),
        Column("coparticipations_prc", "count of participations", "As above, PRC (firms) only."),
        Column("coparticipations_ki", "count of participations", "As above, HES and REC only."),
    ),
    key=("nuts2", "year"),
)

COVERAGE_TABLE = DerivedTable(
    filename="cordis_nuts_coverage.csv",
    description="Country x year share of participations whose organisation carries a NUTS2-level nutsCode.",
    sources=PANEL_TABLE.sources,
    columns=(
        Column("country", "country code", "CORDIS country code of the organisation."),
        Column("year", "calendar year", "Project start year."),
        Column("participations", "count of participations", "All participations of the country."),
        Column("participations_with_nuts2", "count of participations",
               "Participations with a nutsCode of at least four characters."),
        Column("coverage", "share (0-1)", "participations_with_nuts2 / participations.", 4),
    ),
    key=("country", "year"),
)

TABLES = (PANEL_TABLE, COVERAGE_TABLE)


def _read_member(source: Path | zipfile.ZipFile, member: str, columns: tuple[str, ...], origin: str) -> pd.DataFrame:
    fix = "download it again with `clusterpolicy data fetch` (official CORDIS layout, ';'-separated)"
    try:
        if isinstance(source, zipfile.ZipFile):
            names = {Path(n).name: n for n in source.namelist()}
            if member not in names:
                raise UserInputError(f"{origin} has no {member}; {fix}")
            handle: io.BytesIO | Path = io.BytesIO(source.read(names[member]))
        else:
            path = source / member
            if not path.is_file():
                raise UserInputError(f"{path} is missing; {fix}")
            handle = path
        header = pd.read_csv(handle, sep=";", nrows=0, encoding="utf-8-sig").columns
        missing = [c for c in columns if c not in header]
        if missing:
            raise UserInputError(f"{origin}/{member} lacks column(s) {', '.join(missing)}; {fix}")
        if isinstance(handle, io.BytesIO):
            handle.seek(0)
        return pd.read_csv(handle, sep=";", usecols=list(columns), dtype=str, keep_default_na=False,
                           encoding="utf-8-sig")
    except (zipfile.BadZipFile, EOFError) as err:
        raise UserInputError(f"{origin} is a truncated or corrupt zip ({err}); {fix}") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise UserInputError(f"{origin}/{member} cannot be parsed ({str(err).splitlines()[0]}); {fix}") from err


def read_programme(folder: Path, programme: str) -> pd.DataFrame | None:
    """Read one programme's organisations joined with project start years, or ``None`` if absent.

    Returns
    -------
    pandas.DataFrame or None
        Columns ``project, org, type, country, nuts2, year`` (``nuts2`` empty when the nutsCode is shorter than
        four characters), or ``None`` if neither the zip nor the sub-folder exists.
    """
    zip_path = folder / PROGRAMME_ZIPS[programme]
    sub = folder / programme
    if zip_path.is_file():
        try:
            with zipfile.ZipFile(zip_path) as zf:
                orgs = _read_member(zf, "organization.csv", ORG_COLUMNS, str(zip_path))
                projects = _read_member(zf, "project.csv", PROJECT_COLUMNS, str(zip_path))
        except (zipfile.BadZipFile, EOFError) as err:
            raise UserInputError(
                f"{zip_path} is a truncated or corrupt zip ({err}); delete it and run `clusterpolicy data fetch`."
            ) from err
    elif sub.is_dir():
        orgs = _read_member(sub, "organization.csv", ORG_COLUMNS, str(sub))
        projects = _read_member(sub, "project.csv", PROJECT_COLUMNS, str(sub))
    else:
        return None
    # ISO dates in current exports ("2015-03-01"); older exports used "01/03/2015": take the 4-digit year either way.
    year = pd.to_numeric(projects["startDate"].str.extract(r"(\d{4})", expand=False), errors="coerce")
    start = pd.Series(year.to_numpy(), index=projects["id"].to_numpy())
    start = start[~start.index.duplicated()]
    nuts = orgs["nutsCode"].str.strip().str.upper()
    out = pd.DataFrame(
        {
            "project": programme + ":" + orgs["projectID"],
            "org": orgs["organisationID"],
            "type": orgs["activityType"].str.strip().str.upper(),
            "country": orgs["country"].str.strip().str.upper(),
            "nuts2": nuts.where(nuts.str.len() >= 4, "").str[:4],
            "year": orgs["projectID"].map(start),
        }
    )
    no_year = int(out["year"].isna().sum())
    if no_year:
        logger.warning("%s: %d participations without a project start date dropped", programme, no_year)
    out = out.dropna(subset=["year"])
    out["year"] = out["year"].astype("int64")
    logger.info("%s: %d participations in %d projects", programme, len(out), out["project"].nunique())
    return out


def read_exports(folder: Path) -> pd.DataFrame:
    """Read every programme export present in ``folder`` (see module docstring); raise if none is there."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(
            f"CORDIS export folder {folder} does not exist; run `clusterpolicy data fetch --cache {folder}` first."
        )
    frames = [f for p in PROGRAMME_ZIPS if (f := read_programme(folder, p)) is not None]
    if not frames:
        expected = ", ".join(list(PROGRAMME_ZIPS.values()) + [f"{p}/" for p in PROGRAMME_ZIPS])
        raise UserInputError(
            f"no CORDIS export found in {folder} (expected one of {expected}); run `clusterpolicy data fetch`."
        )
    return pd.concat(frames, ignore_index=True)


def _intra(inproj: pd.DataFrame, keys: list[str]) -> pd.Series:
    firm = inproj[inproj["type"].isin(FIRM_TYPES)].groupby(keys)["project"].unique()
    ki = inproj[inproj["type"].isin(KI_TYPES)].groupby(keys)["project"].unique()
    both = pd.concat([firm.rename("f"), ki.rename("k")], axis=1, join="inner")
    return pd.Series([len(np.intersect1d(f, k)) for f, k in zip(both["f"], both["k"], strict=True)],
                     index=both.index, dtype="float64")


def build_full_panels(parts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Count co-participation by NUTS2 region and start year, plus the NUTS coverage by country and year.

    Parameters
    ----------
    parts
        Output of :func:`read_exports`.
    """
    has_firm = parts.loc[parts["type"].isin(FIRM_TYPES), "project"].unique()
    has_ki = parts.loc[parts["type"].isin(KI_TYPES), "project"].unique()
    copart = np.intersect1d(has_firm, has_ki)
    located = parts[parts["nuts2"] != ""]
    inproj = located[located["project"].isin(copart)]
    keys = ["nuts2", "year"]
    panel = pd.DataFrame(
        {
            "projects": located.groupby(keys)["project"].nunique(),
            "participations": located.groupby(keys).size(),
            "coparticipation_projects": inproj.groupby(keys)["project"].nunique(),
            "coparticipation_projects_intraregional": _intra(inproj, keys),
            "coparticipations": inproj[inproj["type"].isin(FIRM_TYPES + KI_TYPES)].groupby(keys).size(),
            "coparticipations_prc": inproj[inproj["type"].isin(FIRM_TYPES)].groupby(keys).size(),
            "coparticipations_ki": inproj[inproj["type"].isin(KI_TYPES)].groupby(keys).size(),
        }
    )
    regions = sorted(located["nuts2"].unique())
    years = range(int(parts["year"].min()), int(parts["year"].max()) + 1)
    grid = pd.MultiIndex.from_product([regions, years], names=keys)
    panel = panel.reindex(grid).fillna(0).astype("int64").reset_index()
    panel["country"] = panel["nuts2"].str[:2]

    cov = parts.assign(has=parts["nuts2"] != "").groupby(["country", "year"]).agg(
        participations=("org", "size"), participations_with_nuts2=("has", "sum"))
    cov = cov.astype("int64").reset_index()
    cov["coverage"] = cov["participations_with_nuts2"] / cov["participations"]
    return {PANEL_TABLE.filename: panel, COVERAGE_TABLE.filename: cov}
