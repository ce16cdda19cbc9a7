"""Place Italian organisations in NUTS2 regions from a free-text city name.

Chain: organisation city (CORDIS 2017 list) -> ISTAT comune (``comuni.json``, 2020) -> province ->
NUTS3/NUTS2 (``NUTS_IT.csv``). City strings in CORDIS are typed by the participants, so they are normalised
before matching: case and accents folded, apostrophes and punctuation turned into spaces, a trailing province
abbreviation ("GENOVA GE", "CORSICO (MI)") used to disambiguate and then dropped, English exonyms mapped
("MILAN", "TURIN"), and, when the whole string is no comune, its leading or trailing words tried ("VENEZIA
MESTRE", "ARCAVACATA DI RENDE"). A last step accepts a close spelling (difflib ratio >= 0.9, unique best) to catch
typos such as "MILAN0". Every organisation records how it was matched, so failures can be listed.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pandas as pd

from clusterpolicy.data.build._common import read_raw_csv, read_raw_json, require_columns

#: Raw sub-folder of the geography keys.
FOLDER = "italy_geography_keys"

#: English or colloquial names -> official comune name (normalised). Only unambiguous, well-known cases.
CITY_ALIASES = {
    "ROME": "ROMA",
    "MILAN": "MILANO",
    "TURIN": "TORINO",
    "FLORENCE": "FIRENZE",
    "NAPLES": "NAPOLI",
    "VENICE": "VENEZIA",
    "GENOA": "GENOVA",
    "PADUA": "PADOVA",
    "MANTUA": "MANTOVA",
    "SYRACUSE": "SIRACUSA",
    "LEGHORN": "LIVORNO",
    "BOZEN": "BOLZANO",
    "REGGIO EMILIA": "REGGIO NELL EMILIA",
    "REGGIO CALABRIA": "REGGIO DI CALABRIA",
    "GRANAROLO EMILIA": "GRANAROLO DELL EMILIA",
    "PONT DELL OLIO": "PONTE DELL OLIO",
    "MESTRE": "VENEZIA",
    "MARGHERA": "VENEZIA",
    # German names in South Tyrol.
    "AUER": "ORA",
    # Frazioni that are well-known seats of research organisations.
    "POLLENZO": "BRA",
    "SOVIGLIANA": "VINCI",
    "BADIA A SETTIMO": "SCANDICCI",
    # Comuni merged before 2020 (ISTAT): the 2017 list still uses the old names.
    "CRESPELLANO": "VALSAMOGGIA",
    "MOLVENA": "COLCERESA",
    "PRATOVECCHIO": "PRATOVECCHIO STIA",
    "ACQUARICA DEL CAPO": "PRESICCE ACQUARICA",
}

#: Province abbreviations of provinces renamed before 2020 -> current abbreviation.
SIGLA_ALIASES = {"PS": "PU", "FO": "FC"}

#: Province names in comuni.json -> the spelling of NUTS_IT.csv, after normalisation.
PROVINCE_ALIASES = {"REGGIO CALABRIA": "REGGIO DI CALABRIA"}

_APOSTROPHES = "'’‘`´"


def normalise_name(text: object) -> str:
    """Fold a place name to upper-case ASCII words separated by single spaces.

    Accents are removed ("FORLÌ" -> "FORLI"), apostrophes, hyphens, slashes and other punctuation become spaces
    ("L'Aquila" -> "L AQUILA", "Bolzano-Bozen" -> "BOLZANO BOZEN"), and the digit zero inside a word is read as
    the letter O (a common typo: "MILAN0").
    """
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    folded = unicodedata.normalize("NFKD", str(text))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).upper()
    for ch in _APOSTROPHES:
        folded = folded.replace(ch, " ")
    folded = re.sub(r"(?<=[A-Z])0(?=[A-Z]|\b)", "O", folded)
    folded = re.sub(r"[^A-Z0-9]+", " ", folded)
    return " ".join(folded.split())


@dataclass(frozen=True)
class ComuneIndex:
    """Lookup tables built from ``comuni.json`` and ``NUTS_IT.csv``.

    Attributes
    ----------
    by_name
        Normalised comune name -> DataFrame rows (comune, sigla, province, nuts3, nuts2); several rows when the
        name is shared by comuni in different provinces.
    siglas
        Set of province abbreviations (two letters, e.g. ``MI``).
    sigla_to_nuts2
        Province abbreviation -> NUTS2 code.
    names
        Sorted list of normalised comune names (for close-spelling matches).
    """

    by_name: dict[str, pd.DataFrame]
    siglas: frozenset[str]
    sigla_to_nuts2: dict[str, str]
    names: tuple[str, ...]
    nuts2_names: dict[str, str]
    names_by_sigla: dict[str, tuple[str, ...]]


def load_comune_index(raw_root: Path) -> ComuneIndex:
    """Read the ISTAT comuni and the NUTS table and link every comune to its NUTS3 and NUTS2 code."""
    folder = Path(raw_root) / FOLDER
    fix = f"restore {FOLDER}/ from the shared raw data (see its PROVENANCE.txt)"
    nuts_path = folder / "NUTS_IT.csv"
    nuts = read_raw_csv(nuts_path, fix, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    require_columns(nuts, ("nuts2", "nuts3", "provincia", "regione"), nuts_path, fix)
    nuts = nuts[nuts["nuts3"].str.len() == 5]
    nuts = nuts.assign(prov_key=nuts["provincia"].map(normalise_name))
    comuni_raw = read_raw_json(folder / "comuni.json", fix)
    try:
        comuni = pd.DataFrame(
            {
                "comune": [c["nome"] for c in comuni_raw],
                "sigla": [c["sigla"] for c in comuni_raw],
                "province": [c["provincia"]["nome"] for c in comuni_raw],
            }
        )
    except (KeyError, TypeError) as err:
        from clusterpolicy.errors import UserInputError

        raise UserInputError(
            f"raw file {folder / 'comuni.json'} lacks the nome/sigla/provincia fields ({err}); {fix}"
        ) from err
    prov_key = comuni["province"].map(normalise_name).replace(PROVINCE_ALIASES)
    # "Bolzano/Bozen" and "Valle d'Aosta/Vallee d'Aoste" match NUTS_IT on their first (Italian) part.
    first_word_key = comuni["province"].str.split("/").str[0].map(normalise_name)
    lookup = dict(zip(nuts["prov_key"], zip(nuts["nuts3"], nuts["nuts2"], strict=True), strict=True))
    lookup.update(
        {k.split(" ")[0] if k.startswith("BOLZANO") else k: v for k, v in lookup.items()}
    )
    for key in list(lookup):
        if key.startswith("VALLE D AOSTA"):
            lookup["VALLE D AOSTA"] = lookup[key]
    codes = [lookup.get(a) or lookup.get(b) for a, b in zip(prov_key, first_word_key, strict=True)]
    unmatched = sorted({p for p, c in zip(comuni["province"], codes, strict=True) if c is None})
    if unmatched:
        raise RuntimeError(f"provinces without a NUTS3 code: {unmatched}")
    matched = cast(list[tuple[str, str]], codes)  # no None left: unmatched provinces raised above
    comuni["nuts3"] = [c[0] for c in matched]
    comuni["nuts2"] = [c[1] for c in matched]
    comuni["key"] = comuni["comune"].map(normalise_name)
    by_name = {str(k): g.reset_index(drop=True) for k, g in comuni.groupby("key", sort=True)}
    sigla_to_nuts2 = dict(zip(comuni["sigla"], comuni["nuts2"], strict=True))
    nuts2_names = dict(zip(nuts["nuts2"], nuts["regione"], strict=True))
    return ComuneIndex(
        by_name=by_name,
        siglas=frozenset(comuni["sigla"]),
        sigla_to_nuts2=sigla_to_nuts2,
        names=tuple(sorted(by_name)),
        nuts2_names=nuts2_names,
        names_by_sigla={str(s): tuple(sorted(g["key"].unique())) for s, g in comuni.groupby("sigla", sort=True)},
    )


@dataclass(frozen=True)
class CityMatch:
    """Result of matching one city string: the NUTS codes (or ``None``) and how the match was made."""

    nuts2: str | None
    nuts3: str | None
    comune: str | None
    method: str


def _pick(index: ComuneIndex, key: str, sigla: str | None) -> tuple[pd.Series | None, str]:
    """Return the comune row for ``key`` (disambiguated by ``sigla``) and a status."""
    rows = index.by_name.get(key)
    if rows is None:
        return None, "none"
    if sigla is not None:
        same = rows[rows["sigla"] == sigla]
        if len(same) == 1:
            return same.iloc[0], "ok"
    if len(rows) == 1:
        return rows.iloc[0], "ok"
    if rows["nuts2"].nunique() == 1:
        # Homonyms in the same region: the NUTS2 is certain even though the comune is not.
        return rows.iloc[0], "ok"
    return None, "ambiguous"


def _split_province(norm: str, siglas: frozenset[str]) -> tuple[list[str], str | None]:
    """Split a trailing two-letter province abbreviation off the words of a normalised city string."""
    words = norm.split()
    if len(words) > 1 and len(words[-1]) == 2:
        sigla = SIGLA_ALIASES.get(words[-1], words[-1])
        if sigla in siglas:
            return words[:-1], sigla
    return words, None


def _resolve(index: ComuneIndex, key: str, sigla: str | None) -> pd.Series | None:
    """Comune row for a whole-name candidate (aliases applied), or ``None``."""
    row, _ = _pick(index, CITY_ALIASES.get(key, key), sigla)
    return row


def _consistent(index: ComuneIndex, row: pd.Series, rest: str, sigla: str | None) -> bool:
    """A partial match is kept only if the dropped words do not contradict it.

    With a province abbreviation the comune must lie in that province. Without one, leading-word matches
    ("BARANZATE MILANO") need the dropped words to name a place in the same region, so that "BADIA A SETTIMO"
    is not read as the comune Badia in South Tyrol.
    """
    if sigla is not None:
        return row["sigla"] == sigla
    other = _resolve(index, rest, None)
    return other is not None and other["nuts2"] == row["nuts2"]


def _close(index: ComuneIndex, base: str, sigla: str | None) -> pd.Series | None:
    """Unique close spelling of ``base``: difflib ratio >= 0.9 among all comuni, or >= 0.8 among the comuni of
    the stated province (the province makes a looser match safe)."""
    if sigla is not None:
        pool = list(index.names_by_sigla.get(sigla, ()))
        cutoff = 0.8
    else:
        pool = list(index.names)
        cutoff = 0.9
    close = difflib.get_close_matches(base, pool, n=2, cutoff=cutoff)
    if not close:
        return None
    if len(close) == 2:
        first = difflib.SequenceMatcher(None, base, close[0]).ratio()
        second = difflib.SequenceMatcher(None, base, close[1]).ratio()
        if first <= second:
            return None
    row, _ = _pick(index, close[0], sigla)
    return row


def match_city(city: object, index: ComuneIndex) -> CityMatch:
    """Match one free-text Italian city name to a comune and its NUTS codes.

    Parameters
    ----------
    city
        The organisation's city as typed in CORDIS.
    index
        Lookup built by :func:`load_comune_index`.

    Returns
    -------
    CityMatch
        ``nuts2`` is ``None`` when no comune matched (``method`` says why: ``empty``, ``ambiguous`` or
        ``unmatched``). ``method`` is one of ``exact``, ``exact_without_province``, ``alias``,
        ``leading_words``, ``trailing_words``, ``parenthesis``, ``close_spelling``, ``province_only``.
    """
    raw = "" if city is None or (isinstance(city, float) and pd.isna(city)) else str(city)
    # Text in parentheses is either a province ("(MI)") or a translation ("TORINO (TURIN)"): try without it first.
    outside = normalise_name(re.sub(r"\(.*?\)", " ", raw))
    inside = normalise_name(" ".join(re.findall(r"\((.*?)\)", raw)))
    if not outside:
        return CityMatch(None, None, None, "empty")
    words, sigla = _split_province(outside, index.siglas)
    if sigla is None and SIGLA_ALIASES.get(inside, inside) in index.siglas:
        sigla = SIGLA_ALIASES.get(inside, inside)
    base = " ".join(words)

    def found(row: pd.Series, method: str) -> CityMatch:
        return CityMatch(row["nuts2"], row["nuts3"], row["comune"], method)

    row, status = _pick(index, outside, sigla)
    if row is not None:
        return found(row, "exact")
    ambiguous = status == "ambiguous"
    row, status = _pick(index, base, sigla)
    if row is not None:
        return found(row, "exact_without_province")
    ambiguous = ambiguous or status == "ambiguous"
    if base in CITY_ALIASES:
        row = _resolve(index, base, sigla)
        if row is not None:
            return found(row, "alias")
    for n in range(len(words) - 1, 0, -1):
        head, rest = " ".join(words[:n]), " ".join(words[n:])
        row = _resolve(index, head, sigla) if len(head) >= 3 else None
        if row is not None and _consistent(index, row, rest, sigla):
            return found(row, "leading_words")
    for n in range(len(words) - 1, 0, -1):
        tail = " ".join(words[-n:])
        row = _resolve(index, tail, sigla) if len(tail) >= 3 else None
        # "frazione + comune" ("ARCAVACATA DI RENDE") is the usual pattern, so a trailing comune is trusted
        # unless it contradicts a stated province.
        if row is not None and (sigla is None or row["sigla"] == sigla):
            return found(row, "trailing_words")
    if inside and sigla != SIGLA_ALIASES.get(inside, inside):
        row = _resolve(index, inside, sigla)
        if row is not None:
            return found(row, "parenthesis")
    row = _close(index, base, sigla)
    if row is not None:
        return found(row, "close_spelling")
    if sigla is not None:
        # The province abbreviation alone places the organisation in a region even if the comune is unknown.
        return CityMatch(index.sigla_to_nuts2[sigla], None, None, "province_only")
    return CityMatch(None, None, None, "ambiguous" if ambiguous else "unmatched")
