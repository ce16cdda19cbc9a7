"""Load the committed derived data (``data/derived/``) for notebooks and analyses.

Each loader checks the file's sha256 against ``data/derived/checksums.sha256`` before reading, so a hand-edited
or half-written file fails loudly with a one-line :class:`~clusterpolicy.errors.DataValidationError` instead
of silently changing a result. Rebuild with ``clusterpolicy data build --raw <raw folder>``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clusterpolicy.data.build._common import MANIFEST_NAME, read_manifest, sha256_file
from clusterpolicy.errors import DataValidationError
from clusterpolicy.paths import data_dir

RD_PANEL = "eurostat_rd_nuts2.csv"
H2020_ITALY = "h2020_italy_nuts2.csv"
H2020_COUNTRIES = "h2020_country_year.csv"
H2020_ITALY_COVERAGE = "h2020_italy_coverage.csv"
H2020_ITALY_PARTNERS = "h2020_italy_partners.csv"

_REBUILD = "rebuild it with `clusterpolicy data build --raw <raw folder>` or restore it from git"


def derived_dir(root: Path | None = None) -> Path:
    """The committed derived-data folder, ``<project>/data/derived``."""
    return data_dir(root) / "derived"


def verified_path(filename: str, root: Path | None = None, *, folder: Path | None = None) -> Path:
    """Path of a derived file after checking its sha256 against the manifest.

    Raises
    ------
    DataValidationError
        If the file or the manifest is missing, the file is not in the manifest, or its checksum differs.
    """
    base = Path(folder) if folder is not None else derived_dir(root)
    path = base / filename
    manifest = base / MANIFEST_NAME
    if not path.is_file():
        raise DataValidationError(f"derived file {path} is missing; {_REBUILD}.")
    if not manifest.is_file():
        raise DataValidationError(f"checksum manifest {manifest} is missing; {_REBUILD}.")
    expected = read_manifest(manifest).get(filename)
    if expected is None:
        raise DataValidationError(f"{filename} is not listed in {manifest}; {_REBUILD}.")
    actual = sha256_file(path)
    if actual != expected:
        raise DataValidationError(
            f"{path} was modified: sha256 {actual[:12]}... differs from {expected[:12]}... in {MANIFEST_NAME}; "
            f"{_REBUILD} (derived files are never edited by hand)."
        )
    return path


def _load(filename: str, root: Path | None, folder: Path | None, dtype: dict[str, str]) -> pd.DataFrame:
    # keep_default_na=False + na_values=[""]: "NA" (Namibia) stays a country code, empty cells are missing.
    return pd.read_csv(verified_path(filename, root, folder=folder), dtype=dtype, keep_default_na=False,
                       na_values=[""])


def load_rd_panel(root: Path | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """Eurostat R&D by sector, NUTS2 x year (``eurostat_rd_nuts2.csv``; columns in ``data/derived/CODEBOOK.md``).

    Population and GDP are derived from the all-sector R&D series (see the codebook), so they carry the
    rounding of those series.
    """
    return _load(RD_PANEL, root, folder, {"nuts2": "str", "country": "str"})


def load_h2020_italy(root: Path | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """Italian NUTS2 x start-year H2020 firm-knowledge-institute co-participation (``h2020_italy_nuts2.csv``).

    Counts are lower bounds: only participations the 2017-list chain places in a region are counted, a share
    given per year by ``coverage_national`` (it drops from 2017 on, when organisations missing from the June-2017
    list start to take part; see :func:`load_h2020_italy_coverage`). The ``_org2017`` columns restrict everything
    to organisations in the 2017 list, whose coverage is nearly constant.
    """
    return _load(H2020_ITALY, root, folder, {"nuts2": "str", "region_name": "str"})


def load_h2020_countries(root: Path | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """Country x start-year H2020 co-participation for every participating country (``h2020_country_year.csv``)."""
    return _load(H2020_COUNTRIES, root, folder, {"country": "str", "country_group": "str"})


def load_h2020_italy_coverage(root: Path | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """Year-level coverage of the Italian geocoding chain (``h2020_italy_coverage.csv``)."""
    return _load(H2020_ITALY_COVERAGE, root, folder, {})


def load_h2020_italy_partners(root: Path | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """Partner countries and Italian partner regions of each Italian region's H2020 firms and institutes
    (``h2020_italy_partners.csv``; the definition of a partner is in ``data/derived/CODEBOOK.md``)."""
    return _load(H2020_ITALY_PARTNERS, root, folder, {"nuts2": "str", "region_name": "str", "partner_level": "str",
                                                     "partner": "str", "partner_name": "str"})
