"""Build ``nuts2016_codes.csv``: the NUTS codes that :func:`clusterpolicy.data.schema.validate_panel` accepts.

Run from the project root (needs the read-only shared raw data)::

    python data/reference/build_nuts2016_codes.py /work/shared/data/raw

Sources
-------
* Eurostat ``rd_e_gerdreg``, ``rd_p_persreg``, ``pat_ep_rtot`` (via nestauk/eurito_indicators, commit
  5ca68ef89459059d9c7a4f75b38da8f0c89035a8): the ``region_id`` of every row with ``region_level`` 0-3. The files
  say ``region_year_spec = 2010`` but the codes are NUTS 2016 (e.g. ITH3 Veneto, no ITD codes).
  Source: Eurostat (reuse with acknowledgement).
* ``italy_geography_keys/NUTS_IT.csv`` (fabio-morea/horizon-intelligence, commit
  7c06edb9c6f40db21dcbb8f195119790bf92042a, CC BY 4.0): Italian NUTS 1/2/3. Its Sardinian NUTS3 codes
  (ITG2D-ITG2H) are NUTS 2021; they are kept with ``nuts_version = 2021`` so that Italian NUTS3 panels coded
  either way validate.

Eurostat's "not regionalised" placeholders (``ITX``, ``ITXX``, ``ITXXX``, ...) are dropped: they are not regions.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(raw: Path) -> list[tuple[str, int, str, str]]:
    codes: dict[str, tuple[int, str]] = {}
    for path in sorted((raw / "eurostat_rd_by_sector_nuts").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                code, level = row["region_id"].strip(), row["region_level"].strip()
                if level not in {"0", "1", "2", "3"} or (level != "0" and set(code[2:]) == {"X"}):
                    continue
                codes.setdefault(code, (int(level), "eurostat"))
    with (raw / "italy_geography_keys" / "NUTS_IT.csv").open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            for level, col in ((1, "nuts1"), (2, "nuts2"), (3, "nuts3")):
                code = row[col].strip()
                if code not in codes:
                    codes[code] = (level, "istat_nuts2021" if code.startswith("ITG2") and level == 3 else "istat")
    rows = []
    for code, (level, source) in sorted(codes.items()):
        version = "2021" if source == "istat_nuts2021" else "2016"
        rows.append((code, level, code[:2], version))
    return rows


def main(raw: str) -> None:
    rows = build(Path(raw))
    out = HERE / "nuts2016_codes.csv"
    tmp = out.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["code", "level", "country", "nuts_version"])
        writer.writerows(rows)
    tmp.replace(out)
    print(f"wrote {len(rows)} codes to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/raw")
