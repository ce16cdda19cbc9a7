"""Eurostat regional R&D panel: ``rd_e_gerdreg`` (R&D expenditure by sector) and ``rd_p_persreg`` (R&D personnel
and researchers by sector) reshaped into one wide NUTS2 x year table, with population and GDP derived from the
all-sector series.

Source folder: ``eurostat_rd_by_sector_nuts/`` (tidy re-export of the Eurostat SDMX tables by Nesta's
``eurito_indicators``; codes are NUTS 2016 although the files say ``region_year_spec=2010``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clusterpolicy.data.build._common import Column, DerivedTable, read_raw_csv, require_columns

#: Raw sub-folder of this source.
FOLDER = "eurostat_rd_by_sector_nuts"

_SECTORS = {"total": "all sectors", "bes": "the business enterprise sector (BES)",
            "gov": "the government sector (GOV)", "hes": "the higher education sector (HES)"}
_EXPENDITURE_UNITS = {"mio_eur": ("million EUR", 3), "eur_hab": ("EUR per inhabitant", 3),
                      "pc_gdp": ("percent of GDP", 3)}


def _series() -> dict[str, tuple[str, str, int, str]]:
    """Map output column -> (raw file name, unit, decimals, description)."""
    series: dict[str, tuple[str, str, int, str]] = {}
    for sector, label in _SECTORS.items():
        for unit, (unit_label, decimals) in _EXPENDITURE_UNITS.items():
            series[f"gerd_{sector}_{unit}"] = (
                f"rd_e_gerdreg_{sector}_{unit}.csv", unit_label, decimals,
                f"Gross domestic expenditure on R&D (GERD) performed by {label}, Eurostat rd_e_gerdreg.",
            )
    series["gerd_pnp_mio_eur"] = (
        "rd_e_gerdreg_pnp_mio_eur.csv", "million EUR", 3,
        "GERD performed by the private non-profit sector (PNP), Eurostat rd_e_gerdreg.",
    )
    for sector, label in _SECTORS.items():
        series[f"rd_personnel_{sector}_fte"] = (
            f"rd_p_persreg_{sector}_t_fte_total.csv", "full-time equivalents", 1,
            f"R&D personnel (all occupations, both sexes) in {label}, Eurostat rd_p_persreg.",
        )
        series[f"researchers_{sector}_fte"] = (
            f"rd_p_persreg_{sector}_t_fte_rse.csv", "full-time equivalents", 1,
            f"Researchers (both sexes) in {label}, Eurostat rd_p_persreg.",
        )
    return series


SERIES = _series()

TABLE = DerivedTable(
    filename="eurostat_rd_nuts2.csv",
    description=(
        "Wide NUTS2 x year panel of Eurostat regional R&D statistics: expenditure (GERD) by sector of performance "
        "in million EUR, EUR per inhabitant and percent of GDP (2011-2020; 2020 only partly filled) and R&D "
        "personnel and researchers in full-time equivalents by sector (1980-2020, sparse before 1995). One row per "
        "NUTS2 region and year in which at least one series is present; empty cells are missing values. Codes are "
        "NUTS 2016 (the source's `region_year_spec` column says 2010, but codes such as ITH3/ITH5 are NUTS 2016)."
    ),
    sources=(
        "Eurostat rd_e_gerdreg and rd_p_persreg (data date 2022-03-31), via github.com/nestauk/eurito_indicators "
        "commit 5ca68ef89459059d9c7a4f75b38da8f0c89035a8, ds/outputs/data/processed/eurostat/. Source: Eurostat "
        "(reuse authorised with acknowledgement).",
    ),
    columns=(
        Column("nuts2", "NUTS 2016 code", "NUTS level-2 region code."),
        Column("country", "country code",
               "First two characters of the NUTS code (Eurostat country code, EL = Greece)."),
        Column("year", "calendar year", "Reference year."),
        *(Column(name, unit, desc, decimals) for name, (_, unit, decimals, desc) in SERIES.items()),
        Column("population", "persons", (
            "Derived: gerd_total_mio_eur * 1e6 / gerd_total_eur_hab (all-sector series). Rounded to whole persons; "
            "inherits the rounding of EUR per inhabitant (about 0.1 %). Empty if either input is missing or zero."
        ), 0),
        Column("gdp_mio_eur", "million EUR", (
            "Derived: gerd_total_mio_eur / (gerd_total_pc_gdp / 100) (all-sector series). Inherits the rounding of "
            "the percent-of-GDP series (two to three significant digits), so use it for scaling, not as GDP data. "
            "Empty if either input is missing or zero."
        ), 1),
    ),
    key=("nuts2", "year"),
)


def _read_series(raw_dir: Path, column: str, filename: str) -> pd.Series:
    path = raw_dir / filename
    fix = f"restore {FOLDER}/{filename} from the shared raw data (see its PROVENANCE.txt)"
    value_col = filename.removesuffix(".csv")
    df = read_raw_csv(path, fix, dtype={"region_id": str})
    require_columns(df, ("year", "region_id", "region_level", value_col), path, fix)
    nuts2 = df[df["region_level"] == 2]
    nuts2 = nuts2.dropna(subset=[value_col])
    if nuts2.duplicated(["region_id", "year"]).any():
        dup = nuts2[nuts2.duplicated(["region_id", "year"], keep=False)].iloc[0]
        raise RuntimeError(f"{path}: duplicate region-year {dup['region_id']} {dup['year']}")
    return nuts2.set_index(["region_id", "year"])[value_col].astype(float).rename(column)


def _ratio(numerator: pd.Series, denominator: pd.Series, scale: float) -> pd.Series:
    valid = numerator.notna() & denominator.notna() & (denominator != 0)
    return (numerator * scale / denominator.where(valid)).where(valid)


def build_rd_panel(raw_root: Path) -> pd.DataFrame:
    """Build the wide Eurostat R&D panel from ``raw_root/eurostat_rd_by_sector_nuts``.

    Parameters
    ----------
    raw_root
        The raw data folder (holding ``eurostat_rd_by_sector_nuts/``).

    Returns
    -------
    pandas.DataFrame
        One row per NUTS2 region and year with at least one non-missing series; columns as in :data:`TABLE`.
    """
    raw_dir = Path(raw_root) / FOLDER
    columns = [_read_series(raw_dir, name, filename) for name, (filename, *_rest) in SERIES.items()]
    panel = pd.concat(columns, axis=1, join="outer")
    panel.index = panel.index.set_names(["nuts2", "year"])
    panel = panel.reset_index()
    panel["year"] = panel["year"].astype("int64")
    panel["country"] = panel["nuts2"].str[:2]
    panel["population"] = _ratio(panel["gerd_total_mio_eur"], panel["gerd_total_eur_hab"], 1e6).round(0)
    panel["gdp_mio_eur"] = _ratio(panel["gerd_total_mio_eur"], panel["gerd_total_pc_gdp"], 100.0)
    # Guard against infinities from tiny denominators in the source (none expected; a NaN is honest).
    panel = panel.replace([np.inf, -np.inf], np.nan)
    return panel
